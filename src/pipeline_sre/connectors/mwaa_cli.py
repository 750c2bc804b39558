"""Amazon MWAA's CLI path: AirflowClient's REST calls answered with the Airflow CLI commands MWAA allows.

The last fallback (`access: cli`, or `auto` once InvokeRestApi and the web login are denied): for an
identity that may only call `CreateCliToken`, or a webserver that serves no REST API to a web session.
`CreateCliToken` returns a token valid for 60 seconds and the webserver's host; the command line goes as
text/plain to `https://<host>/aws_mwaa/cli` with the token as bearer, and comes back as
{"stdout": base64, "stderr": base64}. A token is reused for 50 seconds, and a fresh one is taken once
when the webserver rejects it. Commands run one at a time, as MWAA asks of its CLI endpoint.

Only commands on MWAA's documented list are sent, and of those only these (`-o json` where it exists):

    REST call of AirflowClient                    Airflow CLI command (Airflow 2 | Airflow 3 syntax)
    GET /version                                  version
    GET /dags, /dags/{dag}                        dags list --columns=dag_id,tags
    GET /dags/{dag}/dagRuns[/{run}]               dags list-runs --dag-id=DAG | DAG  [--state=S]
    GET /dags/~/dagRuns                           the same, once per DAG matched by mwaa.cli_dags
    GET .../dagRuns/{run}/taskInstances[/{task}]  tasks states-for-dag-run DAG RUN
    POST /dags/~/dagRuns/~/taskInstances/list     the same, run by run: the 5 newest runs asked for
    POST /dags/{dag}/dagRuns                      dags trigger DAG --run-id= --conf= --exec-date= |
                                                  --logical-date= (now) --no-replace-microseconds
    POST /dags/{dag}/clearTaskInstances           dags list-runs + tasks states-for-dag-run, then tasks
                                                  clear DAG --start-date=LD --end-date=LD --only-failed --yes

Cost: every command takes seconds (the webserver starts an Airflow CLI process). A cross-DAG listing
(detection) costs one `dags list` (kept 5 minutes; Airflow 2 parses the DAG files for it) plus one
`dags list-runs` per DAG that the globs in `mwaa.cli_dags` (default: the environment's `dags[].match`)
match, and is refused above `cli_max_dags` DAGs. `dags list-runs` has no limit: it prints every run of
the DAG (of one state when one is asked for). Listings and task states are kept 15 seconds, so paging
and the parallel reads of one tool call do not repeat commands; a trigger or clear forgets what was
kept for its DAG.

The CLI does not print try numbers, max tries, operators, run types, run conf (except when triggering)
or notes: a task that started is reported as try 1, the lower bound, with a note saying so; the `note`
of a trigger or clear is not set. Task logs (read from CloudWatch Logs for MWAA anyway), the asset graph
and every other call have no CLI command here: they raise BackendRefused naming the environment.

Clear selects the run by logical date, the only run selector `tasks clear` has: start and end both pin
it (unique per DAG) and `--only-failed` clears failed and upstream_failed tasks, as the REST call does.
A run without a logical date (Airflow 3's REST triggers) is refused. `-t` would narrow to task ids, but
it is a regex on Airflow 2 and a substring on Airflow 3.3, so it is not used. The answer lists the tasks
that were failed just before the clear. Trigger passes an explicit logical date (now, microseconds
kept) so that the run can later be cleared through this path too.

Governance shows and digests a trigger or clear on this path as the command it runs (`described_write`,
made by the same argument builders): the trigger's `@now` and the clear's `@run_logical_date` name the
values only known when the command is sent.

Every argument is checked before any token is asked for: DAG, task and run ids against Airflow's
allowed characters (ASCII only, and no leading '-' that argparse would read as an option), conf as a
JSON object sent as ASCII JSON; option values are passed as `--option=value` and every argument is
shell-quoted. A value that cannot be passed safely is refused with InvalidInput.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import json
import re
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

import httpx

from pipeline_sre.connectors.aws import USER_AGENT_EXTRA, PathUnavailable, path_error
from pipeline_sre.errors import BackendRefused, BackendUnavailable, InvalidInput
from pipeline_sre.models import parse_time
from pipeline_sre.settings.backends import MwaaConnection

TOKEN_REUSE_SECONDS = 50.0  # MWAA's CLI tokens live 60 s; the margin covers the call itself
RUNS_CACHE_SECONDS = 15.0
DAGS_CACHE_SECONDS = 300.0
BATCH_RUNS_MAX = 5
MAX_CONF_CHARS = 16_000
RUN_STATES = frozenset({"queued", "running", "success", "failed"})
FAILED_TASK_STATES = frozenset({"failed", "upstream_failed"})
TRY_NOTE = "try number not shown by the Airflow CLI (MWAA CLI fallback): 1 is the lower bound"
# The subset of MWAA's documented CLI commands that this module sends.
ALLOWED_COMMANDS = frozenset(
    {
        ("version",),
        ("dags", "list"),
        ("dags", "list-runs"),
        ("dags", "trigger"),
        ("tasks", "states-for-dag-run"),
        ("tasks", "clear"),
    }
)
IdKind = Literal["DAG id", "task id", "run id"]
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}")  # Airflow's KEY_REGEX, ASCII only
_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~:+-]{0,249}")  # Airflow's default allowed_run_id_pattern
_IDS: dict[IdKind, tuple[re.Pattern[str], str]] = {
    "DAG id": (_ID, "'_.-'"),
    "task id": (_ID, "'_.-'"),
    "run id": (_RUN_ID, "'_.~:+-'"),
}
_DAG, _RUN, _TASK = r"(?P<dag>[^/]+)", r"(?P<run>[^/]+)", r"(?P<task>[^/]+)"
_VERSION = re.compile(r"\d+\.\d+\S*")
_RAISED = re.compile(r"^[\w.]*(Error|Exception|Exists|NotFound)\b.*$")
Version = Literal["2", "3"]


# -- arguments ----------------------------------------------------------------------------------------


def checked(kind: IdKind, value: Any) -> str:
    """A DAG, task or run id that can stand on a command line as itself."""
    pattern, allowed = _IDS[kind]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(
            f"{kind} {str(value)[:80]!r} cannot be passed safely on an Airflow CLI line: use ASCII letters, "
            f"digits and {allowed} ('-' not first), at most 250 characters"
        )
    return value


def conf_text(conf: Any) -> str:
    """The conf as one line of ASCII JSON (non-ASCII and control characters become escapes)."""
    if not isinstance(conf, dict):
        raise InvalidInput("conf for a trigger over the Airflow CLI must be a JSON object")
    try:
        text = json.dumps(conf, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise InvalidInput("conf cannot be written as JSON for the Airflow CLI") from None
    if len(text) > MAX_CONF_CHARS:
        raise InvalidInput(f"conf is {len(text)} characters as JSON; the Airflow CLI line takes {MAX_CONF_CHARS}")
    return text


def command_line(argv: Sequence[str]) -> str:
    head = tuple(argv[:1]) if tuple(argv[:1]) == ("version",) else tuple(argv[:2])
    if head not in ALLOWED_COMMANDS:
        raise BackendRefused(f"the Airflow CLI command {' '.join(head)!r} is not one this client sends to MWAA")
    for arg in argv:
        if not (arg.isascii() and arg.isprintable()):
            raise InvalidInput("an Airflow CLI argument holds a character that cannot be passed safely")
    return shlex.join(argv)


def list_runs_argv(version: Version, dag_id: str, state: str | None = None) -> list[str]:
    dag = [f"--dag-id={dag_id}"] if version == "2" else [dag_id]
    return ["dags", "list-runs", *dag, *([f"--state={state}"] if state else []), "--output=json"]


def task_states_argv(dag_id: str, run_id: str) -> list[str]:
    return ["tasks", "states-for-dag-run", dag_id, run_id, "--output=json"]


def _stamp(when: datetime | str) -> str:
    return when if isinstance(when, str) else when.isoformat()


def trigger_argv(version: Version, dag_id: str, run_id: str, conf: str, logical_date: datetime | str) -> list[str]:
    date_option = "--exec-date" if version == "2" else "--logical-date"
    return [
        "dags",
        "trigger",
        dag_id,
        f"--run-id={run_id}",
        f"--conf={conf}",
        f"{date_option}={_stamp(logical_date)}",
        "--no-replace-microseconds",
        "--output=json",
    ]


def clear_argv(dag_id: str, logical_date: datetime | str) -> list[str]:
    day = _stamp(logical_date)
    return ["tasks", "clear", dag_id, f"--start-date={day}", f"--end-date={day}", "--only-failed", "--yes"]


def trigger_argv_for(version: Version, dag_id: str, body: dict[str, Any], now: datetime | str) -> list[str]:
    """The trigger a REST body asks for: its logical date, else `now` (when the command is sent)."""
    run_id = checked("run id", body.get("dag_run_id"))
    conf = conf_text(body.get("conf") or {})
    return trigger_argv(version, checked("DAG id", dag_id), run_id, conf, parse_time(body.get("logical_date")) or now)


# -- the writes as governance shows them ----------------------------------------------------------------

# Values a command takes only when it is sent, named in its description where they will stand.
SENT_AT = "@now"
RUN_LOGICAL_DATE = "@run_logical_date"
_FILLED_WHEN_SENT = {
    SENT_AT: "the time the command is sent (the new run's logical date)",
    RUN_LOGICAL_DATE: "the run's logical date, read just before (tasks clear selects runs by logical date only)",
}
_TRIGGER_PATH = re.compile(rf"/dags/{_DAG}/dagRuns")
_CLEAR_PATH = re.compile(rf"/dags/{_DAG}/clearTaskInstances")


def described_write(version: Version, method: str, api_path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The Airflow CLI command a REST write (path relative to the API root) becomes on this path: the
    same builders make it as `MwaaCli` sends it, with placeholders for what is known only then."""
    trigger, clear = _TRIGGER_PATH.fullmatch(api_path), _CLEAR_PATH.fullmatch(api_path)
    if method == "POST" and trigger is not None:
        argv = trigger_argv_for(version, unquote(trigger["dag"]), body, SENT_AT)
    elif method == "POST" and clear is not None:
        argv = clear_argv(checked("DAG id", unquote(clear["dag"])), RUN_LOGICAL_DATE)
    else:
        raise BackendRefused(f"the MWAA CLI fallback cannot {_unsupported(method, api_path)}")
    line = command_line(argv)
    filled = {mark: meaning for mark, meaning in _FILLED_WHEN_SENT.items() if mark in line}
    return {"method": "CLI", "command": line, **({"filled_when_sent": filled} if filled else {})}


