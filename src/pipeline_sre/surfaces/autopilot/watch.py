"""The autopilot: `pipeline-sre watch` polls every environment and takes pushes, with no LLM.

Each cycle runs detect -> triage -> diagnose -> propose -> request approval for new failures
(`detect_and_handle`: failed Airflow runs; failed Databricks job runs and Prometheus signal detectors where an
environment configures them, unless `autopilot.databricks` / `autopilot.signals` is off) and then moves open
incidents on (`advance_open_incidents`: execute what a human approved, verify, escalate, write postmortems).
`--shadow` only writes plans; `--once` runs one cycle.

Pushes arrive on a small Starlette app, guarded by a bearer token:
  POST /hooks/airflow        {environment, dag_id, run_id, task_id?, state?} from an on_failure_callback
  POST /hooks/alertmanager   Alertmanager webhook JSON (version 4)
  GET  /metrics              operating metrics (Prometheus text format): this process's and the store's
  GET  /healthz              liveness (no token needed; says nothing but "ok" and the cycle count)
Pushed failures are queued and handled by one worker through `handle_failed_run`, whose `claim_run` and
`open_or_join` make a flood of identical failures one incident.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline_sre.app import operations
from pipeline_sre.app.operating_metrics import METRICS, OperatingMetrics, StoreMetrics
from pipeline_sre.app.respond import (
    CycleReport,
    advance_open_incidents,
    detect_and_handle,
    handle_failed_run,
    polled_sources,
)
from pipeline_sre.errors import ConfigError, InvalidInput, PipelineSreError
from pipeline_sre.lifecycle.compact import clip
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import triage
from pipeline_sre.lifecycle.sources.alerts import intake as alerts_mod
from pipeline_sre.settings.config import Settings
from pipeline_sre.surfaces.http import (
    BearerAuth,
    host_guard,
    is_loopback,
    parse_bind,
    recover_on_startup,
    server_options,
)

log = logging.getLogger("pipeline_sre.autopilot")
cycle_log = logging.getLogger("pipeline_sre.autopilot.cycle")

MAX_BODY_BYTES = 256 * 1024
QUEUE_MAX = 10_000
DRAIN_SECONDS = 10.0
FAILED_STATES = ("failed", "upstream_failed")
HOOKS = {"/hooks/airflow": "airflow", "/hooks/alertmanager": "alertmanager", "/metrics": "metrics"}


@dataclass(frozen=True, slots=True)
class Push:
    environment: str
    dag_id: str
    run_id: str
    task_id: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.environment, self.dag_id, self.run_id


class Refused(Exception):
    """A request we turn down: status, a stable error code, and a message saying what to fix."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "message": self.message, **self.extra}, self.status)


