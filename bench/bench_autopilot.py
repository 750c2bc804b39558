"""Autopilot benchmark: one cycle over a large estate, and resident memory over a soak.

Run: .venv/bin/python bench/bench_autopilot.py                 (cycle + a 60-minute soak)
     .venv/bin/python bench/bench_autopilot.py --minutes 3     (cycle + a 3-minute soak)
     .venv/bin/python bench/bench_autopilot.py --part cycle    (cycle only, about a minute)
Writes bench/results/autopilot.md (the soak section is named after its length, so runs of different
lengths sit side by side).

1. Cycle: a fake Airflow 3 (tests/fakes/airflow_api.py) in its own process over loopback HTTP, 2,000 DAGs
   and 40,000 runs of which 50 failed in the last hour, with failure logs, so each failure is triaged,
   diagnosed from its log, matched to a runbook, proposed through governance (dry_run, every DAG allowed)
   and its approval requested. Measured: the first cycle (50 new failures; target < 10 s), the next cycle
   (steady state: 50 incidents awaiting approval), and a second replica's first cycle over the same store
   (every run already claimed) as the baselines, in the same run.
2. Soak: the real `pipeline-sre watch` command in a child process (a cycle every 15 s, webhook server on),
   against a fake served from this process. One new failure a minute, alternating a transient network error
   (proposed; this process approves it as `alice`; the watch executes it live; the fake then marks the
   cleared run successful, so the watch verifies, resolves and writes a postmortem) and a code bug
   (escalated, postmortem). The child's VmRSS is sampled every 5 s; VmHWM gives the peak (target ≤ 200 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT / "src", ROOT):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

import httpx  # noqa: E402
import yaml  # noqa: E402
from tests.fakes.airflow_api import FakeAirflow, FakeDag  # noqa: E402

from pipeline_sre.app.operating_metrics import OperatingMetrics  # noqa: E402
from pipeline_sre.lifecycle.runtime import Runtime  # noqa: E402
from pipeline_sre.settings.config import Settings, parse_settings  # noqa: E402
from pipeline_sre.surfaces.autopilot.watch import Autopilot  # noqa: E402

N_DAGS, N_RUNS, FAILED = 2000, 40_000, 50
CYCLE_TARGET_S = 10.0
RSS_TARGET_MB = 200.0
RESULTS = ROOT / "bench" / "results" / "autopilot.md"
USER_ENV, PASS_ENV = "PSRE_BENCH_USER", "PSRE_BENCH_PASS"
SOAK_TASKS = [("extract_partner", "PythonOperator"), ("load_partner", "PythonOperator")]
NETWORK = [
    "Traceback (most recent call last):",
    '  File "/opt/airflow/dags/partner.py", line 12, in extract_partner',
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.partner.example', port=443): "
    "Max retries exceeded with url: /feed (Caused by NewConnectionError('Failed to establish a new connection'))",
]
CODE_BUG = [
    "Traceback (most recent call last):",
    '  File "/opt/airflow/dags/partner.py", line 40, in extract_partner',
    "ZeroDivisionError: division by zero",
]


def config_dict(url: str, data_dir: Path, *, live: bool) -> dict[str, Any]:
    return {
        "environments": {
            "prod": {"airflow": {"url": url, "username_env": USER_ENV, "password_env": PASS_ENV, "timeout_seconds": 30}}
        },
        "data_dir": str(data_dir),
        "incidents": {"verify": {"quiet_minutes": 0}},
        "notifications": {"log": False},
        "autopilot": {"window_minutes": 60, "interval_seconds": 15, "webhook_token_env": "PSRE_BENCH_WEBHOOK"},
        "governance": {
            "mode": "live" if live else "dry_run",
            "approvers": ["alice"],
            "execution_lease_seconds": 30,
            "environments": {"prod": {"allow_dags": ["*"], "max_actions_per_dag_per_hour": 1000}},
        },
    }


def settings(url: str, data_dir: Path, *, live: bool = False) -> Settings:
    return parse_settings(config_dict(url, data_dir, live=live), "bench")


# -- 1. one cycle -----------------------------------------------------------------------------------


class FakeProcess:
    """The big fake in a child process, so its CPU does not share this process's GIL."""

    def __init__(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "tests.fakes.airflow_api",
            "--dags",
            str(N_DAGS),
            "--runs",
            str(N_RUNS),
            "--failed-last-hour",
            str(FAILED),
            "--seed",
            "5",
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the fake Airflow process did not start")
        self.url: str = json.loads(line)["url"]
        self.http = httpx.Client(base_url=self.url, timeout=10)
        for _ in range(200):
            try:
                self.http.get("/_fake/stats")
                break
            except httpx.TransportError:
                time.sleep(0.05)

    def requests(self) -> int:
        return int(self.http.get("/_fake/stats").json()["requests"])

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(10)


async def measure_cycle(pilot: Autopilot, fake: FakeProcess) -> dict[str, Any]:
    before = fake.requests()
    began = time.perf_counter()
    report = await pilot.cycle()
    wall = time.perf_counter() - began
    return {
        "wall_s": wall,
        "requests": fake.requests() - before,
        "detected": report.detected,
        "new": len(report.new_incidents),
        "joined": report.joined,
        "proposed": len(report.proposed),
        "escalated": len(report.escalated),
        "postmortems": len(report.postmortems),
        "errors": len(report.errors),
    }


async def cycle_bench(work: Path) -> list[tuple[str, dict[str, Any]]]:
    fake = FakeProcess()
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        cfg = settings(fake.url, work / "cycle-data")
        rt = Runtime(cfg)
        pilot = Autopilot(rt, metrics=OperatingMetrics())
        _ = rt.governance  # open the store (migrations) outside the timed cycle, as a running watch has
        rows.append(("first cycle: 50 new failures", await measure_cycle(pilot, fake)))
        rows.append(("next cycle: steady state", await measure_cycle(pilot, fake)))
        replica_rt = Runtime(cfg)
        replica = Autopilot(replica_rt, metrics=OperatingMetrics())
        _ = replica_rt.governance
        rows.append(("baseline: 2nd replica, runs already claimed", await measure_cycle(replica, fake)))
        await replica.aclose()
        await replica_rt.aclose()
        await pilot.aclose()
        await rt.aclose()
    finally:
        fake.close()
    return rows


# -- 2. soak ----------------------------------------------------------------------------------------


def rss_kb(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


class Soak:
    def __init__(self, minutes: int, work: Path) -> None:
        self.minutes = minutes
        self.work = work
        self.fake = FakeAirflow.generate(N_DAGS, N_RUNS, 0, seed=9)
        self.fake.add_dag(FakeDag("partner_feed", ["tier:2", "team:growth"], "growth", 3600, SOAK_TASKS, max_tries=1))
        self.injected = 0
        self.approved: set[str] = set()
        self.finished: set[str] = set()

    def inject(self) -> None:
        """One new failed run, alternating a transient network error and a code bug."""
        self.injected += 1
        run_id = f"manual__soak_{self.injected:04d}"
        lines = NETWORK if self.injected % 2 else CODE_BUG
        now = datetime.now(UTC)
        self.fake.add_run("partner_feed", run_id, "failed", end=now - timedelta(seconds=2), first_failed_task=0)
        for try_number in (1, 2):
            self.fake.set_log("partner_feed", run_id, SOAK_TASKS[0][0], try_number, lines)

    def finish_cleared_runs(self) -> None:
        """The fake does not run tasks: a cleared run is marked successful, as the real rerun would end."""
        for entry in list(self.fake.cleared):
            run_id = entry["run_id"]
            if run_id in self.finished:
                continue
            idx = self.fake.run_index(entry["dag_id"], run_id)
            if idx is None:
                continue
            for task_id, _ in SOAK_TASKS:
                self.fake._ti_state[(idx, task_id)] = "success"
            self.fake.set_run_state(idx, "success", int(time.time() * 1000))
            self.finished.add(run_id)

    def approve(self, rt: Runtime) -> None:
        for record in rt.governance.list_pending(states=("awaiting_approval",)):
            if record.id not in self.approved:
                rt.governance.approve(record.id, "alice")
                self.approved.add(record.id)

    def run(self) -> dict[str, Any]:
        data_dir = self.work / "soak-data"
        samples: list[tuple[float, int]] = []
        with self.fake.serve() as url:
            cfg = config_dict(url, data_dir, live=True)
            path = self.work / "soak.yaml"
            path.write_text(yaml.safe_dump(cfg))
            token = "bench-webhook-token-0123456789"
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PSRE_BENCH_WEBHOOK": token}
            port = _free_port()
            log_path = self.work / "watch.log"
            with log_path.open("w") as log_file:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "pipeline_sre",
                        "watch",
                        "--config",
                        str(path),
                        "--interval",
                        "15",
                        "--http",
                        f"127.0.0.1:{port}",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log_file,
                )
                rt = Runtime(parse_settings(cfg, "bench"))
                began = time.monotonic()
                next_failure = began
                try:
                    while time.monotonic() - began < self.minutes * 60:
                        if proc.poll() is not None:
                            raise SystemExit(f"watch exited early; see {log_path}")
                        if time.monotonic() >= next_failure:
                            self.inject()
                            next_failure += 60
                        self.approve(rt)
                        self.finish_cleared_runs()
                        samples.append((time.monotonic() - began, rss_kb(proc.pid)[0]))
                        time.sleep(5)
                    # let the last failure go through its cycles before measuring the end state
                    for _ in range(9):
                        self.approve(rt)
                        self.finish_cleared_runs()
                        time.sleep(5)
                    samples.append((time.monotonic() - began, rss_kb(proc.pid)[0]))
                    peak = rss_kb(proc.pid)[1]
                    auth = {"authorization": f"Bearer {token}"}
                    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=auth).text
                    incidents = rt.incidents.list(limit=10_000)
                finally:
                    proc.terminate()
                    code = proc.wait(60)
                    asyncio.run(rt.aclose())
        cycles = [json.loads(line) for line in log_path.read_text().splitlines() if '"autopilot.cycle"' in line]
        states: dict[str, int] = {}
        for inc in incidents:
            states[inc.state] = states.get(inc.state, 0) + 1
        return {
            "minutes": self.minutes,
            "failures": self.injected,
            "samples": samples,
            "peak_mb": peak / 1024,
            "cycles": len(cycles),
            "cycle_p50_s": sorted(c["seconds"] for c in cycles)[len(cycles) // 2] if cycles else None,
            "cycle_max_s": max((c["seconds"] for c in cycles), default=None),
            "cycle_errors": sum(c["errors"] for c in cycles),
            "states": states,
            "postmortems": len(list((data_dir / "postmortems").glob("*.md"))),
            "exit_code": code,
            "metrics_lines": [
                line
                for line in metrics.splitlines()
                if line.startswith(
                    (
                        "pipeline_sre_fix_outcomes_total",
                        "pipeline_sre_actions_total",
                        "pipeline_sre_incident_time_to_resolve_seconds_count",
                        "pipeline_sre_approval_latency_seconds_count",
                    )
                )
            ],
        }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- report -----------------------------------------------------------------------------------------


def cycle_section(rows: list[tuple[str, dict[str, Any]]]) -> str:
    out = [
        "## One cycle over 2,000 DAGs with 50 new failures",
        "",
        f"Fake Airflow 3 in its own process over loopback HTTP: {N_DAGS:,} DAGs, {N_RUNS:,} runs, {FAILED} failed in "
        "the last hour (failure logs served). Governance dry_run, every DAG allowed; SQLite store.",
        "",
        "| cycle | wall s | HTTP requests | detected | new incidents | proposed | escalated | postmortems | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        out.append(
            f"| {name} | {r['wall_s']:.2f} | {r['requests']:,} | {r['detected']} | {r['new']} | "
            f"{r['proposed']} | {r['escalated']} | {r['postmortems']} | {r['errors']} |"
        )
    first = rows[0][1]
    verdict = "yes" if first["wall_s"] < CYCLE_TARGET_S else "NO"
    per = first["wall_s"] / max(1, first["new"]) * 1000
    per_req = first["requests"] / max(1, first["new"])
    out += [
        "",
        f"First cycle under {CYCLE_TARGET_S:.0f} s: **{verdict}** ({first['wall_s']:.2f} s, "
        f"{per:.0f} ms per new failure, {per_req:.1f} requests per failure).",
    ]
    return "\n".join(out) + "\n"


def soak_section(r: dict[str, Any]) -> str:
    samples = r["samples"]
    warm = [kb for t, kb in samples if t >= 60] or [kb for _, kb in samples]
    first_kb, last_kb = samples[0][1], samples[-1][1]
    per_minute: dict[int, int] = {}
    for t, kb in samples:
        per_minute[int(t // 60)] = max(per_minute.get(int(t // 60), 0), kb)
    verdict = "yes" if r["peak_mb"] <= RSS_TARGET_MB else "NO"
    growth = (last_kb - (warm[0] if warm else first_kb)) / 1024
    peak = f"peak (VmHWM) **{r['peak_mb']:.1f} MB** — ≤ {RSS_TARGET_MB:.0f} MB: **{verdict}**"
    out = [
        f"## Soak: {r['minutes']} minute(s), one failure a minute",
        "",
        f"`pipeline-sre watch --interval 15 --http ...` in a child process; {r['failures']} failures injected; "
        f"{r['cycles']} cycles (p50 {r['cycle_p50_s']} s, max {r['cycle_max_s']} s), {r['cycle_errors']} cycle errors; "
        f"exit code on SIGTERM {r['exit_code']}.",
        "",
        f"- RSS: {first_kb / 1024:.1f} MB at start, {min(warm) / 1024:.1f}–{max(warm) / 1024:.1f} MB after the first "
        f"minute, {last_kb / 1024:.1f} MB at the end; {peak}",
        f"- Growth from the first minute's end to the end: {growth:+.1f} MB",
        f"- Incidents by state at the end: {json.dumps(r['states'])}; postmortems written: {r['postmortems']}",
        "- Max RSS per minute (MB): " + ", ".join(f"{m}: {kb / 1024:.1f}" for m, kb in sorted(per_minute.items())),
        "- From /metrics at the end: " + "; ".join(f"`{line}`" for line in r["metrics_lines"]),
    ]
    return "\n".join(out) + "\n"


def write_results(cycle: str | None, soak: str | None, minutes: int | None) -> None:
    sections: dict[str, str] = {}
    if RESULTS.exists():
        current = None
        for line in RESULTS.read_text().splitlines(keepends=True):
            if line.startswith("## "):
                current = line.strip()
                sections[current] = ""
            if current:
                sections[current] += line
    if cycle:
        sections = {k: v for k, v in sections.items() if not k.startswith("## One cycle")}
        sections["## One cycle"] = cycle
    if soak and minutes is not None:
        sections = {k: v for k, v in sections.items() if not k.startswith(f"## Soak: {minutes} minute")}
        sections[f"## Soak: {minutes}"] = soak
    head = (
        f"# Autopilot benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n\n"
        f"`python bench/bench_autopilot.py`, Python {platform.python_version()}, {os.cpu_count()} CPUs visible "
        "(shared with other work). Sections keep their own run's numbers.\n\n"
    )
    ordered = sorted(sections.items(), key=lambda kv: (not kv[0].startswith("## One"), kv[0]))
    RESULTS.write_text(head + "\n".join(v.rstrip() + "\n" for _, v in ordered))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=("all", "cycle", "soak"), default="all")
    parser.add_argument("--minutes", type=int, default=60, help="Soak length (default 60)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault(USER_ENV, "admin")
    os.environ.setdefault(PASS_ENV, "admin")
    work = Path(tempfile.mkdtemp(prefix="psre-bench-autopilot-"))
    cycle_md = soak_md = None
    try:
        if args.part in ("all", "cycle"):
            rows = asyncio.run(cycle_bench(work))
            cycle_md = cycle_section(rows)
            print(cycle_md)
        if args.part in ("all", "soak"):
            result = Soak(args.minutes, work).run()
            soak_md = soak_section(result)
            print(soak_md)
        write_results(cycle_md, soak_md, args.minutes if soak_md else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