# -- output -------------------------------------------------------------------------------------------


def cli_json(stdout: str) -> Any:
    """The JSON a command printed with -o json, or None. Log lines may come first (Airflow 3 logs to stdout)."""
    lines = stdout.splitlines()
    if lines and lines[-1].strip() == "No data found":
        return []
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].lstrip().startswith(("[", "{")):
            try:
                return json.loads("\n".join(lines[i:]))
            except ValueError:
                continue
    return None


def raised_line(stderr: str) -> str | None:
    """The exception a failed command printed (Airflow's INFO logs may share stderr with it)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return None
    if "Traceback (most recent call last)" in stderr or _RAISED.match(lines[-1]):
        return lines[-1][:300]
    return None


def _last_line(text: str) -> str | None:
    return next((line.strip()[:300] for line in reversed(text.splitlines()) if line.strip()), None)


def failure(stdout: str, stderr: str) -> tuple[int, str]:
    """The REST status and detail for a command that printed no result."""
    line = raised_line(stderr) or _last_line(stderr) or _last_line(stdout) or "no output"
    low = line.lower()
    if "already exists" in low:
        return 409, line
    if "not found" in low or "does not exist" in low or "notfound" in low:
        return 404, line
    return 400, line


def _iso(value: Any) -> str | None:
    parsed = parse_time(value)
    return parsed.isoformat() if parsed else None


def _newest_first(rows: list[dict[str, Any]], field: str, descending: bool = True) -> list[dict[str, Any]]:
    """Rows ordered by a date field (as the REST API orders them), rows without one last."""
    dated = [r for r in rows if parse_time(r[field])]
    dated.sort(key=lambda r: parse_time(r[field]) or datetime.min.replace(tzinfo=UTC), reverse=descending)
    return dated + [r for r in rows if not parse_time(r[field])]


def _ended_since(task: dict[str, Any], since: datetime | None) -> bool:
    end = parse_time(task["end_date"])
    return since is None or (end is not None and end >= since)


def run_row(raw: dict[str, Any], version: Version) -> dict[str, Any]:
    """A DAG run as the REST API shapes it, from `dags list-runs` or `dags trigger` output."""
    logical = _iso(raw.get("logical_date") or raw.get("execution_date"))
    row: dict[str, Any] = {
        "dag_id": str(raw.get("dag_id") or ""),
        "dag_run_id": str(raw.get("run_id") or raw.get("dag_run_id") or ""),
        "state": raw.get("state") or None,
        "start_date": _iso(raw.get("start_date")),
        "end_date": _iso(raw.get("end_date")),
        "logical_date": logical,
        "run_after": _iso(raw.get("run_after")) or logical,
    }
    if version == "2":
        row["execution_date"] = logical
    if isinstance(raw.get("conf"), dict):
        row["conf"] = raw["conf"]
    return row


def task_row(raw: dict[str, Any], dag_id: str, run_id: str) -> dict[str, Any]:
    """A task instance as the REST API shapes it, from `tasks states-for-dag-run` output."""
    start, end = parse_time(raw.get("start_date")), parse_time(raw.get("end_date"))
    map_index = str(raw.get("map_index") or "")
    return {
        "dag_id": dag_id,
        "dag_run_id": run_id,
        "task_id": str(raw.get("task_id") or ""),
        "map_index": int(map_index) if map_index.lstrip("-").isdigit() else -1,
        "state": raw.get("state") or None,
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "duration": (end - start).total_seconds() if start and end else None,
        "try_number": 1 if start else 0,
        "note": TRY_NOTE if start else None,
    }


def _page(rows: list[dict[str, Any]], params: httpx.QueryParams, default_limit: int = 100) -> list[dict[str, Any]]:
    offset = int(params.get("offset") or 0)
    return rows[offset : offset + int(params.get("limit") or default_limit)]


def select_runs(rows: list[dict[str, Any]], params: httpx.QueryParams) -> dict[str, Any]:
    """Filter, order and page runs as GET .../dagRuns would (state, end_date_gte/lte, order_by)."""
    states = set(params.get_list("state"))
    gte, lte = parse_time(params.get("end_date_gte")), parse_time(params.get("end_date_lte"))

    def keep(row: dict[str, Any]) -> bool:
        end = parse_time(row["end_date"])
        if states and row["state"] not in states:
            return False
        return _ended_since(row, gte) and (lte is None or (end is not None and end <= lte))

    order = params.get("order_by") or "-end_date"
    field = order.lstrip("-").replace("execution_date", "logical_date")
    if field not in ("end_date", "start_date", "logical_date", "run_after"):
        raise BackendRefused(f"the MWAA CLI fallback cannot order DAG runs by {order!r}")
    ordered = _newest_first([r for r in rows if keep(r)], field, descending=order.startswith("-"))
    return {"dag_runs": _page(ordered, params), "total_entries": len(ordered)}


# -- the backend --------------------------------------------------------------------------------------


class _Answer(Exception):
    """A REST answer other than 200 (Airflow's 404 or 409, say), raised from deep in a handler."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class _Call:
    request: httpx.Request
    version: Version
    ids: dict[str, str]

    @property
    def params(self) -> httpx.QueryParams:
        return self.request.url.params

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.content or b"{}")
        except ValueError:
            raise InvalidInput("the MWAA CLI fallback takes JSON request bodies only") from None
        if not isinstance(data, dict):
            raise InvalidInput("the MWAA CLI fallback takes a JSON object as request body")
        return data