class Autopilot:
    """One runtime, polled in cycles and fed by pushes; a lock keeps cycles and pushed work apart."""

    def __init__(
        self,
        rt: Runtime,
        *,
        shadow: bool = False,
        window_minutes: int | None = None,
        metrics: OperatingMetrics | None = None,
    ) -> None:
        self.rt = rt
        self.shadow = shadow
        self.window = window_minutes or rt.settings.autopilot.window_minutes
        self.metrics = metrics or METRICS
        self.store_metrics = StoreMetrics(rt)
        self.cycles = 0
        self.last_cycle_at: float | None = None
        self.pushes = {"queued": 0, "duplicate": 0, "handled": 0, "failed": 0}
        self._lock = asyncio.Lock()
        self._queue: asyncio.Queue[Push] = asyncio.Queue(QUEUE_MAX)
        self._pending: set[tuple[str, str, str]] = set()
        self._worker: asyncio.Task[None] | None = None

    # -- polling ------------------------------------------------------------------------------------

    async def cycle(self) -> CycleReport:
        """One pass; an error anywhere is reported and logged, never raised (the next cycle tries again)."""
        report = CycleReport()
        began = time.perf_counter()
        crashed = False
        async with self._lock:
            try:
                await detect_and_handle(self.rt, self.window, shadow=self.shadow, report=report)
            except Exception as err:  # one bad answer must not stop the watch
                crashed = True
                log.exception("detection pass failed")
                report.errors.append(f"detect: {type(err).__name__}: {self.rt.redact(str(err))[:300]}")
            if not self.shadow:  # shadow mode writes plans only: nothing is executed, verified or closed
                try:
                    await advance_open_incidents(self.rt, report)
                except Exception as err:
                    crashed = True
                    log.exception("advancing open incidents failed")
                    report.errors.append(f"advance: {type(err).__name__}: {self.rt.redact(str(err))[:300]}")
        seconds = time.perf_counter() - began
        self.cycles += 1
        self.last_cycle_at = time.time()
        try:
            alive = await asyncio.to_thread(operations.heartbeat, self.rt, "watch")
            self.metrics.observe_replicas(alive, datetime.now(UTC))
            await asyncio.to_thread(operations.anchor_audit, self.rt, only_if_due=True)
        except PipelineSreError as err:  # the store is down: the next cycle says it again
            report.errors.append(f"heartbeat: {err.message}")
        self.metrics.cycle_seconds.observe(seconds)
        self.metrics.cycles.labels("crashed" if crashed else "errors" if report.errors else "ok").inc()
        cycle_log.info(json.dumps(self.summary(report, seconds), separators=(",", ":"), default=str))
        return report

    def summary(self, report: CycleReport, seconds: float) -> dict[str, Any]:
        return {
            "ts": datetime.now(UTC).isoformat(timespec="seconds"),
            "event": "autopilot.cycle",
            "cycle": self.cycles,
            "seconds": round(seconds, 3),
            "shadow": self.shadow,
            "detected": report.detected,
            "new_incidents": len(report.new_incidents),
            "joined": report.joined,
            "proposed": len(report.proposed),
            "executed": len(report.executed),
            "resolved": len(report.resolved),
            "escalated": len(report.escalated),
            "postmortems": len(report.postmortems),
            "errors": len(report.errors),
            "first_errors": [clip(e, 200) for e in report.errors[:3]],
            "queued_pushes": self._queue.qsize(),
        }

    # -- pushed failures -----------------------------------------------------------------------------

    def enqueue(self, push: Push) -> str:
        """'queued', or 'duplicate' when the same run is already waiting; Refused(503) when the queue is full."""
        if push.key in self._pending:
            self.pushes["duplicate"] += 1
            return "duplicate"
        try:
            self._queue.put_nowait(push)
        except asyncio.QueueFull:
            raise Refused(503, "busy", f"{QUEUE_MAX} pushed failures are waiting; retry later") from None
        self._pending.add(push.key)
        self.pushes["queued"] += 1
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="autopilot-push-worker")
        return "queued"

    async def _work(self) -> None:
        while True:
            push = await self._queue.get()
            try:
                await self.handle_push(push)
            finally:
                self._pending.discard(push.key)
                self._queue.task_done()

    async def handle_push(self, push: Push) -> CycleReport:
        report = CycleReport()
        async with self._lock:
            try:
                await handle_failed_run(
                    self.rt, push.environment, push.dag_id, push.run_id, shadow=self.shadow, report=report
                )
                self.pushes["handled"] += 1
            except PipelineSreError as err:
                self.pushes["failed"] += 1
                report.errors.append(f"{push.environment}/{push.dag_id}/{push.run_id}: {err.code}: {err.message}")
                log.warning("pushed failure %s/%s/%s: %s", *push.key, err.message)
            except Exception:
                self.pushes["failed"] += 1
                log.exception("pushed failure %s/%s/%s could not be handled", *push.key)
        return report

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued push is handled; False on timeout."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        if not await self.drain(DRAIN_SECONDS):
            log.warning("shutting down with %d pushed failure(s) not handled", self._queue.qsize())
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None


