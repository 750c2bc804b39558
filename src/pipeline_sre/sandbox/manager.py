"""``Sandbox``: a real, local Apache Airflow 3 (api-server, scheduler, dag-processor) with example DAGs."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline_sre.sandbox import process
from pipeline_sre.sandbox.airflow_cfg import (
    base_url,
    load_or_create_secrets,
    process_env,
    write_airflow_cfg,
)
from pipeline_sre.sandbox.client import SandboxClient
from pipeline_sre.sandbox.constants import (
    AIRFLOW_VERSION,
    DEFAULT_PORT,
    EXAMPLE_DAG_IDS,
    PROCESS_NAMES,
    TERMINAL_RUN_STATES,
    TRIGGERED_DAG_IDS,
    USERNAME,
)
from pipeline_sre.sandbox.errors import SandboxError
from pipeline_sre.sandbox.install import ensure_airflow
from pipeline_sre.sandbox.models import ProcessStatus, RunStatus, SandboxInfo, SandboxStatus
from pipeline_sre.sandbox.paths import SandboxPaths, default_data_dir, example_dags_source

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Sandbox:
    def __init__(self, data_dir: Path | None = None, port: int = DEFAULT_PORT) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.paths = SandboxPaths.under(self.data_dir)
        self.port = port
        self.url = base_url(port)

    # --- lifecycle ----------------------------------------------------------------------------

    def up(
        self,
        trigger: bool = True,
        wait_failures: bool = False,
        timeout: float = 240,
        progress: Progress | None = None,
    ) -> SandboxInfo:
        """Start the sandbox (or return it if already healthy), trigger the examples, optionally wait."""
        say = progress or _quiet
        started = time.monotonic()
        timings: dict[str, float] = {}

        def mark(name: str) -> None:
            timings[name] = time.monotonic() - started

        state = process.read_state(self.paths)
        pids = process.state_pids(state)
        if pids:
            running_port = state.get("port") if state else None
            if all(process.alive(pid) for pid in pids.values()):
                if running_port != self.port:
                    raise SandboxError(
                        f"a sandbox in {self.paths.root} already runs on port {running_port}; "
                        "stop it first (pipeline-sre sandbox down)"
                    )
                # Alive but maybe still starting (another `up` in progress): give it a minute first.
                grace = time.monotonic() + min(timeout, 60.0)
                while time.monotonic() < grace and all(process.alive(pid) for pid in pids.values()):
                    if self._healthy():
                        return self._info(pids, already_running=True)
                    time.sleep(1.0)
            say("stopping a half-running sandbox")
            self.down()
        if process.port_in_use(self.port):
            raise SandboxError(
                f"port {self.port} on 127.0.0.1 is already in use by another program; "
                "stop it or choose another port (--port)"
            )

        say(f"installing apache-airflow=={AIRFLOW_VERSION} into {self.paths.venv}")
        timings["install_seconds"] = ensure_airflow(self.paths)
        mark("installed")
        self._prepare()
        say("migrating the sandbox database")
        self._migrate()
        mark("migrated")

        say("starting api-server, scheduler and dag-processor")
        pids = self._start_processes()
        mark("started")
        deadline = started + timeout
        try:
            say("waiting for Airflow to report healthy")
            self._wait(deadline, "Airflow to become healthy", pids, self._healthy)
            mark("healthy")
            say("waiting for the example DAGs to be parsed")
            with self.client() as client:
                self._wait(deadline, "the example DAGs to be parsed", pids, lambda: self._parsed(client))
            mark("dags_parsed")
        except BaseException:
            self.down()
            raise
        runs: list[tuple[str, str]] = []
        if trigger:
            say("triggering one run of each example DAG")
            runs = self.trigger_examples()
            mark("triggered")
            if wait_failures:
                say("waiting for the example runs to finish")
                self.wait_for_runs(runs, timeout=max(1.0, deadline - time.monotonic()))
                mark("runs_terminal")
        return self._info(pids, runs=runs, timings=timings)

    def down(self) -> None:
        """Stop every sandbox process group (SIGTERM, then SIGKILL); safe to call when already stopped."""
        pids = process.state_pids(process.read_state(self.paths))
        # start_new_session=True makes each process the leader of its own group: pgid == pid.
        process.stop_groups([pid for pid in pids.values() if pid > 1])
        process.clear_state(self.paths)

    def reset(self) -> None:
        """Stop and forget the Airflow DB, logs, DAG copies and inputs; keep the installed venv."""
        self.down()
        for path in (self.paths.airflow_home, self.paths.dags, self.paths.inputs):
            shutil.rmtree(path, ignore_errors=True)
        for name in (*PROCESS_NAMES, "db-migrate"):
            self.paths.process_log(name).unlink(missing_ok=True)

    def status(self) -> SandboxStatus:
        state = process.read_state(self.paths)
        pids = process.state_pids(state)
        self._follow_running_port(state)
        procs = tuple(
            ProcessStatus(
                name,
                pids.get(name),
                bool(pids.get(name)) and process.alive(pids[name]),
                self.paths.process_log(name),
            )
            for name in PROCESS_NAMES
        )
        stopped = SandboxStatus("stopped", self.url, self.port, self.paths.airflow_home, procs)
        if not any(p.running for p in procs):
            return stopped
        health = self._health()
        dag_count: int | None = None
        runs: list[RunStatus] = []
        try:
            with self.client() as client:
                dag_count = len(client.dag_ids())
                for dag_id in TRIGGERED_DAG_IDS:
                    latest = client.latest_run(dag_id)
                    if latest:
                        runs.append(RunStatus(dag_id, str(latest["dag_run_id"]), str(latest["state"])))
        except (SandboxError, OSError):
            pass
        healthy = health is not None and self._is_healthy(health)
        overall = "running" if all(p.running for p in procs) and healthy else "degraded"
        return replace(stopped, state=overall, health=health, dag_count=dag_count, runs=tuple(runs))

    # --- runs ---------------------------------------------------------------------------------

    def trigger_examples(self, dag_ids: Iterable[str] = TRIGGERED_DAG_IDS) -> list[tuple[str, str]]:
        """Trigger one run of each example DAG; returns (dag_id, run_id) pairs."""
        with self.client() as client:
            return [(dag_id, client.trigger(dag_id)) for dag_id in dag_ids]

    def wait_for_runs(
        self,
        runs: Iterable[tuple[str, str]] | None = None,
        timeout: float = 240,
        poll: float = 2.0,
    ) -> dict[tuple[str, str], str]:
        """Wait until every run is success/failed (default: the latest run of each example DAG)."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            if runs is None:
                found = [(d, client.latest_run(d)) for d in TRIGGERED_DAG_IDS]
                runs = [(d, str(r["dag_run_id"])) for d, r in found if r]
            pending = list(runs)
            states: dict[tuple[str, str], str] = {}
            while True:
                for key in pending:
                    states[key] = client.run_state(*key)
                pending = [key for key in pending if states[key] not in TERMINAL_RUN_STATES]
                if not pending:
                    return states
                if time.monotonic() >= deadline:
                    waiting = ", ".join(f"{d}/{r}={states[(d, r)]}" for d, r in pending)
                    raise SandboxError(f"runs not finished after {timeout:.0f}s: {waiting}")
                time.sleep(poll)

    def client(self) -> SandboxClient:
        """An authenticated REST client for the sandbox (close it, or use it as a context manager)."""
        self._follow_running_port(process.read_state(self.paths))
        return SandboxClient(self.url, USERNAME, load_or_create_secrets(self.paths).password)

    # --- internals ----------------------------------------------------------------------------

    def _follow_running_port(self, state: dict[str, object] | None) -> None:
        """Talk to the port the running sandbox was started on, whatever this object was given."""
        running_port = state.get("port") if state else None
        if isinstance(running_port, int) and running_port != self.port:
            self.port = running_port
            self.url = base_url(running_port)

    def _prepare(self) -> None:
        source = example_dags_source()
        if not source.is_dir():
            raise SandboxError(f"example DAGs not found at {source} (set PIPELINE_SRE_EXAMPLE_DAGS)")
        for path in (self.paths.airflow_home, self.paths.dags, self.paths.inputs, self.paths.logs):
            path.mkdir(parents=True, exist_ok=True)
        for dag_file in sorted(source.glob("*.py")):
            shutil.copy2(dag_file, self.paths.dags / dag_file.name)
        write_airflow_cfg(self.paths, self.port, load_or_create_secrets(self.paths))

    def _airflow(self, *args: str) -> list[str]:
        return [str(self.paths.airflow_bin), *args]

    def _migrate(self) -> None:
        marker = self.paths.migrated_marker
        if marker.exists() and marker.read_text(encoding="utf-8").strip() == AIRFLOW_VERSION:
            return
        log_path = self.paths.process_log("db-migrate")
        with log_path.open("w", encoding="utf-8") as log:
            try:
                done = subprocess.run(
                    self._airflow("db", "migrate"),
                    env=process_env(self.paths),
                    cwd=self.paths.root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=600,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise SandboxError(f"`airflow db migrate` timed out; see {log_path}") from exc
        if done.returncode != 0:
            raise SandboxError(f"`airflow db migrate` failed (exit {done.returncode}); see {log_path}")
        marker.write_text(AIRFLOW_VERSION + "\n", encoding="utf-8")

    def _start_processes(self) -> dict[str, int]:
        env = process_env(self.paths)
        commands = {
            "api-server": self._airflow("api-server", "--host", "127.0.0.1", "--port", str(self.port)),
            # The worker log server would bind all interfaces; logs are read from local files instead.
            "scheduler": self._airflow("scheduler", "--skip-serve-logs"),
            "dag-processor": self._airflow("dag-processor"),
        }
        pids: dict[str, int] = {}
        for name, argv in commands.items():
            pids[name] = process.start(argv, env, self.paths.root, self.paths.process_log(name))
            process.write_state(
                self.paths,
                {
                    "port": self.port,
                    "airflow_version": AIRFLOW_VERSION,
                    "started_at": time.time(),
                    "pids": pids,
                },
            )
        return pids

    def _wait(self, deadline: float, what: str, pids: dict[str, int], ready: Callable[[], bool]) -> None:
        while True:
            for name, pid in pids.items():
                if not process.alive(pid):
                    log_path = self.paths.process_log(name)
                    raise SandboxError(
                        f"sandbox {name} exited while waiting for {what}; see {log_path}:\n" + _tail(log_path)
                    )
            if ready():
                return
            if time.monotonic() >= deadline:
                raise SandboxError(f"timed out waiting for {what}; logs are in {self.paths.logs}")
            time.sleep(1.0)

    def _health(self) -> dict[str, Any] | None:
        with SandboxClient(self.url, USERNAME, "") as client:
            return client.health()

    @staticmethod
    def _is_healthy(health: dict[str, Any]) -> bool:
        def ok(component: str) -> bool:
            part = health.get(component)
            return isinstance(part, dict) and part.get("status") == "healthy"

        return ok("metadatabase") and ok("scheduler") and ok("dag_processor")

    def _healthy(self) -> bool:
        health = self._health()
        return health is not None and self._is_healthy(health)

    def _parsed(self, client: SandboxClient) -> bool:
        try:
            present = set(client.dag_ids())
        except SandboxError:
            return False
        return all(dag_id in present for dag_id in EXAMPLE_DAG_IDS)

    def _info(
        self,
        pids: dict[str, int],
        runs: list[tuple[str, str]] | None = None,
        timings: dict[str, float] | None = None,
        already_running: bool = False,
    ) -> SandboxInfo:
        return SandboxInfo(
            url=self.url,
            username=USERNAME,
            password=load_or_create_secrets(self.paths).password,
            airflow_home=self.paths.airflow_home,
            dags_folder=self.paths.dags,
            pids=dict(pids),
            port=self.port,
            root=self.paths.root,
            inputs_dir=self.paths.inputs,
            log_dir=self.paths.logs,
            passwords_file=self.paths.passwords_file,
            runs=tuple(runs or ()),
            timings=dict(timings or {}),
            already_running=already_running,
        )