_Handler = Callable[[_Call], Awaitable[Any]]


class MwaaCli:
    """Answers AirflowClient's REST requests with MWAA CLI commands (see the module docstring)."""

    def __init__(
        self,
        environment: str,
        conn: MwaaConnection,
        mwaa: Callable[[], Any],
        *,
        version_text: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.environment = environment
        self.conn = conn
        self.calls = 0
        self.version_text = version_text
        self._mwaa = mwaa
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(conn.timeout_seconds, connect=min(conn.timeout_seconds, 5.0)),
            headers={"User-Agent": USER_AGENT_EXTRA},
            transport=transport,
        )
        self._token: tuple[str, str, float] | None = None  # (token, webserver base URL, monotonic time taken)
        self._lock = asyncio.Lock()
        self._kept: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._loading: dict[tuple[str, ...], asyncio.Lock] = {}
        self._routes: list[tuple[str, re.Pattern[str], _Handler]] = [
            ("GET", re.compile(r"/version"), self._get_version),
            ("GET", re.compile(r"/dags"), self._get_dags),
            ("GET", re.compile(rf"/dags/{_DAG}"), self._get_dag),
            ("GET", re.compile(rf"/dags/{_DAG}/dagRuns"), self._get_runs),
            ("POST", _TRIGGER_PATH, self._trigger),
            ("GET", re.compile(rf"/dags/{_DAG}/dagRuns/{_RUN}"), self._get_run),
            ("GET", re.compile(rf"/dags/{_DAG}/dagRuns/{_RUN}/taskInstances"), self._get_tasks),
            (
                "GET",
                re.compile(rf"/dags/{_DAG}/dagRuns/{_RUN}/taskInstances/{_TASK}(?:/(?P<map>\d+))?"),
                self._get_task,
            ),
            ("POST", re.compile(r"/dags/~/dagRuns/~/taskInstances/list"), self._list_tasks),
            ("POST", _CLEAR_PATH, self._clear),
        ]

    def _where(self) -> str:
        return f"the Airflow CLI of MWAA environment {self.conn.name} (environment '{self.environment}')"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport of one command ---------------------------------------------------------------------

    async def run(self, argv: Sequence[str]) -> tuple[str, str]:
        """(stdout, stderr) of one CLI command; a rejected token is replaced once."""
        line = command_line(argv)
        async with self._lock:
            for fresh in (False, True):
                token, base = await self._token_for(fresh)
                try:
                    answer = await self._http.post(
                        f"{base}/aws_mwaa/cli",
                        content=line.encode("ascii"),
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
                    )
                except httpx.TimeoutException:  # not retried: a trigger or clear may have run all the same
                    raise BackendUnavailable(
                        f"{self._where()} gave no answer within {self.conn.timeout_seconds:g}s (mwaa.timeout_seconds); "
                        "check the DAG before repeating a write"
                    ) from None
                except httpx.TransportError as err:
                    raise BackendUnavailable(f"{self._where()} is unreachable: {type(err).__name__}") from None
                self.calls += 1
                if answer.status_code not in (401, 403):
                    break
            else:
                raise PathUnavailable(
                    BackendRefused(f"{self._where()} rejected a fresh CLI token: HTTP {answer.status_code}")
                )
        if answer.status_code >= 400:
            detail = answer.text.strip().splitlines()[:1]
            kind = BackendUnavailable if answer.status_code >= 500 else BackendRefused
            raise kind(
                f"{self._where()} refused `{' '.join(argv[:2])}`: HTTP {answer.status_code}"
                + (f"; {detail[0][:200]}" if detail else "")
            )
        try:
            body = answer.json()
            return _decoded(body["stdout"]), _decoded(body["stderr"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise BackendUnavailable(f"{self._where()} answered without base64 stdout and stderr") from None

    async def _token_for(self, fresh: bool) -> tuple[str, str]:
        now = time.monotonic()
        if fresh or self._token is None or now - self._token[2] > TOKEN_REUSE_SECONDS:
            try:
                answer = await asyncio.to_thread(lambda: self._mwaa().create_cli_token(Name=self.conn.name))
            except Exception as err:
                raise path_error(
                    err,
                    environment=self.environment,
                    api="MWAA CreateCliToken",
                    what=f"MWAA environment {self.conn.name}",
                ) from None
            base = self.conn.webserver_url or f"https://{answer['WebServerHostname']}"
            self._token = (str(answer["CliToken"]), base, now)
        return self._token[0], self._token[1]

    async def _json_of(self, argv: Sequence[str]) -> Any:
        """The JSON a command printed; a command that printed none becomes Airflow's REST error answer."""
        stdout, stderr = await self.run(argv)
        data = cli_json(stdout)
        if data is None:
            raise _Answer(*failure(stdout, stderr))
        return data

    async def _kept_or(self, key: tuple[str, ...], ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        """What `load` gave within `ttl` seconds, else its fresh result; one load per key at a time."""
        async with self._loading.setdefault(key, asyncio.Lock()):
            hit = self._kept.get(key)
            if hit is not None and time.monotonic() - hit[0] < ttl:
                return hit[1]
            value = await load()
            now = time.monotonic()
            for old in [k for k, (at, _) in self._kept.items() if now - at > DAGS_CACHE_SECONDS]:
                del self._kept[old]  # a long-running server touches many runs: keep memory flat
                self._loading.pop(old, None)
            self._kept[key] = (now, value)
            return value

    def _forget(self, dag_id: str) -> None:
        for key in [k for k in self._kept if k[1:2] == (dag_id,)]:
            del self._kept[key]

    # -- what AirflowClient asks ------------------------------------------------------------------------

    async def handle(self, request: httpx.Request, version: Version, api_path: str) -> httpx.Response:
        for method, pattern, handler in self._routes:
            m = pattern.fullmatch(api_path)
            if request.method == method and m is not None:
                ids = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
                try:
                    body = await handler(_Call(request, version, ids))
                except _Answer as answer:
                    return httpx.Response(answer.status, json={"detail": answer.detail}, request=request)
                return httpx.Response(200, json=body, request=request)
        raise BackendRefused(f"{self._where()}: the CLI fallback cannot {_unsupported(request.method, api_path)}")

    async def version(self) -> str:
        if self.version_text is None:
            stdout, stderr = await self.run(["version"])
            found = [line.strip() for line in stdout.splitlines() if _VERSION.fullmatch(line.strip())]
            if not found:
                raise BackendUnavailable(f"{self._where()} printed no Airflow version: {failure(stdout, stderr)[1]}")
            self.version_text = found[-1]
        return self.version_text

    async def _get_version(self, call: _Call) -> Any:
        return {"version": await self.version(), "git_version": None}

    async def _dags(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            rows = await self._json_of(["dags", "list", "--columns=dag_id,tags", "--output=json"])
            return [
                {"dag_id": str(r.get("dag_id")), "tags": [_tag(t) for t in r.get("tags") or []]}
                for r in rows
                if isinstance(r, dict)
            ]

        dags: list[dict[str, Any]] = await self._kept_or(("dags",), DAGS_CACHE_SECONDS, load)
        return dags

    async def _get_dags(self, call: _Call) -> Any:
        dags = await self._dags()
        return {"dags": _page(dags, call.params), "total_entries": len(dags)}

    async def _get_dag(self, call: _Call) -> Any:
        dag_id = checked("DAG id", call.ids["dag"])
        for dag in await self._dags():
            if dag["dag_id"] == dag_id:
                return dag
        raise _Answer(404, f"DAG with dag_id: '{dag_id}' not found")

    async def _runs(self, version: Version, dag_id: str, state: str | None = None) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            rows = await self._json_of(list_runs_argv(version, dag_id, state))
            return [run_row(r, version) for r in rows if isinstance(r, dict)]

        runs: list[dict[str, Any]] = await self._kept_or(("runs", dag_id, state or ""), RUNS_CACHE_SECONDS, load)
        return runs

    async def _detection_dags(self) -> list[str]:
        """The DAGs a cross-DAG listing covers: those `cli_dags` names, one CLI call each."""
        globs = self.conn.cli_dags
        if not globs:
            raise BackendRefused(
                f"{self._where()} lists DAG runs one DAG at a time and no DAGs are named for it: "
                "list the DAG id globs to watch in dags[].match or mwaa.cli_dags"
            )
        ids = sorted(d["dag_id"] for d in await self._dags() if any(fnmatch.fnmatchcase(d["dag_id"], g) for g in globs))
        if len(ids) > self.conn.cli_max_dags:
            raise BackendRefused(
                f"{self._where()}: {len(ids)} DAGs match mwaa.cli_dags and each costs one CLI call, more than "
                f"cli_max_dags={self.conn.cli_max_dags}; narrow the globs or raise the limit"
            )
        return [checked("DAG id", d) for d in ids]

    async def _get_runs(self, call: _Call) -> Any:
        states = call.params.get_list("state")
        unknown = sorted(set(states) - RUN_STATES)
        if unknown:
            raise _Answer(400, f"unknown DAG run state(s): {', '.join(unknown)}")
        state = states[0] if len(states) == 1 else None  # the CLI filters by one state at most
        if call.ids["dag"] == "~":
            rows = [r for dag_id in await self._detection_dags() for r in await self._runs(call.version, dag_id, state)]
        else:
            rows = await self._runs(call.version, checked("DAG id", call.ids["dag"]), state)
        return select_runs(rows, call.params)

    async def _find_run(self, version: Version, dag_id: str, run_id: str) -> dict[str, Any]:
        for row in await self._runs(version, dag_id):
            if row["dag_run_id"] == run_id:
                return row
        raise _Answer(404, f"DAGRun with DAG ID: '{dag_id}' and DagRun ID: '{run_id}' not found")

    async def _get_run(self, call: _Call) -> Any:
        return await self._find_run(
            call.version, checked("DAG id", call.ids["dag"]), checked("run id", call.ids["run"])
        )

    async def _tasks(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            rows = await self._json_of(task_states_argv(dag_id, run_id))
            return [task_row(r, dag_id, run_id) for r in rows if isinstance(r, dict)]

        tasks: list[dict[str, Any]] = await self._kept_or(("tasks", dag_id, run_id), RUNS_CACHE_SECONDS, load)
        return tasks

    async def _get_tasks(self, call: _Call) -> Any:
        tasks = await self._tasks(checked("DAG id", call.ids["dag"]), checked("run id", call.ids["run"]))
        return {"task_instances": _page(tasks, call.params), "total_entries": len(tasks)}

    async def _get_task(self, call: _Call) -> Any:
        dag_id, run_id = checked("DAG id", call.ids["dag"]), checked("run id", call.ids["run"])
        task_id = checked("task id", call.ids["task"])
        map_index = int(call.ids.get("map", -1))
        for task in await self._tasks(dag_id, run_id):
            if task["task_id"] == task_id and task["map_index"] == map_index:
                return task
        raise _Answer(404, f"task {task_id!r} not found in run {run_id!r} of DAG {dag_id!r}")

    async def _list_tasks(self, call: _Call) -> Any:
        """Task instances of runs across DAGs, run by run: only runs already listed, the newest first."""
        body = call.body()
        run_ids = set(body.get("dag_run_ids") or [])
        states = set(body.get("state") or [])
        end_gte = parse_time(body.get("end_date_gte"))
        known: dict[tuple[str, str], dict[str, Any]] = {}
        for dag_id in body.get("dag_ids") or []:
            for row in await self._known_runs(call.version, checked("DAG id", dag_id)):
                if row["dag_run_id"] in run_ids:
                    known[(row["dag_id"], row["dag_run_id"])] = row
        tasks = [
            task
            for row in _newest_first(list(known.values()), "end_date")[:BATCH_RUNS_MAX]
            for task in await self._tasks(row["dag_id"], checked("run id", row["dag_run_id"]))
            if (not states or task["state"] in states) and _ended_since(task, end_gte)
        ]
        return {"task_instances": tasks, "total_entries": len(tasks)}  # all in one page

    async def _known_runs(self, version: Version, dag_id: str) -> list[dict[str, Any]]:
        """The runs of a DAG that any listing kept, or a fresh listing of all of them."""
        now = time.monotonic()
        kept = [
            row
            for key, (at, rows) in list(self._kept.items())
            if key[:2] == ("runs", dag_id) and now - at < RUNS_CACHE_SECONDS
            for row in rows
        ]
        return kept or await self._runs(version, dag_id)

    # -- writes -----------------------------------------------------------------------------------------

    async def _trigger(self, call: _Call) -> Any:
        dag_id = checked("DAG id", call.ids["dag"])
        data = await self._json_of(trigger_argv_for(call.version, dag_id, call.body(), datetime.now(UTC)))
        self._forget(dag_id)
        if not (isinstance(data, list) and data and isinstance(data[0], dict)):
            raise _Answer(400, "dags trigger printed no DAG run")
        return run_row(data[0], call.version)

    async def _clear(self, call: _Call) -> Any:
        dag_id = checked("DAG id", call.ids["dag"])
        body = call.body()
        run_id = checked("run id", body.get("dag_run_id"))
        if not body.get("only_failed"):
            raise BackendRefused(f"{self._where()}: the CLI fallback clears failed tasks only (only_failed)")
        self._forget(dag_id)  # a write acts on what the DAG is now, not on what was kept
        run = await self._find_run(call.version, dag_id, run_id)
        logical_date = parse_time(run["logical_date"])
        if logical_date is None:
            raise BackendRefused(
                f"{self._where()}: run {run_id!r} of DAG {dag_id!r} has no logical date, and `tasks clear` "
                "selects runs by logical date only; clear it in the Airflow UI"
            )
        failed = [t for t in await self._tasks(dag_id, run_id) if t["state"] in FAILED_TASK_STATES]
        if failed and not body.get("dry_run"):
            stdout, stderr = await self.run(clear_argv(dag_id, logical_date))
            self._forget(dag_id)
            if raised_line(stderr) is not None:  # `tasks clear --yes` prints nothing when it worked
                raise _Answer(*failure(stdout, stderr))
        return {"task_instances": failed}


def _decoded(value: Any) -> str:
    return base64.b64decode(str(value), validate=True).decode("utf-8", "replace")


def _tag(tag: Any) -> dict[str, str]:
    """Tags print as {"name": ...} (the DB) or as plain strings (Airflow 2's parsed DAGs)."""
    return {"name": str(tag.get("name") if isinstance(tag, dict) else tag)}


def _unsupported(method: str, api_path: str) -> str:
    if "/logs/" in api_path:
        return "read task logs (for MWAA environments they come from CloudWatch Logs)"
    if api_path.startswith("/assets"):
        return "read the asset graph"
    return f"answer {method} {api_path[:200]}: no Airflow CLI command that MWAA allows does it"