# -- HTTP intake ------------------------------------------------------------------------------------


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Refused(413, "payload_too_large", f"the body is {declared} bytes; the limit is {MAX_BODY_BYTES}")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise Refused(413, "payload_too_large", f"the body is over the limit of {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise Refused(400, "malformed_json", "the body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise Refused(400, "malformed_json", "the body is not UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise Refused(400, "malformed_json", f"the body is not valid JSON: {err.msg} at {where}") from None


def _known_environment(settings: Settings, name: str) -> str:
    if name not in settings.environments:
        valid = ", ".join(settings.environments)
        raise Refused(
            404,
            "unknown_environment",
            f"unknown environment {clip(name, 100)!r}; valid environments: {valid}",
            valid=list(settings.environments),
        )
    return name


def parse_airflow_push(data: Any, settings: Settings) -> Push | None:
    """The push in an Airflow callback body; None for a state that is not a failure. Raises Refused."""
    required = ("environment", "dag_id", "run_id")
    if not isinstance(data, dict):
        raise Refused(400, "invalid_payload", f"the body must be a JSON object with {', '.join(required)}")
    missing = [f for f in required if data.get(f) in (None, "")]
    if missing:
        raise Refused(400, "missing_fields", f"missing field(s): {', '.join(missing)}", missing=missing)
    wrong = [f for f in (*required, "task_id", "state") if data.get(f) is not None and not isinstance(data[f], str)]
    if wrong:
        raise Refused(400, "invalid_fields", f"field(s) must be strings: {', '.join(wrong)}", invalid=wrong)
    try:
        triage.check_ids(dag_id=data["dag_id"], run_id=data["run_id"])
        if data.get("task_id") is not None:
            triage.check_ids(task_id=data["task_id"])
    except InvalidInput as err:
        raise Refused(400, "invalid_fields", err.message) from None
    env = _known_environment(settings, data["environment"])
    state = data.get("state")
    if state is not None and state.lower() not in FAILED_STATES:
        return None
    return Push(env, data["dag_id"], data["run_id"], data.get("task_id"))


def parse_alertmanager(data: Any, settings: Settings, default_env: str | None) -> list[tuple[str, dict[str, Any]]]:
    """(environment, alert) pairs from an Alertmanager v4 webhook body. Raises Refused."""
    if not isinstance(data, dict):
        raise Refused(400, "invalid_payload", "the body must be an Alertmanager webhook JSON object (version 4)")
    if "version" in data and str(data["version"]) != "4":
        raise Refused(400, "invalid_payload", f"unsupported Alertmanager payload version {data['version']!r}; use 4")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise Refused(400, "missing_fields", "missing field: alerts (a list)", missing=["alerts"])
    common: dict[str, Any] = data["commonLabels"] if isinstance(data.get("commonLabels"), dict) else {}
    out: list[tuple[str, dict[str, Any]]] = []
    for i, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise Refused(400, "invalid_payload", f"alerts[{i}] must be an object")
        labels = alert.get("labels")
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise Refused(400, "invalid_fields", f"alerts[{i}].labels must be an object of strings")
        if not labels.get("alertname"):
            raise Refused(400, "missing_fields", f"missing field: alerts[{i}].labels.alertname")
        if alert.get("status") not in ("firing", "resolved"):
            raise Refused(400, "invalid_fields", f"alerts[{i}].status must be 'firing' or 'resolved'")
        if alert.get("annotations") is not None and not isinstance(alert["annotations"], dict):
            raise Refused(400, "invalid_fields", f"alerts[{i}].annotations must be an object")
        env = labels.get("environment") or labels.get("env") or common.get("environment") or common.get("env")
        env = env or default_env or (next(iter(settings.environments)) if len(settings.environments) == 1 else None)
        if not env:
            raise Refused(
                400,
                "missing_fields",
                f"alerts[{i}] has no environment: add an 'environment' label or ?environment= to the receiver URL; "
                f"valid environments: {', '.join(settings.environments)}",
            )
        out.append((_known_environment(settings, str(env)), alert))
    return out


def build_app(pilot: Autopilot, token: str | None) -> ASGIApp:
    """The intake app: every route but /healthz needs the bearer token (when one is configured)."""
    settings = pilot.rt.settings

    async def airflow_hook(request: Request) -> Response:
        try:
            push = parse_airflow_push(await read_json(request), settings)
            if push is None:
                return JSONResponse({"status": "ignored", "reason": "the state is not a failure"}, 202)
            status = pilot.enqueue(push)
        except Refused as refused:
            return refused.response()
        return JSONResponse(
            {"status": status, "environment": push.environment, "dag_id": push.dag_id, "run_id": push.run_id}, 202
        )

    async def alertmanager_hook(request: Request) -> Response:
        try:
            alerts = parse_alertmanager(await read_json(request), settings, request.query_params.get("environment"))
        except Refused as refused:
            return refused.response()
        result = await asyncio.to_thread(alerts_mod.ingest_alerts, pilot.rt, alerts)
        for summary in result["opened"]:
            await pilot.rt.notifier.send("incident_opened", summary)
        return JSONResponse({**result, "opened": [s["id"] for s in result["opened"]]})

    async def metrics(request: Request) -> Response:
        text = await asyncio.to_thread(pilot.metrics.render, pilot.store_metrics)  # store reads: off the loop
        return Response(text, headers={"content-type": CONTENT_TYPE_LATEST})

    async def healthz(request: Request) -> Response:
        age = None if pilot.last_cycle_at is None else round(time.time() - pilot.last_cycle_at, 1)
        return JSONResponse({"status": "ok", "cycles": pilot.cycles, "last_cycle_age_s": age})

    inner = Starlette(
        routes=[
            Route("/hooks/airflow", airflow_hook, methods=["POST"]),
            Route("/hooks/alertmanager", alertmanager_hook, methods=["POST"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
    guarded: ASGIApp = BearerAuth(inner, token) if token else inner
    public = Starlette(routes=[Route("/healthz", healthz, methods=["GET"])])
    return RefusalLog(Split(public, guarded), pilot.metrics)


class Split:
    """/healthz answers without a token; everything else goes through the guard."""

    def __init__(self, public: ASGIApp, guarded: ASGIApp) -> None:
        self.public = public
        self.guarded = guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == "/healthz":
            await self.public(scope, receive, send)
        else:
            await self.guarded(scope, receive, send)


class RefusalLog:
    """Counts every request by hook and status, and logs every refusal with its reason (never the token)."""

    def __init__(self, app: ASGIApp, metrics: OperatingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status >= 400 and len(body) < 1000:
                body.extend(message.get("body", b"")[: 1000 - len(body)])
            await send(message)

        await self.app(scope, receive, capture)
        path = str(scope.get("path", ""))
        if path != "/healthz":
            self.metrics.webhook_requests.labels(HOOKS.get(path, "other"), str(status)).inc()
        if status >= 400:
            client = scope.get("client") or ("?", 0)
            log.warning(
                "refused %d %s %s from %s: %s",
                status,
                scope.get("method"),
                clip(path, 200),
                client[0],
                body.decode("utf-8", "replace") or "(no body)",
            )


# -- watch ------------------------------------------------------------------------------------------


def webhook_token(settings: Settings, host: str, *, insecure_local: bool) -> str | None:
    """The bearer token pushes must carry; None only on loopback with --insecure-local (as `serve`)."""
    token_env = settings.autopilot.webhook_token_env
    token = os.environ.get(token_env)
    if not token:
        if not insecure_local:
            raise ConfigError(
                f"the webhook server needs a bearer token: set {token_env} (autopilot.webhook_token_env), "
                "or bind to loopback and pass --insecure-local"
            )
        if not is_loopback(host):
            raise ConfigError(f"--insecure-local is allowed only on a loopback address; {host!r} is not one")
        return None
    if len(token) < 16:
        raise ConfigError(f"the bearer token in {token_env} is too short: use at least 16 characters")
    return token


class _Server(uvicorn.Server):
    """uvicorn inside our event loop: the watch owns SIGTERM/SIGINT, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    return sock


def configure_logging() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("PIPELINE_SRE_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for old in list(cycle_log.handlers):
        cycle_log.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)  # the cycle summary is one bare JSON line, for log shippers
    handler.setFormatter(logging.Formatter("%(message)s"))
    cycle_log.addHandler(handler)
    cycle_log.setLevel(logging.INFO)
    cycle_log.propagate = False


def run_watch(
    settings: Settings,
    *,
    once: bool = False,
    shadow: bool = False,
    interval: int | None = None,
    http: str | None = None,
    insecure_local: bool = False,
) -> int:
    """The `watch` command. Returns the exit code: with --once, 1 when the cycle reported errors."""
    if interval is not None and interval < 1:
        raise InvalidInput("--interval must be at least 1 second")
    if once and http:
        raise InvalidInput("--once runs one cycle and exits; --http needs the long-running watch")
    configure_logging()
    bind = None if once else http or settings.autopilot.bind
    server_at: tuple[str, int, str | None] | None = None
    if bind:
        host, port = parse_bind(bind)
        server_at = (host, port, webhook_token(settings, host, insecure_local=insecure_local))
    try:
        return asyncio.run(_watch(settings, once, shadow, interval or settings.autopilot.interval_seconds, server_at))
    except asyncio.CancelledError:  # a second signal: stop at once
        return 130


async def _watch(
    settings: Settings, once: bool, shadow: bool, interval: int, server_at: tuple[str, int, str | None] | None
) -> int:
    rt = Runtime(settings)
    pilot = Autopilot(rt, shadow=shadow)
    stop = asyncio.Event()
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            log.warning("stopping after the current step (signal again to stop at once)")
            stop.set()
        elif main is not None:
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
    server: _Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        if not shadow:
            try:
                await recover_on_startup(rt)
            except PipelineSreError as err:
                log.error("start-up recovery of executing actions failed: %s", err.message)
        if once:
            report = await pilot.cycle()
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
            return 1 if report.errors else 0
        if server_at is not None:
            host, port, token = server_at
            sock = _bind_socket(host, port)
            app = host_guard(build_app(pilot, token), host, rt.settings.server.allowed_hosts)
            config = uvicorn.Config(app, lifespan="off", access_log=False, **server_options())
            server = _Server(config)
            serving = loop.create_task(server.serve(sockets=[sock]), name="autopilot-http")
            print(f"pipeline-sre autopilot: webhooks and /metrics on http://{host}:{port}", file=sys.stderr)
        mode = "shadow (plans only)" if shadow else "live cycle"
        polled = ", ".join(f"{env} ({', '.join(s.name for s in polled_sources(rt, env))})" for env in rt.selected(None))
        print(f"pipeline-sre autopilot: {mode} every {interval}s over {polled}", file=sys.stderr)
        while not stop.is_set():
            await pilot.cycle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
        return 0
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(serving, 10)
        await pilot.aclose()
        await rt.aclose()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
