"""A Databricks Jobs API stand-in (2.1 and 2.2 paths) plus cluster events, served over real HTTP so the
real databricks-sdk talks to it (`with fake.serve() as url:` runs uvicorn on 127.0.0.1, random port).

Shapes follow the documented Jobs API: runs carry `state` {life_cycle_state, result_state,
state_message} and `status`, tasks have their own run ids (get-output takes a task run id), `repair_history`
only with include_history, errors are `{"error_code", "message"}` (404 RESOURCE_DOES_NOT_EXIST for unknown
jobs and runs; 400 INVALID_PARAMETER_VALUE for an unknown run in get-output and an unknown job in run-now,
as the API documents). run-now honours `idempotency_token` (a repeat returns the same run); a repair
must carry the run's latest repair id once it has been repaired (a stale one is refused), so at most
one repair follows a given state; a repaired task becomes a new task run (its next attempt), listed in the
repair's `task_run_ids`. `finish` ends a repair or a run-now run with the task results a test wants. Bearer
auth; `fail_next` queues 5xx answers to exercise retries.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def now_ms() -> int:
    return int(time.time() * 1000)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve a Starlette app over real HTTP on 127.0.0.1 (random port) from a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("stand-in server did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class FakeDatabricks:
    token: str = "dapi-test-token-not-a-secret"
    host: str = ""
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forbidden_jobs: set[int] = field(default_factory=set)
    fail_next: deque[int] = field(default_factory=deque)
    calls: Counter[str] = field(default_factory=Counter)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    run_nows: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    _next_id: int = 900_000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- building a workspace ----------------------------------------------------------------------

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_job(self, job_id: int, name: str, *, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        settings: dict[str, Any] = {"name": name, "tasks": [], "max_concurrent_runs": 1}
        if parameters:
            settings["parameters"] = parameters
        job = {"job_id": job_id, "creator_user_name": "etl@example.com", "created_time": now_ms(), "settings": settings}
        self.jobs[job_id] = job
        return job

    def add_run(
        self,
        job_id: int,
        tasks: list[dict[str, Any]],
        *,
        run_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        state_message: str = "",
    ) -> dict[str, Any]:
        """A finished run; each task is {task_key, result_state, cluster_id?, error?, error_trace?, state_message?}."""
        run_id = run_id or self.new_id()
        start = start_ms or now_ms() - 20 * 60_000
        end = end_ms or now_ms() - 60_000
        task_runs = []
        for spec in tasks:
            task_run_id = self.new_id()
            result = spec.get("result_state", "SUCCESS")
            task: dict[str, Any] = {
                "run_id": task_run_id,
                "task_key": spec["task_key"],
                "state": {
                    # A launch failure ends the life cycle in INTERNAL_ERROR (not a result state) with FAILED.
                    "life_cycle_state": "INTERNAL_ERROR" if result == "INTERNAL_ERROR" else "TERMINATED",
                    "result_state": "FAILED" if result == "INTERNAL_ERROR" else result,
                    "state_message": spec.get("state_message", ""),
                    "user_cancelled_or_timedout": False,
                },
                "start_time": start,
                "end_time": end,
                "attempt_number": 0,
                "run_page_url": f"{self.host}/#job/{job_id}/run/{task_run_id}",
            }
            if spec.get("cluster_id"):
                task["cluster_instance"] = {"cluster_id": spec["cluster_id"], "spark_context_id": "123"}
            task_runs.append(task)
            if "error" in spec or "error_trace" in spec:
                self.outputs[task_run_id] = {"error": spec.get("error"), "error_trace": spec.get("error_trace")}
            else:
                self.outputs[task_run_id] = {}
        failed = [t for t in task_runs if t["state"]["result_state"] != "SUCCESS"]
        result_state = "FAILED" if failed else "SUCCESS"
        run = {
            "job_id": job_id,
            "run_id": run_id,
            "number_in_job": run_id,
            "run_name": self.jobs[job_id]["settings"]["name"] if job_id in self.jobs else f"job {job_id}",
            "creator_user_name": "etl@example.com",
            "state": {
                "life_cycle_state": "TERMINATED",
                "result_state": result_state,
                "state_message": state_message,
                "user_cancelled_or_timedout": False,
            },
            "status": {"state": "TERMINATED"},
            "start_time": start,
            "end_time": end,
            "setup_duration": 0,
            "execution_duration": end - start,
            "cleanup_duration": 0,
            "trigger": "PERIODIC",
            "run_type": "JOB_RUN",
            "run_page_url": f"{self.host}/#job/{job_id}/run/{run_id}",
            "tasks": task_runs,
            "format": "MULTI_TASK",
            "repair_history": [
                {
                    "type": "ORIGINAL",
                    "start_time": start,
                    "end_time": end,
                    "state": {"life_cycle_state": "TERMINATED", "result_state": result_state},
                    "task_run_ids": [t["run_id"] for t in task_runs],
                }
            ],
        }
        if failed:
            status: dict[str, Any] = run["status"]  # type: ignore[assignment]  # the run dict is built above
            status["termination_details"] = {"code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR"}
        self.runs[run_id] = run
        return run

    def finish(
        self,
        run_id: int,
        results: dict[str, str] | None = None,
        *,
        result_state: str | None = None,
        end_ms: int | None = None,
    ) -> dict[str, Any]:
        """End a repair in progress (its task runs) or a run-now run (its tasks are created): task key -> result
        state, SUCCESS by default. The run's result is FAILED if a task did not succeed, unless `result_state`."""
        results = results or {}
        end = end_ms or now_ms()
        with self._lock:
            run = self.runs[run_id]
            last: dict[str, Any] = (run["repair_history"] or [{"type": "NONE"}])[-1]
            repairing = last["type"] == "REPAIR" and last["state"]["life_cycle_state"] == "RUNNING"
            tasks: list[dict[str, Any]]
            if repairing:
                tasks = [t for t in run["tasks"] if t["run_id"] in last["task_run_ids"]]
            else:
                tasks = [{"run_id": self.new_id(), "task_key": key, "attempt_number": 0} for key in results]
                run["tasks"] = tasks
            for task in tasks:
                outcome = results.get(task["task_key"], "SUCCESS")
                task["state"] = {"life_cycle_state": "TERMINATED", "result_state": outcome, "state_message": ""}
                task["start_time"] = task.get("start_time") or run["start_time"]
                task["end_time"] = end
            failed = any(t["state"]["result_state"] != "SUCCESS" for t in run["tasks"])
            state = {
                "life_cycle_state": "TERMINATED",
                "result_state": result_state or ("FAILED" if failed else "SUCCESS"),
            }
            run["state"] = {**state, "state_message": "", "user_cancelled_or_timedout": False}
            run["status"] = {"state": "TERMINATED"}
            run["end_time"] = end
            if repairing:
                last.update(state=state, end_time=end)
        return run

    def add_event(self, cluster_id: str, type_: str, timestamp: int, **details: Any) -> None:
        self.events.setdefault(cluster_id, []).append(
            {"cluster_id": cluster_id, "timestamp": timestamp, "type": type_, "details": details}
        )

    # -- HTTP ---------------------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        routes = []
        for version in ("2.1", "2.2"):
            base = f"/api/{version}/jobs"
            routes += [
                Route(f"{base}/get", self._get_job, methods=["GET"]),
                Route(f"{base}/runs/list", self._list_runs, methods=["GET"]),
                Route(f"{base}/runs/get", self._get_run, methods=["GET"]),
                Route(f"{base}/runs/get-output", self._get_output, methods=["GET"]),
                Route(f"{base}/runs/repair", self._repair, methods=["POST"]),
                Route(f"{base}/run-now", self._run_now, methods=["POST"]),
            ]
        for version in ("2.0", "2.1"):
            routes.append(Route(f"/api/{version}/clusters/events", self._events, methods=["POST"]))
        routes.append(Route("/.well-known/databricks-config", self._host_metadata, methods=["GET"]))
        return Starlette(routes=routes)

    async def _host_metadata(self, request: Request) -> Response:
        """The unauthenticated discovery document the SDK reads when it builds its config."""
        return JSONResponse({"oidc_endpoint": f"{self.host}/oidc", "workspace_id": "1234567890123456", "cloud": "aws"})

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        with serve_app(self._guarded(self.app)) as url:
            self.host = url
            yield url

    def _guarded(self, app: Starlette) -> Any:
        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            request = Request(scope)
            self.calls[f"{request.method} {request.url.path}"] += 1
            auth = request.headers.get("authorization", "")
            response: Response | None = None
            if request.url.path.startswith("/.well-known/"):
                pass
            elif auth != f"Bearer {self.token}":
                response = _error(401, "UNAUTHENTICATED", "Invalid access token.")
            elif self.fail_next:
                status = self.fail_next.popleft()
                code = {500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}.get(status, "INTERNAL_ERROR")
                response = _error(status, code, "stand-in server error")
            if response is not None:
                await response(scope, receive, send)
                return
            await app(scope, receive, send)

        return guarded

    def _job_or_error(self, raw: Any, *, status: int = 404) -> dict[str, Any] | JSONResponse:
        try:
            job_id = int(raw)
        except (TypeError, ValueError):
            return _error(400, "INVALID_PARAMETER_VALUE", f"Invalid job_id {raw!r}")
        if job_id in self.forbidden_jobs:
            return _error(403, "PERMISSION_DENIED", f"User does not have View permissions on job {job_id}.")
        job = self.jobs.get(job_id)
        if job is None:
            code = "RESOURCE_DOES_NOT_EXIST" if status == 404 else "INVALID_PARAMETER_VALUE"
            return _error(status, code, f"Job {job_id} does not exist.")
        return job

    def _run_or_error(self, raw: Any, *, status: int = 404) -> dict[str, Any] | JSONResponse:
        try:
            run_id = int(raw)
        except (TypeError, ValueError):
            return _error(400, "INVALID_PARAMETER_VALUE", f"Invalid run_id {raw!r}")
        run = self.runs.get(run_id)
        if run is None:
            code = "RESOURCE_DOES_NOT_EXIST" if status == 404 else "INVALID_PARAMETER_VALUE"
            return _error(status, code, f"Run {run_id} does not exist.")
        return run

    async def _get_job(self, request: Request) -> Response:
        job = self._job_or_error(request.query_params.get("job_id"))
        return job if isinstance(job, JSONResponse) else JSONResponse(job)

    async def _list_runs(self, request: Request) -> Response:
        q = request.query_params
        runs = list(self.runs.values())
        if q.get("job_id"):
            job = self._job_or_error(q["job_id"])
            if isinstance(job, JSONResponse):
                return job
            runs = [r for r in runs if r["job_id"] == int(q["job_id"])]
        if q.get("completed_only") == "true":
            runs = [r for r in runs if r["state"]["life_cycle_state"] in TERMINAL]
        if q.get("active_only") == "true":
            runs = [r for r in runs if r["state"]["life_cycle_state"] not in TERMINAL]
        if q.get("start_time_from"):
            runs = [r for r in runs if r["start_time"] >= int(q["start_time_from"])]
        if q.get("start_time_to"):
            runs = [r for r in runs if r["start_time"] <= int(q["start_time_to"])]
        runs.sort(key=lambda r: (r["start_time"], r["run_id"]), reverse=True)
        limit = int(q.get("limit") or 20)
        if not 1 <= limit <= 25:
            return _error(400, "INVALID_PARAMETER_VALUE", "limit must be between 1 and 25")
        offset = int(q.get("page_token") or 0)
        page = runs[offset : offset + limit]
        expand = q.get("expand_tasks") == "true"
        body: dict[str, Any] = {
            "runs": [{k: v for k, v in r.items() if k != "repair_history" and (expand or k != "tasks")} for r in page],
            "has_more": offset + limit < len(runs),
        }
        if body["has_more"]:
            body["next_page_token"] = str(offset + limit)
        if offset:
            body["prev_page_token"] = str(max(0, offset - limit))
        return JSONResponse(body)

    async def _get_run(self, request: Request) -> Response:
        run = self._run_or_error(request.query_params.get("run_id"))
        if isinstance(run, JSONResponse):
            return run
        body = dict(run)
        if request.query_params.get("include_history") != "true":
            body.pop("repair_history", None)
        return JSONResponse(body)

    def _task_run(self, task_run_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for run in self.runs.values():
            for task in run.get("tasks", []):
                if task["run_id"] == task_run_id:
                    return run, task
        return None

    async def _get_output(self, request: Request) -> Response:
        raw = request.query_params.get("run_id")
        try:
            task_run_id = int(raw or "")
        except ValueError:
            return _error(400, "INVALID_PARAMETER_VALUE", f"Invalid run_id {raw!r}")
        if task_run_id in self.runs and len(self.runs[task_run_id].get("tasks", [])) > 1:
            return _error(
                400,
                "INVALID_PARAMETER_VALUE",
                "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output "
                "of each individual task run instead.",
            )
        found = self._task_run(task_run_id)
        if found is None:
            return _error(400, "INVALID_PARAMETER_VALUE", f"Run {task_run_id} does not exist.")
        run, task = found
        meta = {k: v for k, v in task.items()}
        meta.update(job_id=run["job_id"])
        out = {"metadata": meta, **{k: v for k, v in self.outputs.get(task_run_id, {}).items() if v is not None}}
        return JSONResponse(out)

    async def _repair(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            run = self._run_or_error(body.get("run_id"))
            if isinstance(run, JSONResponse):
                return run
            if run["state"]["life_cycle_state"] not in TERMINAL:
                return _error(400, "INVALID_STATE", f"Run {run['run_id']} is still active and cannot be repaired.")
            repairs = [h for h in run["repair_history"] if h["type"] == "REPAIR"]
            latest = repairs[-1]["id"] if repairs else None
            given = body.get("latest_repair_id")
            if latest is not None and given != latest:
                return _error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    f"The latest repair ID provided ({given}) does not match the latest repair ID of the run "
                    f"({latest}).",
                )
            if latest is None and given is not None:
                return _error(400, "INVALID_PARAMETER_VALUE", f"Repair {given} does not exist for this run.")
            if not body.get("rerun_all_failed_tasks") and not body.get("rerun_tasks"):
                return _error(
                    400, "INVALID_PARAMETER_VALUE", "Either rerun_tasks or rerun_all_failed_tasks is required"
                )
            failed = [t for t in run["tasks"] if t["state"]["result_state"] != "SUCCESS"]
            if not failed:
                return _error(400, "INVALID_PARAMETER_VALUE", "The run has no failed tasks to repair.")
            repair_id = self.new_id()
            for task in failed:  # a repaired task runs again as a new task run, its next attempt
                task.update(
                    run_id=self.new_id(),
                    attempt_number=task["attempt_number"] + 1,
                    state={"life_cycle_state": "RUNNING", "state_message": "In run"},
                    start_time=now_ms(),
                    end_time=0,
                )
            run["state"] = {"life_cycle_state": "RUNNING", "state_message": "", "user_cancelled_or_timedout": False}
            run["repair_history"].append(
                {
                    "type": "REPAIR",
                    "id": repair_id,
                    "start_time": now_ms(),
                    "state": {"life_cycle_state": "RUNNING"},
                    "task_run_ids": [t["run_id"] for t in failed],
                }
            )
            self.repairs.append(dict(body))
        return JSONResponse({"repair_id": repair_id})

    async def _run_now(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            job = self._job_or_error(body.get("job_id"), status=400)
            if isinstance(job, JSONResponse):
                return job
            token = body.get("idempotency_token")
            if token is not None and len(str(token)) > 64:
                return _error(400, "INVALID_PARAMETER_VALUE", "idempotency_token must be at most 64 characters")
            self.run_nows.append(dict(body))  # every accepted request, repeats included
            if token in self.tokens:
                run_id = self.tokens[token]
                return JSONResponse({"run_id": run_id, "number_in_job": run_id})
            defined = {p["name"]: p.get("default") for p in job["settings"].get("parameters") or []}
            given = body.get("job_parameters") or {}
            unknown = sorted(set(given) - set(defined))
            if unknown:
                return _error(400, "INVALID_PARAMETER_VALUE", f"Job parameter(s) {', '.join(unknown)} not defined.")
            run_id = self.new_id()
            run = {
                "job_id": job["job_id"],
                "run_id": run_id,
                "number_in_job": run_id,
                "run_name": job["settings"]["name"],
                "state": {"life_cycle_state": "PENDING", "state_message": "Waiting for cluster"},
                "status": {"state": "QUEUED"},
                "start_time": now_ms(),
                "end_time": 0,
                "trigger": "ONE_TIME",
                "run_type": "JOB_RUN",
                "run_page_url": f"{self.host}/#job/{job['job_id']}/run/{run_id}",
                "tasks": [],
                "repair_history": [],
                "job_parameters": [
                    {"name": k, "default": v, **({"value": given[k]} if k in given else {})} for k, v in defined.items()
                ],
            }
            if body.get("notebook_params"):
                run["overriding_parameters"] = {"notebook_params": body["notebook_params"]}
            self.runs[run_id] = run
            if token is not None:
                self.tokens[token] = run_id
        return JSONResponse({"run_id": run_id, "number_in_job": run_id})

    async def _events(self, request: Request) -> Response:
        body = await request.json()
        cluster_id = body.get("cluster_id")
        if cluster_id not in self.events:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", f"Cluster {cluster_id} does not exist")
        events = sorted(self.events[cluster_id], key=lambda e: e["timestamp"])
        if body.get("start_time"):
            events = [e for e in events if e["timestamp"] >= body["start_time"]]
        if body.get("end_time"):
            events = [e for e in events if e["timestamp"] <= body["end_time"]]
        if body.get("order") == "DESC":
            events.reverse()
        limit = int(body.get("page_size") or body.get("limit") or 50)
        return JSONResponse({"events": events[:limit], "total_count": len(events)})
