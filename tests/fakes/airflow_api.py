"""An Airflow REST API stand-in: API v2 (Airflow 3, JWT from POST /auth/token) or v1 (Airflow 2, basic auth).

Usable in-process (`httpx.AsyncClient(transport=fake.transport())`, which also emulates dropped
connections) and over real HTTP (`with fake.serve() as url:` runs uvicorn on 127.0.0.1, random port;
`python -m tests.fakes.airflow_api` runs it as a separate process and prints its URL).

Behaviour follows Airflow 3.3.2's OpenAPI spec and route code where it matters to a client:
`[api] maximum_page_limit` silently caps `limit`; offset pagination returns the EXACT `total_entries`;
sorts get the primary key as tiebreaker in the direction of the first sort key, and NULLs sort first on
a descending sort (PostgreSQL); an expired JWT is 401 "Token Expired" while an invalid one (wrong
signature, e.g. after the api-server's secret changed) is 403 "Invalid JWT token"; the batch
lists (`POST /dags/~/dagRuns/list`, `POST .../taskInstances/list`) do NOT cap `page_limit`. Airflow 2
mode validates query parameters strictly on the list endpoints and only sorts `/dags` by `dag_id`, as
Airflow 2.10 does.

Runs are indexed (per state, per DAG, per DAG x state; sorted by end_date desc, id desc) so that a page
of a single-state listing costs O(log n + page) and the fake never dominates a benchmark.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import math
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

SHIFT = 32
MASK = (1 << SHIFT) - 1
END_MAX = 1 << 43  # milliseconds; far beyond any generated time
AIRFLOW_RELEASE = {"3": "3.3.2", "2": "2.10.5"}
RUN_STATES = ("queued", "running", "success", "failed")
LOG_CHUNK = 4096

CRON = {300: "*/5 * * * *", 900: "*/15 * * * *", 1800: "*/30 * * * *", 3600: "@hourly", 21600: "0 */6 * * *"}
INTERVALS = (300, 900, 1800, 3600, 21600, 86400)
INTERVAL_WEIGHTS = (35, 20, 10, 20, 5, 10)
DOMAINS = ("sales", "finance", "marketing", "inventory", "logistics", "billing", "crm", "hr", "ads", "risk")
NOUNS = ("orders", "invoices", "customers", "payments", "events", "sessions", "ledger", "stock", "clicks")
TEAMS = ("data-platform", "analytics", "finance-eng", "growth", "supply-chain")
TASK_KINDS = (
    ("wait_for_{}", "ExternalTaskSensor"),
    ("extract_{}", "PythonOperator"),
    ("validate_{}", "SQLColumnCheckOperator"),
    ("transform_{}", "SQLExecuteQueryOperator"),
    ("load_{}", "S3ToRedshiftOperator"),
    ("publish_{}", "BashOperator"),
)
ERRORS = (
    'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "{}_pkey"',
    "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the GetObject operation",
    "airflow.exceptions.AirflowSensorTimeout: Sensor has timed out; run duration of 3600.5 s exceeds 3600",
    "KeyError: 'customer_id'",
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.partner.example'): Max retries",
    "pandas.errors.EmptyDataError: No columns to parse from file",
)


def _iso(ms: int | None, z: bool) -> str | None:
    if ms is None:
        return None
    text = datetime.fromtimestamp(ms / 1000, UTC).isoformat()
    return text.replace("+00:00", "Z") if z else text


def _parse_ms(value: str) -> int:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _encode(idx: int, end_ms: int | None) -> int:
    """Sort key: ascending order == end_date desc, then id desc (Airflow's pk tiebreaker)."""
    if end_ms is None:
        return MASK - idx
    return ((END_MAX - end_ms) << SHIFT) | (MASK - idx)


def _decode(key: int) -> int:
    return MASK - (key & MASK)


def _bad_order(value: str) -> str:
    return f"Ordering with '{value.lstrip('-')}' is disallowed or the attribute does not exist on the model"


class HttpError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


class _Dropped(Exception):
    """Raised by the app when a dropped connection is due and no FaultTransport intercepted it."""


@dataclass
class FakeDag:
    dag_id: str
    tags: list[str]
    owner: str
    interval_s: int
    tasks: list[tuple[str, str]]  # (task_id, operator)
    max_tries: int = 1
    is_paused: bool = False
    description: str | None = None


@dataclass
class FakeAsset:
    """An asset (Airflow 2: a dataset) that tasks of `producers` update and DAGs `consumers` are scheduled on."""

    uri: str
    producers: list[tuple[str, str]]  # (dag_id, task_id)
    consumers: list[str]


@dataclass
class RequestRecord:
    method: str
    raw_path: str
    query: str
    status: int
    authorization: str | None


@dataclass
class _Fault:
    remaining: int
    status: int
    path: str | None
    kind: Literal["status", "drop", "lose"]


@dataclass
class _Run:
    dag: int
    run_id: str
    run_type: str
    state: str
    logical: int | None
    queued: int | None
    start: int | None
    end: int | None
    first_fail: int = -1
    conf: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


def _ilike_any(pattern: str, version: str) -> Callable[[str], bool]:
    """Airflow's substring search: `ILIKE '%term%'` with `_` and `%` as wildcards, and (Airflow 3) `a|b` as
    either term."""
    terms = [t.strip() for t in pattern.split("|") if t.strip()] if version == "3" and "|" in pattern else [pattern]
    regexes = [
        re.compile(".*" + "".join({"%": ".*", "_": "."}.get(c, re.escape(c)) for c in t) + ".*", re.I | re.S)
        for t in terms
    ]
    return lambda value: any(r.fullmatch(value) for r in regexes)


def _at_least(attr: str, bound: Any) -> Callable[[Any], bool]:
    return lambda run: getattr(run, attr) is not None and getattr(run, attr) >= bound


def _at_most(attr: str, bound: Any) -> Callable[[Any], bool]:
    return lambda run: getattr(run, attr) is not None and getattr(run, attr) <= bound


class FakeAirflow:
    def __init__(
        self,
        version: Literal["2", "3"] = "3",
        *,
        users: dict[str, str] | None = None,
        max_page_limit: int = 100,
        token_lifetime: float = 3600.0,
        cap_batch_page_limit: bool = False,
        serve_run_batch: bool = True,
        nulls_first_on_desc: bool = True,
        log_lines: int = 60,
        auth_required: bool = True,
    ) -> None:
        if version not in ("2", "3"):
            raise ValueError("version must be '2' or '3'")
        self.version = version
        self.api = "/api/v2" if version == "3" else "/api/v1"
        self.users = dict(users) if users is not None else {"admin": "admin"}
        self.max_page_limit = max_page_limit
        self.token_lifetime = token_lifetime
        self.cap_batch_page_limit = cap_batch_page_limit
        self.serve_run_batch = serve_run_batch  # False: POST /dags/~/dagRuns/list answers 404 (a gateway's block)
        self.nulls_first_on_desc = nulls_first_on_desc
        self.log_lines = log_lines
        self.auth_required = auth_required
        self.clock_offset = 0.0
        self.generated_at = int(time.time()) * 1000
        self._secret = b"fake-airflow-jwt-secret"
        self._jti = 0
        self._expired_through_jti = 0
        # data
        self.dags: list[FakeDag] = []
        self.assets: list[FakeAsset] = []
        self.datasets_filter_by_dag = True  # False: an Airflow 2 before 2.9, whose /datasets has no dag_ids
        self.serve_tries = True  # False: an Airflow 2 before 2.10, which has no .../{task_id}/tries route
        self.dag_index: dict[str, int] = {}
        self.runs: list[_Run] = []
        self._lookup: dict[tuple[int, str], int] = {}
        self._by_run_id: dict[str, list[int]] | None = None
        self._keys: dict[tuple[int | None, str | None], list[int]] = {}
        self._nulls: dict[tuple[int | None, str | None], list[int]] = {}
        self._last_start: list[int | None] = []
        self._latest: list[int | None] = []  # per DAG, the run that started last: what /dags run filters test
        self._run_cache: dict[int, str] = {}
        self._ti_state: dict[tuple[int, str], str | None] = {}
        self._ti_note: dict[tuple[int, str], str] = {}  # Airflow 3 sets a clear's `note` on the cleared tries
        self._logs: dict[tuple[str, str, str, int], list[str]] = {}
        self.cleared: list[dict[str, Any]] = []
        self.triggered: list[dict[str, Any]] = []
        # observation and faults
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self.reset_counters()
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])]
        )

    # -- observation ----------------------------------------------------------------------------

    def reset_counters(self) -> None:
        self.total_requests = 0
        self.path_counts: Counter[str] = Counter()
        self.route_counts: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.requests: deque[RequestRecord] = deque(maxlen=20_000)
        self.server_time_s = 0.0
        self.dropped = 0

    def count(self, route: str) -> int:
        """Requests seen for a route pattern such as 'GET /dags/~/dagRuns' or 'POST /auth/token'."""
        return self.route_counts[route]

    def raw_paths(self, method: str | None = None) -> list[str]:
        return [r.raw_path for r in self.requests if method is None or r.method == method]

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.total_requests,
            "dropped": self.dropped,
            "server_time_s": round(self.server_time_s, 6),
            "by_route": dict(self.route_counts),
            "by_status": {str(k): v for k, v in self.status_counts.items()},
        }

    # -- fault injection and clock -----------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, path: str | None = None) -> None:
        """The next `n` requests (whose raw path contains `path`, if given) get `status` and a JSON detail."""
        with self._lock:
            self._faults.append(_Fault(n, status, path, "status"))

    def drop_next(self, n: int = 1, path: str | None = None) -> None:
        """The next `n` matching requests fail at the connection level.

        In-process through `transport()` they raise httpx.ConnectError before reaching the app. Over
        real HTTP the server aborts the connection after the response head, which a client sees as
        a truncated response (httpx.RemoteProtocolError while reading the body).
        """
        with self._lock:
            self._faults.append(_Fault(n, 0, path, "drop"))

    def lose_answer_next(self, n: int = 1, path: str | None = None) -> None:
        """The next `n` matching requests take effect, then their answer is lost: in-process through
        `transport()` the client sees httpx.ReadTimeout after the handler ran (a write that did happen)."""
        with self._lock:
            self._faults.append(_Fault(n, 0, path, "lose"))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, raw_path: str, kind: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.remaining > 0 and (fault.path is None or fault.path in raw_path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the server's clock (token expiry) forward; data timestamps do not move."""
        self.clock_offset += seconds

    def issue_token(self, username: str = "admin", lifetime: float | None = None) -> str:
        self._jti += 1
        now = int(self.now())
        claims = {
            "sub": username,
            "iss": "fake-airflow",
            "aud": "apache-airflow",
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime if lifetime is not None else self.token_lifetime),
            "jti": str(self._jti),
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"

    def expire_tokens(self) -> None:
        """Every token issued so far is treated as expired (401 'Token Expired')."""
        self._expired_through_jti = self._jti

    def rotate_secret(self) -> None:
        """Tokens issued so far no longer verify (403 'Invalid JWT token'), as after an api-server restart
        without a configured [api_auth] jwt_secret."""
        self._secret = hashlib.sha256(self._secret).digest()

    def _check_bearer(self, header: str | None) -> None:
        if not header or not header.startswith("Bearer "):
            raise HttpError(401, "Not authenticated")
        token = header[7:]
        try:
            head, body, sig = token.split(".")
            expected = _b64(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(expected, sig):
                raise ValueError
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise HttpError(403, "Invalid JWT token") from None
        if claims.get("exp", 0) <= self.now() or int(claims.get("jti", 0)) <= self._expired_through_jti:
            raise HttpError(401, "Token Expired")

    def _check_basic(self, header: str | None) -> None:
        try:
            scheme, _, raw = (header or "").partition(" ")
            user, _, password = base64.b64decode(raw).decode().partition(":")
            ok = scheme == "Basic" and user in self.users and hmac.compare_digest(self.users[user], password)
        except ValueError:
            ok = False
        if not ok:
            raise HttpError(401, None)

    # -- data -------------------------------------------------------------------------------------

    def add_dag(self, dag: FakeDag) -> int:
        if dag.dag_id in self.dag_index:
            raise ValueError(f"duplicate dag_id {dag.dag_id!r}")
        self.dag_index[dag.dag_id] = len(self.dags)
        self.dags.append(dag)
        self._last_start.append(None)
        self._latest.append(None)
        return len(self.dags) - 1

    def add_asset(self, uri: str, producers: list[tuple[str, str]], consumers: list[str]) -> None:
        self.assets.append(FakeAsset(uri, producers, consumers))

    def add_run(
        self,
        dag_id: str,
        run_id: str,
        state: str,
        *,
        end: datetime | None = None,
        start: datetime | None = None,
        run_type: str | None = None,
        first_failed_task: int = 0,
        conf: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> int:
        """Add one run by hand (tests); `first_failed_task` indexes the failing task of a failed run."""
        dag = self.dag_index[dag_id]
        end_ms = int(end.timestamp() * 1000) if end else None
        start_ms = int(start.timestamp() * 1000) if start else (end_ms - 60_000 if end_ms else int(self.now() * 1000))
        kind = run_type or run_id.partition("__")[0] or "manual"
        logical = start_ms - 1000
        with contextlib.suppress(ValueError):
            logical = _parse_ms(run_id.partition("__")[2].split("/")[0])
        run = _Run(
            dag,
            run_id,
            kind,
            state,
            logical,
            start_ms - 500,
            start_ms,
            end_ms,
            first_failed_task if state == "failed" else -1,
            conf or {},
            note,
        )
        return self._insert(run)

    def _insert(self, run: _Run) -> int:
        if (run.dag, run.run_id) in self._lookup:
            raise ValueError(f"duplicate run {run.run_id!r}")
        idx = len(self.runs)
        self.runs.append(run)
        self._lookup[(run.dag, run.run_id)] = idx
        if self._by_run_id is not None:
            self._by_run_id.setdefault(run.run_id, []).append(idx)
        self._index_add(idx)
        if run.start is not None and (self._last_start[run.dag] or 0) < run.start:
            self._last_start[run.dag] = run.start
            self._latest[run.dag] = idx
        return idx

    def _groups(self, run: _Run) -> tuple[tuple[int | None, str | None], ...]:
        return ((None, None), (None, run.state), (run.dag, None), (run.dag, run.state))

    def _index_add(self, idx: int) -> None:
        run = self.runs[idx]
        store = self._keys if run.end is not None else self._nulls
        key = _encode(idx, run.end)
        for group in self._groups(run):
            bisect.insort(store.setdefault(group, []), key)

    def _index_remove(self, idx: int) -> None:
        run = self.runs[idx]
        store = self._keys if run.end is not None else self._nulls
        key = _encode(idx, run.end)
        for group in self._groups(run):
            lst = store[group]
            del lst[bisect.bisect_left(lst, key)]

    def set_run_state(self, idx: int, state: str, end: int | None) -> None:
        self._index_remove(idx)
        self._run_cache.pop(idx, None)
        self.runs[idx].state = state
        self.runs[idx].end = end
        self._index_add(idx)

    def finish_run(self, dag_id: str, run_id: str, state: str, end: datetime) -> None:
        """What the scheduler does after a clear: the run, and every task it ran again, ends in `state`."""
        idx = self._lookup[(self.dag_index[dag_id], run_id)]
        for key in [k for k in self._ti_state if k[0] == idx]:
            del self._ti_state[key]
        self.set_run_state(idx, state, int(end.timestamp() * 1000))

    def set_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, lines: list[str]) -> None:
        self._logs[(dag_id, run_id, task_id, try_number)] = lines

    def run_index(self, dag_id: str, run_id: str) -> int | None:
        dag = self.dag_index.get(dag_id)
        return None if dag is None else self._lookup.get((dag, run_id))

    def failed_between(self, start: datetime, end: datetime) -> int:
        """Ground truth: failed runs whose end_date lies in [start, end]."""
        return self._range_len((None, "failed"), int(start.timestamp() * 1000), int(end.timestamp() * 1000))

    def _range(self, group: tuple[int | None, str | None], gte: int | None, lte: int | None) -> tuple[int, int]:
        keys = self._keys.get(group, [])
        lo = 0 if lte is None else bisect.bisect_left(keys, (END_MAX - lte) << SHIFT)
        hi = len(keys) if gte is None else bisect.bisect_left(keys, (END_MAX - gte + 1) << SHIFT)
        return lo, max(lo, hi)

    def _range_len(self, group: tuple[int | None, str | None], gte: int | None, lte: int | None) -> int:
        lo, hi = self._range(group, gte, lte)
        return hi - lo

    @classmethod
    def generate(
        cls,
        n_dags: int = 2000,
        n_runs: int = 100_000,
        failed_last_hour: int = 5000,
        seed: int = 0,
        *,
        now: datetime | None = None,
        version: Literal["2", "3"] = "3",
        **options: Any,
    ) -> FakeAirflow:
        """A realistic estate: `failed_last_hour` failed runs end in [now-55 min, now-10 s]; other failures
        end before now-65 min, so the count stays exact for a one-hour window opened within 5 minutes."""
        if n_dags < 1 or n_runs < n_dags or failed_last_hour > n_runs:
            raise ValueError("need n_dags >= 1, n_runs >= n_dags and failed_last_hour <= n_runs")
        fake = cls(version, **options)
        rng = random.Random(seed)
        now_ms = int((now or datetime.now(UTC)).timestamp()) * 1000
        fake.generated_at = now_ms
        flaky: list[float] = []
        for i in range(n_dags):
            domain, noun = DOMAINS[i % len(DOMAINS)], NOUNS[(i // len(DOMAINS)) % len(NOUNS)]
            tier = rng.choices((1, 2, 3, 4), (10, 20, 40, 30))[0]
            tags = [f"tier:{tier}", f"team:{TEAMS[i % len(TEAMS)]}", domain]
            if (tier == 1 and rng.random() < 0.5) or (tier == 2 and rng.random() < 0.2):
                tags.append("business_critical")
            kinds = sorted(rng.sample(range(len(TASK_KINDS)), rng.randint(2, 4)))
            tasks = [(TASK_KINDS[k][0].format(noun), TASK_KINDS[k][1]) for k in kinds]
            interval = rng.choices(INTERVALS, INTERVAL_WEIGHTS)[0]
            fake.add_dag(
                FakeDag(
                    f"{domain}_{noun}_{i:04d}",
                    tags,
                    TEAMS[i % len(TEAMS)],
                    interval,
                    tasks,
                    max_tries=rng.choice((0, 1, 2, 3)),
                    description=f"{domain} {noun} pipeline",
                )
            )
            flaky.append(rng.paretovariate(1.2))
        per_dag = [n_runs // n_dags] * n_dags
        for j in rng.sample(range(n_dags), n_runs % n_dags):
            per_dag[j] += 1

        runs: list[_Run] = []
        for j, dag in enumerate(fake.dags):
            step = dag.interval_s * 1000
            phase = rng.randrange(0, max(1, dag.interval_s // 60)) * 60_000
            newest_interval_end = ((now_ms - phase) // step) * step + phase
            for k in range(per_dag[j]):
                logical = newest_interval_end - step * (k + 1)
                start = min(logical + step + rng.randint(1000, 30_000), now_ms - 2000)
                end: int | None = start + rng.randint(20_000, max(21_000, min(step * 4 // 5, 1_800_000)))
                state = "success"
                if end is not None and end > now_ms - 1000:
                    end, state = None, "running"
                run_id = "scheduled__" + (_iso(logical, False) or "")
                runs.append(_Run(j, run_id, "scheduled", state, logical, start - 500, start, end))

        window_lo, window_hi = now_ms - 55 * 60_000, now_ms - 10_000
        near_lo = now_ms - 65 * 60_000

        def in_window(r: _Run) -> bool:
            return r.end is not None and window_lo <= r.end <= window_hi

        candidates = [i for i, r in enumerate(runs) if in_window(r)]
        if len(candidates) < failed_last_hour:  # small estates: turn old scheduled runs into recent manual ones
            chosen = set(candidates)
            spare = [i for i in range(len(runs)) if i not in chosen and runs[i].state != "running"]
            rng.shuffle(spare)
            for i in spare[: failed_last_hour - len(candidates)]:
                r = runs[i]
                end_ms = rng.randint(window_lo, window_hi)
                start_ms = end_ms - rng.randint(20_000, 600_000)
                queued = start_ms - rng.randint(200, 5000)
                r.run_type, r.logical, r.queued, r.start, r.end = "manual", queued, queued, start_ms, end_ms
                r.run_id = f"manual__{_iso(queued, False)}"
                r.conf = {"triggered_by": "on-call", "reason": "rerun after fix"}
                candidates.append(i)
        weighted = heapq.nsmallest(
            failed_last_hour, candidates, key=lambda i: -math.log(1.0 - rng.random()) / flaky[runs[i].dag]
        )
        failing = set(weighted)
        for i, r in enumerate(runs):
            if r.state == "running":
                continue
            n_tasks = len(fake.dags[r.dag].tasks)
            assert r.end is not None
            if i in failing or (r.end < near_lo and rng.random() < min(0.5, 0.04 * flaky[r.dag])):
                r.state = "failed"
            if r.state == "failed":
                r.first_fail = rng.randrange(n_tasks)
        runs.sort(key=lambda r: (r.queued or 0, r.dag))
        for r in runs:
            idx = len(fake.runs)
            fake.runs.append(r)
            fake._lookup[(r.dag, r.run_id)] = idx
            if r.start is not None and (fake._last_start[r.dag] or 0) < r.start:
                fake._last_start[r.dag] = r.start
                fake._latest[r.dag] = idx
            store = fake._keys if r.end is not None else fake._nulls
            key = _encode(idx, r.end)
            for group in fake._groups(r):
                store.setdefault(group, []).append(key)
        for lst in itertools.chain(fake._keys.values(), fake._nulls.values()):
            lst.sort()
        return fake

    # -- task instances and logs -----------------------------------------------------------------

    def _tis(self, idx: int) -> list[dict[str, Any]]:
        """Task instances of a run as plain facts; rendering adds the API's shape."""
        run = self.runs[idx]
        dag = self.dags[run.dag]
        n = len(dag.tasks)
        out: list[dict[str, Any]] = []
        start = run.start or 0
        span_end = run.end or start + 60_000 * n
        slot = max(1000, (span_end - start) // n)
        for pos, (task_id, operator) in enumerate(dag.tasks):
            t_start: int | None = start + pos * slot
            t_end: int | None = (t_start or 0) + slot - 500
            tries = 1
            if run.state == "failed":
                if pos < run.first_fail:
                    state: str | None = "success"
                elif pos == run.first_fail:
                    state, tries = "failed", dag.max_tries + 1
                else:
                    state, tries, t_start, t_end = "upstream_failed", 0, run.end, run.end
            elif run.state == "success":
                state = "success"
            elif run.state == "running":
                state = "running" if pos == 0 else None
                t_end = None
                if pos:
                    tries, t_start = 0, None
            else:  # queued
                state, tries, t_start, t_end = None, 0, None, None
            override = (idx, task_id)
            if override in self._ti_state:
                state, t_end = self._ti_state[override], None
            out.append(
                {
                    "pos": pos,
                    "task_id": task_id,
                    "operator": operator,
                    "state": state,
                    "try_number": tries,
                    "max_tries": dag.max_tries,
                    "start": t_start,
                    "end": t_end,
                }
            )
        return out

    def _log_lines(self, idx: int, ti: dict[str, Any], try_number: int) -> list[str]:
        run = self.runs[idx]
        dag = self.dags[run.dag]
        custom = self._logs.get((dag.dag_id, run.run_id, ti["task_id"], try_number))
        if custom is not None:
            return custom
        lines = [
            f"Dependencies all met for dag_id={dag.dag_id}, task_id={ti['task_id']}, run_id={run.run_id}",
            f"Starting attempt {try_number} of {ti['max_tries'] + 1}",
            f"Executing <Task({ti['operator']}): {ti['task_id']}> on {_iso(run.logical, False)}",
        ]
        lines += [f"processed batch {i + 1}: {(i * 7919) % 10_000} rows" for i in range(self.log_lines)]
        if ti["state"] == "failed" and try_number == ti["try_number"]:
            error = ERRORS[(idx + ti["pos"]) % len(ERRORS)].format(dag.dag_id.split("_")[1])
            lines += [
                "Task failed with exception",
                "Traceback (most recent call last):",
                f'  File "/opt/airflow/dags/{dag.dag_id}.py", line {40 + ti["pos"]}, in {ti["task_id"]}',
                "    run_step(context)",
                error,
                f"Marking task as FAILED. dag_id={dag.dag_id}, task_id={ti['task_id']}, run_id={run.run_id}",
            ]
        else:
            lines.append(f"Marking task as SUCCESS. dag_id={dag.dag_id}, task_id={ti['task_id']}")
        return lines

    # -- rendering --------------------------------------------------------------------------------

    def _run_json(self, idx: int) -> str:
        """A run's JSON, cached: runs only change through set_run_state, which drops the entry."""
        cached = self._run_cache.get(idx)
        if cached is None:
            cached = json.dumps(self._render_run(idx), separators=(",", ":"), ensure_ascii=False)
            self._run_cache[idx] = cached
        return cached

    def _runs_page(self, page: list[int], total: int) -> Response:
        body = '{"dag_runs":[' + ",".join(self._run_json(i) for i in page) + f'],"total_entries":{total}}}'
        return Response(body.encode(), 200, media_type="application/json")

    def _render_run(self, idx: int) -> dict[str, Any]:
        run = self.runs[idx]
        dag = self.dags[run.dag]
        z = self.version == "3"
        step = dag.interval_s * 1000
        interval_end = run.logical + step if run.logical is not None and run.run_type == "scheduled" else run.logical
        if self.version == "2":
            return {
                "dag_run_id": run.run_id,
                "dag_id": dag.dag_id,
                "logical_date": _iso(run.logical, z),
                "execution_date": _iso(run.logical, z),
                "start_date": _iso(run.start, z),
                "end_date": _iso(run.end, z),
                "data_interval_start": _iso(run.logical, z),
                "data_interval_end": _iso(interval_end, z),
                "last_scheduling_decision": _iso(run.end or run.start, z),
                "run_type": run.run_type,
                "state": run.state,
                "external_trigger": run.run_type == "manual",
                "conf": run.conf,
                "note": run.note,
            }
        return {
            "dag_run_id": run.run_id,
            "dag_id": dag.dag_id,
            "logical_date": _iso(run.logical, z),
            "queued_at": _iso(run.queued, z),
            "start_date": _iso(run.start, z),
            "end_date": _iso(run.end, z),
            "duration": round((run.end - run.start) / 1000, 3) if run.end and run.start else None,
            "data_interval_start": _iso(run.logical, z),
            "data_interval_end": _iso(interval_end, z),
            "run_after": _iso(interval_end or run.queued, z),
            "last_scheduling_decision": _iso(run.end or run.start, z),
            "run_type": run.run_type,
            "state": run.state,
            "triggered_by": "timetable" if run.run_type == "scheduled" else "rest_api",
            "triggering_user_name": None if run.run_type == "scheduled" else "admin",
            "conf": run.conf,
            "note": run.note,
            "dag_versions": [
                {
                    "id": str(uuid.UUID(int=run.dag + 1)),
                    "version_number": 1,
                    "dag_id": dag.dag_id,
                    "bundle_name": "dags-folder",
                    "bundle_version": None,
                    "created_at": _iso(self.generated_at, z),
                    "dag_display_name": dag.dag_id,
                    "bundle_url": None,
                }
            ],
            "bundle_version": None,
            "dag_display_name": dag.dag_id,
            "partition_key": None,
            "partition_date": None,
        }

    def _render_ti(self, idx: int, ti: dict[str, Any]) -> dict[str, Any]:
        run = self.runs[idx]
        dag = self.dags[run.dag]
        z = self.version == "3"
        start, end = ti["start"], ti["end"]
        duration = round((end - start) / 1000, 3) if start is not None and end is not None else None
        common = {
            "task_id": ti["task_id"],
            "dag_id": dag.dag_id,
            "dag_run_id": run.run_id,
            "map_index": -1,
            "start_date": _iso(start, z),
            "end_date": _iso(end, z),
            "duration": duration,
            "state": ti["state"],
            "try_number": ti["try_number"],
            "max_tries": ti["max_tries"],
            "hostname": "worker-1" if start else "",
            "unixname": "airflow",
            "pool": "default_pool",
            "pool_slots": 1,
            "queue": "default",
            "priority_weight": len(dag.tasks) - ti["pos"],
            "operator": ti["operator"],
            "queued_when": _iso(start - 300 if start else None, z),
            "pid": 4000 + ti["pos"] if start else None,
            "executor_config": "{}",
            "note": self._ti_note.get((idx, ti["task_id"])),
            "rendered_map_index": None,
            "rendered_fields": {},
            "trigger": None,
            "triggerer_job": None,
        }
        if self.version == "2":
            return {**common, "execution_date": _iso(run.logical, z), "executor": None, "sla_miss": None}
        return {
            "id": str(uuid.UUID(int=(idx << 4) + ti["pos"] + (1 << 100))),
            **common,
            "logical_date": _iso(run.logical, z),
            "run_after": _iso(run.queued, z),
            "task_display_name": ti["task_id"],
            "dag_display_name": dag.dag_id,
            "operator_name": ti["operator"],
            "scheduled_when": _iso(start - 600 if start else None, z),
            "executor": None,
            "dag_version": {
                "id": str(uuid.UUID(int=run.dag + 1)),
                "version_number": 1,
                "dag_id": dag.dag_id,
                "bundle_name": "dags-folder",
                "bundle_version": None,
                "created_at": _iso(self.generated_at, z),
                "dag_display_name": dag.dag_id,
                "bundle_url": None,
            },
        }

    def _render_dag(self, d: int) -> dict[str, Any]:
        dag = self.dags[d]
        z = self.version == "3"
        cron = CRON.get(dag.interval_s, "@daily")
        parsed = _iso(self.generated_at, z)
        if self.version == "2":
            return {
                "dag_id": dag.dag_id,
                "dag_display_name": dag.dag_id,
                "root_dag_id": None,
                "is_paused": dag.is_paused,
                "is_active": True,
                "is_subdag": False,
                "last_parsed_time": parsed,
                "last_pickled": None,
                "last_expired": None,
                "scheduler_lock": None,
                "pickle_id": None,
                "default_view": "grid",
                "fileloc": f"/opt/airflow/dags/{dag.dag_id}.py",
                "file_token": _b64(dag.dag_id.encode()),
                "owners": [dag.owner],
                "description": dag.description,
                "schedule_interval": {"__type": "CronExpression", "value": cron},
                "timetable_description": cron,
                "tags": [{"name": t} for t in dag.tags],
                "max_active_tasks": 16,
                "max_active_runs": 16,
                "has_task_concurrency_limits": False,
                "has_import_errors": False,
                "next_dagrun": None,
                "next_dagrun_data_interval_start": None,
                "next_dagrun_data_interval_end": None,
                "next_dagrun_create_after": None,
            }
        return {
            "dag_id": dag.dag_id,
            "dag_display_name": dag.dag_id,
            "is_paused": dag.is_paused,
            "is_stale": False,
            "last_parsed_time": parsed,
            "last_parse_duration": 0.41,
            "last_expired": None,
            "bundle_name": "dags-folder",
            "bundle_version": None,
            "relative_fileloc": f"{dag.dag_id}.py",
            "fileloc": f"/opt/airflow/dags/{dag.dag_id}.py",
            "description": dag.description,
            "timetable_summary": cron,
            "timetable_description": cron,
            "timetable_partitioned": False,
            "timetable_periodic": True,
            "tags": [{"name": t, "dag_id": dag.dag_id, "dag_display_name": dag.dag_id} for t in dag.tags],
            "max_active_tasks": 16,
            "max_active_runs": 16,
            "max_consecutive_failed_dag_runs": 0,
            "has_task_concurrency_limits": False,
            "has_import_errors": False,
            "next_dagrun_logical_date": None,
            "next_dagrun_data_interval_start": None,
            "next_dagrun_data_interval_end": None,
            "next_dagrun_run_after": None,
            "allowed_run_types": None,
            "owners": [dag.owner],
            "is_backfillable": True,
            "file_token": _b64(dag.dag_id.encode()),
        }

    # -- HTTP plumbing ----------------------------------------------------------------------------

    def _error(self, status: int, detail: Any) -> Response:
        if self.version == "2":
            title = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
            }
            body: dict[str, Any] = {
                "detail": detail,
                "status": status,
                "title": title.get(status, "Error"),
                "type": f"https://airflow.apache.org/docs/apache-airflow/{AIRFLOW_RELEASE['2']}/"
                "stable-rest-api-ref.html#section/Errors",
            }
        else:
            body = {"detail": detail}
        headers = {"WWW-Authenticate": "Basic"} if status == 401 and self.version == "2" else None
        return self._json(body, status, headers)

    @staticmethod
    def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return Response(content, status, headers=headers, media_type="application/json")

    async def _endpoint(self, request: Request) -> Response:
        began = time.perf_counter()
        raw = request.scope.get("raw_path") or request.url.path.encode()
        raw_path = raw.decode("latin-1").split("?", 1)[0]
        method = request.method
        query = request.url.query
        if raw_path.startswith("/_fake/"):
            return self._control(raw_path)
        route = "?"
        try:
            route, handler, args = self._route(method, raw_path)
            with self._lock:
                self.total_requests += 1
                self.path_counts[raw_path] += 1
                self.route_counts[route] += 1
            if self._take_fault(raw_path, "drop"):
                self.dropped += 1
                response: Response = _AbortResponse()
            elif (fault := self._take_fault(raw_path, "status")) is not None:
                response = self._error(fault.status, f"injected HTTP {fault.status} by FakeAirflow.fail_next")
            else:
                if handler is None:
                    raise HttpError(404, "Not Found")
                if route not in _PUBLIC and self.auth_required:
                    header = request.headers.get("authorization")
                    if self.version == "3":
                        self._check_bearer(header)
                    else:
                        self._check_basic(header)
                response = await handler(request, *args)
        except HttpError as err:
            response = self._error(err.status, err.detail)
        with self._lock:
            self.status_counts[response.status_code] += 1
            self.requests.append(
                RequestRecord(method, raw_path, query, response.status_code, request.headers.get("authorization"))
            )
            self.server_time_s += time.perf_counter() - began
        return response

    def _control(self, raw_path: str) -> Response:
        if raw_path == "/_fake/stats":
            return self._json(self.stats())
        if raw_path == "/_fake/reset":
            self.reset_counters()
            return self._json({"reset": True})
        return self._json({"detail": "unknown control path"}, 404)

    def _route(self, method: str, raw_path: str) -> tuple[str, Any, tuple[Any, ...]]:
        if raw_path == "/auth/token":
            if self.version == "2":
                return "POST /auth/token", None, ()
            return "POST /auth/token", self._h_token if method == "POST" else None, ()
        if not raw_path.startswith(self.api + "/"):
            return f"{method} {raw_path}", None, ()
        seg = [unquote(s) for s in raw_path[len(self.api) + 1 :].split("/")]
        n = len(seg)
        table: list[tuple[str, str, int, Callable[..., Any]]] = [
            ("GET", "version", 1, self._h_version),
            (
                "GET",
                "monitor/health" if self.version == "3" else "health",
                2 if self.version == "3" else 1,
                self._h_health,
            ),
        ]
        for verb, name, size, handler in table:
            if method == verb and n == size and "/".join(seg) == name:
                return f"{verb} /{name}", handler, ()
        if n == 1 and seg[0] == "dagTags" and self.version == "3":
            return "GET /dagTags", self._h_dag_tags if method == "GET" else None, ()
        if n == 1 and seg[0] == ("assets" if self.version == "3" else "datasets"):
            return f"GET /{seg[0]}", self._h_assets if method == "GET" else None, ()
        if seg[0] != "dags":
            return f"{method} /{'/'.join(seg)}", None, ()
        d = seg[1] if n > 1 else None
        dn = "~" if d == "~" else "{dag_id}"
        if n == 1:
            return "GET /dags", self._h_dags if method == "GET" else None, ()
        if n == 2:
            return f"GET /dags/{dn}", self._h_dag if method == "GET" else None, (d,)
        if n == 3 and seg[2] == "clearTaskInstances":
            return f"POST /dags/{dn}/clearTaskInstances", self._h_clear if method == "POST" else None, (d,)
        if seg[2] != "dagRuns":
            return f"{method} /dags/{dn}/{'/'.join(seg[2:])}", None, ()
        if n == 3:
            runs_handler = {"GET": self._h_runs, "POST": self._h_trigger}.get(method)
            return f"{method} /dags/{dn}/dagRuns", runs_handler, (d,)
        r = seg[3]
        if n == 4 and r == "list" and method == "POST":
            batch: Callable[..., Any] | None = self._h_runs_batch if self.serve_run_batch else None
            if d != "~":  # Airflow 3 types the path's dag_id as Literal["~"]; Airflow 2 routes only ~
                batch = self._h_runs_batch_not_tilde if self.serve_run_batch else None
            return f"POST /dags/{dn}/dagRuns/list", batch, (d,)
        rn = "~" if r == "~" else "{run_id}"
        base = f"/dags/{dn}/dagRuns/{rn}"
        if n == 4:
            return f"GET {base}", self._h_run if method == "GET" else None, (d, r)
        if seg[4] != "taskInstances":
            return f"{method} {base}/{'/'.join(seg[4:])}", None, ()
        if n == 5:
            return f"GET {base}/taskInstances", self._h_tis if method == "GET" else None, (d, r)
        if n == 6 and seg[5] == "list":
            return f"POST {base}/taskInstances/list", self._h_ti_batch if method == "POST" else None, (d, r)
        t = seg[5]
        if n == 6:
            return (
                f"GET {base}/taskInstances/{{task_id}}",
                self._h_ti if method == "GET" else None,
                (d, r, t, "-1"),
            )
        if seg[-1] == "tries" and n in (7, 8):
            mi = seg[6] if n == 8 else "-1"
            route = f"GET {base}/taskInstances/{{task_id}}{'/{map_index}' if n == 8 else ''}/tries"
            return route, self._h_tries if method == "GET" and self.serve_tries else None, (d, r, t, mi)
        if n == 8 and seg[6] == "logs":
            route = f"GET {base}/taskInstances/{{task_id}}/logs/{{try_number}}"
            return route, self._h_log if method == "GET" else None, (d, r, t, seg[7])
        if n == 7:
            return f"GET {base}/taskInstances/{{task_id}}/{{map_index}}", self._h_ti, (d, r, t, seg[6])
        return f"{method} {base}/taskInstances/...", None, ()

    # -- handlers ---------------------------------------------------------------------------------

    async def _h_token(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            user, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            raise HttpError(400, "Username and password must be provided") from None
        if user not in self.users or not hmac.compare_digest(self.users[user], password):
            raise HttpError(401, "Invalid credentials")
        return self._json({"access_token": self.issue_token(user)}, 201)

    async def _h_version(self, request: Request) -> Response:
        return self._json({"version": AIRFLOW_RELEASE[self.version], "git_version": None})

    async def _h_health(self, request: Request) -> Response:
        beat = _iso(int(self.now() * 1000), self.version == "3")
        ok = {"status": "healthy", "latest_scheduler_heartbeat": beat}
        body: dict[str, Any] = {"metadatabase": {"status": "healthy"}, "scheduler": ok}
        if self.version == "3":
            body["triggerer"] = {"status": "healthy", "latest_triggerer_heartbeat": beat}
            body["dag_processor"] = {"status": "healthy", "latest_dag_processor_heartbeat": beat}
        return self._json(body)

    def _params(self, request: Request, allowed: Iterable[str] | None = None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            out.setdefault(key, []).append(value)
        if allowed is not None and self.version == "2":
            extra = sorted(set(out) - set(allowed))
            if extra:  # Airflow 2 runs connexion with strict_validation
                raise HttpError(400, f"Extra query parameter(s) {','.join(extra)} not in spec")
        return out

    def _int(self, params: dict[str, list[str]], name: str, default: int) -> int:
        raw = params.get(name, [str(default)])[-1]
        try:
            value = int(raw)
        except ValueError:
            raise HttpError(422 if self.version == "3" else 400, f"{name} must be an integer; got {raw!r}") from None
        if value < 0:
            raise HttpError(422 if self.version == "3" else 400, f"{name} must be >= 0")
        return value

    def _limit(self, params: dict[str, list[str]]) -> int:
        limit = self._int(params, "limit", 50 if self.version == "3" else 100)
        if self.version == "2" and limit < 1:
            raise HttpError(400, "Page limit must be a positive integer")
        return min(limit, self.max_page_limit)

    def _time(self, params: dict[str, list[str]], name: str) -> int | None:
        if name not in params:
            return None
        value = params[name][-1]
        try:
            return _parse_ms(value)
        except ValueError:
            loc = ["query", name]
            raise HttpError(
                422 if self.version == "3" else 400,
                [
                    {
                        "type": "datetime_from_date_parsing",
                        "loc": loc,
                        "msg": "Input should be a valid datetime",
                        "input": value,
                    }
                ]
                if self.version == "3"
                else f"Invalid datetime for {name}: {value!r}",
            ) from None

    def _dag_or_404(self, dag_id: str) -> int:
        d = self.dag_index.get(dag_id)
        if d is None:
            raise HttpError(404, f"The Dag with ID: `{dag_id}` was not found")
        return d

    def _run_or_404(self, dag_id: str, run_id: str) -> int:
        d = self._dag_or_404(dag_id)
        idx = self._lookup.get((d, run_id))
        if idx is None:
            raise HttpError(404, f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")
        return idx

    async def _h_dag_tags(self, request: Request) -> Response:
        """Airflow 3's GET /dagTags: the distinct tag names, sorted, filtered by `tag_name_pattern`."""
        params = self._params(request)
        limit, offset = self._limit(params), self._int(params, "offset", 0)
        names = sorted({t for dag in self.dags for t in dag.tags})
        if "tag_name_pattern" in params:
            found = _ilike_any(params["tag_name_pattern"][-1], self.version)
            names = [t for t in names if found(t)]
        return self._json({"tags": names[offset : offset + limit], "total_entries": len(names)})

    async def _h_dags(self, request: Request) -> Response:
        allowed = ("limit", "offset", "tags", "only_active", "paused", "order_by", "fields", "dag_id_pattern")
        params = self._params(request, allowed)
        limit, offset = self._limit(params), self._int(params, "offset", 0)
        order = params.get("order_by", ["dag_id"])
        sortable = (
            ("dag_id",)
            if self.version == "2"
            else (
                "dag_id",
                "dag_display_name",
                "last_run_start_date",
                "last_run_state",
                "start_date",
                "next_dagrun",
            )
        )
        for value in order:
            if value.lstrip("-") not in sortable:
                raise HttpError(
                    400,
                    _bad_order(value),
                )
        selected = list(range(len(self.dags)))
        tags = params.get("tags")
        if tags:
            match_all = params.get("tags_match_mode", ["any"])[-1] == "all"
            test = all if match_all else any
            selected = [d for d in selected if test(t in self.dags[d].tags for t in tags)]
        if "dag_id_pattern" in params:
            found = _ilike_any(params["dag_id_pattern"][-1], self.version)
            selected = [d for d in selected if found(self.dags[d].dag_id)]
        if "paused" in params:
            paused = params["paused"][-1].lower() == "true"
            selected = [d for d in selected if self.dags[d].is_paused == paused]
        run_states = params.get("dag_run_state")
        end_gte, end_lte = (
            self._time(params, "dag_run_end_date_gte"),
            self._time(params, "dag_run_end_date_lte"),
        )
        if run_states or end_gte is not None or end_lte is not None:
            # As Airflow 3 does: the run filters test each DAG's LATEST run only.
            selected = [d for d in selected if self._latest_run_matches(d, run_states, end_gte, end_lte)]
        for value in reversed(order):
            name, desc = value.lstrip("-"), value.startswith("-")
            if name == "last_run_start_date":
                selected.sort(key=lambda d: (self._last_start[d] is None, self._last_start[d] or 0), reverse=desc)
            else:
                selected.sort(key=lambda d: self.dags[d].dag_id, reverse=desc)
        page = selected[offset : offset + limit]
        return self._json({"dags": [self._render_dag(d) for d in page], "total_entries": len(selected)})

    def _latest_run_matches(self, dag: int, states: list[str] | None, gte: int | None, lte: int | None) -> bool:
        idx = self._latest[dag]
        if idx is None:
            return False
        run = self.runs[idx]
        if states and run.state not in states:
            return False
        if gte is None and lte is None:
            return True
        end = run.end
        return end is not None and (gte is None or end >= gte) and (lte is None or end <= lte)

    async def _h_assets(self, request: Request) -> Response:
        allowed = ["limit", "offset", "order_by", "uri_pattern"] + (["dag_ids"] if self.datasets_filter_by_dag else [])
        params = self._params(request, allowed)
        limit, offset = self._limit(params), self._int(params, "offset", 0)
        wanted = {d for raw in params.get("dag_ids", []) for d in raw.split(",") if d}
        selected = [
            (i, a)
            for i, a in enumerate(self.assets)
            if not wanted or wanted & ({d for d, _ in a.producers} | set(a.consumers))
        ]
        key = "assets" if self.version == "3" else "datasets"
        page = [self._render_asset(i, a) for i, a in selected[offset : offset + limit]]
        return self._json({key: page, "total_entries": len(selected)})

    def _render_asset(self, i: int, asset: FakeAsset) -> dict[str, Any]:
        at = _iso(self.generated_at, self.version == "3")
        consumers = [{"dag_id": d, "created_at": at, "updated_at": at} for d in asset.consumers]
        producers = [{"dag_id": d, "task_id": t, "created_at": at, "updated_at": at} for d, t in asset.producers]
        common = {"id": i + 1, "uri": asset.uri, "extra": {}, "created_at": at, "updated_at": at}
        if self.version == "2":
            return {**common, "consuming_dags": consumers, "producing_tasks": producers}
        return {
            **common,
            "name": asset.uri,
            "group": "asset",
            "scheduled_dags": consumers,
            "producing_tasks": producers,
            "consuming_tasks": [],
            "aliases": [],
            "watchers": [],
            "last_asset_event": None,
        }

    async def _h_dag(self, request: Request, dag_id: str) -> Response:
        return self._json(self._render_dag(self._dag_or_404(dag_id)))

    async def _h_run(self, request: Request, dag_id: str, run_id: str) -> Response:
        return self._json(self._render_run(self._run_or_404(dag_id, run_id)))

    _RUN_DATES_V1 = tuple(
        f"{f}_{op}" for f in ("execution_date", "start_date", "end_date", "updated_at") for op in ("gte", "lte")
    )
    _RUN_FILTERS_V1 = ("limit", "offset", *_RUN_DATES_V1, "state", "order_by", "fields")

    async def _h_runs(self, request: Request, dag_id: str) -> Response:
        params = self._params(request, self._RUN_FILTERS_V1)
        limit, offset = self._limit(params), self._int(params, "offset", 0)
        dag = None if dag_id == "~" else self._dag_or_404(dag_id)
        states = params.get("state") or None
        if states:
            for s in states:
                if s not in RUN_STATES:
                    raise HttpError(422 if self.version == "3" else 400, f"Invalid value for state: {s!r}")
        gte, lte = self._time(params, "end_date_gte"), self._time(params, "end_date_lte")
        gt, lt = self._time(params, "end_date_gt"), self._time(params, "end_date_lt")
        if gt is not None:
            gte = max(gte or 0, gt + 1)
        if lt is not None:
            lte = min(lte if lte is not None else END_MAX, lt - 1)
        logical = "logical_date" if self.version == "3" else "execution_date"
        predicates: list[Callable[[_Run], bool]] = []
        for prefix, attr in (("start_date", "start"), (logical, "logical")):
            low, high = self._time(params, f"{prefix}_gte"), self._time(params, f"{prefix}_lte")
            if low is not None:
                predicates.append(_at_least(attr, low))
            if high is not None:
                predicates.append(_at_most(attr, high))
        if "run_type" in params:
            kinds = set(params["run_type"])
            predicates.append(lambda r: r.run_type in kinds)
        order = params.get("order_by", ["id"])
        if self.version == "2":
            order = order[-1:]
        return self._list_runs(dag, states, gte, lte, predicates, order, offset, limit)

    def _list_runs(
        self,
        dag: int | None,
        states: list[str] | None,
        gte: int | None,
        lte: int | None,
        predicates: list[Callable[[_Run], bool]],
        order: list[str],
        offset: int,
        limit: int,
    ) -> Response:
        groups: list[tuple[int | None, str | None]] = [(dag, s) for s in states] if states else [(dag, None)]
        dated = gte is not None or lte is not None
        if order in (["-end_date"], ["end_date"]) and not predicates:
            total = sum(self._range_len(g, gte, lte) + (0 if dated else len(self._nulls.get(g, []))) for g in groups)
            page = self._ordered_page(groups, gte, lte, offset, limit, desc=order[0] == "-end_date")
        else:
            rows = [_decode(k) for k in self._iter_desc(groups, gte, lte)]
            if predicates:
                rows = [i for i in rows if all(p(self.runs[i]) for p in predicates)]
            total = len(rows)
            page = self._sort_runs(rows, order)[offset : offset + limit]
        return self._runs_page(page, total)

    # Body fields of the batch run list: Airflow 3.3's DAGRunsBatchBody (extra fields are a 422) and
    # Airflow 2.10's DagRunsBatchFormSchema (unknown fields are a 400).
    _RUN_BATCH_RANGES_V3 = ("run_after", "logical_date", "start_date", "end_date", "duration")
    _RUN_BATCH_V1 = ("order_by", "page_offset", "page_limit", "dag_ids", "states", *_RUN_DATES_V1)

    async def _h_runs_batch_not_tilde(self, request: Request, dag_id: str) -> Response:
        if self.version == "2":
            raise HttpError(404, "Not Found")
        raise HttpError(
            422,
            [{"type": "literal_error", "loc": ["path", "dag_id"], "msg": "Input should be '~'", "input": dag_id}],
        )

    async def _h_runs_batch(self, request: Request, dag_id: str) -> Response:
        bad = 422 if self.version == "3" else 400
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            raise HttpError(bad, "body must be a JSON object") from None
        if self.version == "3":
            known = {"order_by", "page_offset", "page_limit", "dag_ids", "states", "conf_contains"}
            known |= {f"{f}_{op}" for f in self._RUN_BATCH_RANGES_V3 for op in ("gte", "gt", "lte", "lt")}
        else:
            known = set(self._RUN_BATCH_V1)
        unknown = sorted(set(body) - known)
        if unknown:
            raise HttpError(bad, f"unknown field(s) in body: {unknown}")

        def number(name: str, default: int, low: int) -> int:
            value = body.get(name, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise HttpError(bad, f"{name} must be an integer >= {low}; got {value!r}")
            return value

        offset = number("page_offset", 0, 0)
        limit = number("page_limit", 100, 0 if self.version == "3" else 1)  # not capped by maximum_page_limit

        def when(name: str) -> int | None:
            value = body.get(name)
            if value is None:
                return None
            try:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise HttpError(bad, f"{name} must be a datetime; got {value!r}") from None
            if parsed.tzinfo is None:  # AwareDatetime (3) / validate_istimezone (2)
                raise HttpError(bad, f"{name} must carry a timezone; got {value!r}")
            return int(parsed.timestamp() * 1000)

        states = body.get("states") or None
        for state in states or []:
            if state not in RUN_STATES:
                raise HttpError(bad, f"Invalid value for state: {state!r}")
        gte, lte = when("end_date_gte"), when("end_date_lte")
        gt, lt = when("end_date_gt"), when("end_date_lt")
        if gt is not None:
            gte = max(gte or 0, gt + 1)
        if lt is not None:
            lte = min(lte if lte is not None else END_MAX, lt - 1)
        predicates: list[Callable[[_Run], bool]] = []
        dag_ids = body.get("dag_ids")
        if dag_ids:
            wanted = {self.dag_index[d] for d in dag_ids if d in self.dag_index}
            predicates.append(lambda r: r.dag in wanted)
        logical = "logical_date" if self.version == "3" else "execution_date"
        for prefix, attr in (("start_date", "start"), (logical, "logical")):
            low, high = when(f"{prefix}_gte"), when(f"{prefix}_lte")
            if low is not None:
                predicates.append(_at_least(attr, low))
            if high is not None:
                predicates.append(_at_most(attr, high))
        order = body.get("order_by") or "id"
        return self._list_runs(None, states, gte, lte, predicates, [str(order)], offset, limit)

    def _iter_desc(
        self, groups: list[tuple[int | None, str | None]], gte: int | None, lte: int | None
    ) -> Iterator[int]:
        """Encoded keys in end_date-desc order (NULL end dates first unless a date filter excludes them)."""
        dated = gte is not None or lte is not None
        nulls = [] if dated else [self._nulls.get(g, []) for g in groups]
        slices = []
        for g in groups:
            lo, hi = self._range(g, gte, lte)
            keys = self._keys.get(g, [])
            slices.append(itertools.islice(keys, lo, hi))
        key_iter: Iterator[int] = slices[0] if len(slices) == 1 else heapq.merge(*slices)
        null_iter: Iterator[int] = (
            iter(()) if not nulls else (iter(nulls[0]) if len(nulls) == 1 else heapq.merge(*nulls))
        )
        if self.nulls_first_on_desc:
            return itertools.chain(null_iter, key_iter)
        return itertools.chain(key_iter, null_iter)

    def _ordered_page(
        self,
        groups: list[tuple[int | None, str | None]],
        gte: int | None,
        lte: int | None,
        offset: int,
        limit: int,
        desc: bool,
    ) -> list[int]:
        dated = gte is not None or lte is not None
        if len(groups) == 1:  # O(log n + page): index arithmetic on one sorted list
            g = groups[0]
            lo, hi = self._range(g, gte, lte)
            keys = self._keys.get(g, [])
            nulls = [] if dated else self._nulls.get(g, [])
            parts = [(nulls, 0, len(nulls)), (keys, lo, hi - lo)]
            if not self.nulls_first_on_desc:
                parts.reverse()
            total = len(nulls) + hi - lo
            if desc:
                a, b = offset, min(total, offset + limit)
            else:
                a, b = max(0, total - offset - limit), max(0, total - offset)
            sel: list[int] = []
            base = 0
            for lst, first, length in parts:
                s, e = max(a, base), min(b, base + length)
                if s < e:
                    sel += lst[first + s - base : first + e - base]
                base += length
            out = [_decode(k) for k in sel]
            return out if desc else out[::-1]
        ordered = list(self._iter_desc(groups, gte, lte))
        if not desc:
            ordered.reverse()
        return [_decode(k) for k in ordered[offset : offset + limit]]

    def _sort_runs(self, rows: list[int], order: list[str]) -> list[int]:
        names = {
            "id": None,
            "dag_id": "dag",
            "dag_run_id": "run_id",
            "run_id": "run_id",
            "state": "state",
            "start_date": "start",
            "end_date": "end",
            "logical_date": "logical",
            "execution_date": "logical",
            "run_after": "queued",
            "updated_at": "end",
        }
        for value in order:
            if value.lstrip("-") not in names:
                raise HttpError(
                    400,
                    _bad_order(value),
                )
        rows = sorted(rows, reverse=bool(order and order[0].startswith("-")))  # primary-key tiebreaker
        for value in reversed(order):
            attr = names[value.lstrip("-")]
            if attr is None:
                rows.sort(reverse=value.startswith("-"))
                continue

            def key(i: int, a: str = attr) -> tuple[bool, Any]:
                v = getattr(self.runs[i], a)
                if a == "dag":
                    v = self.dags[v].dag_id
                return (v is None, v if v is not None else 0)

            rows.sort(key=key, reverse=value.startswith("-"))
        return rows

    def _matching_runs(self, dag_ids: list[str] | None, run_ids: list[str] | None) -> list[int]:
        if dag_ids is not None and run_ids is not None:
            out = []
            for dag_id in dag_ids:
                d = self.dag_index.get(dag_id)
                if d is None:
                    continue
                out += [i for r in run_ids if (i := self._lookup.get((d, r))) is not None]
            return sorted(set(out))
        if run_ids is not None:
            if self._by_run_id is None:
                self._by_run_id = {}
                for i, run in enumerate(self.runs):
                    self._by_run_id.setdefault(run.run_id, []).append(i)
            return sorted({i for r in run_ids for i in self._by_run_id.get(r, [])})
        if dag_ids is not None:
            ds = [self.dag_index[d] for d in dag_ids if d in self.dag_index]
            return sorted(
                _decode(k)
                for d in ds
                for k in itertools.chain(self._keys.get((d, None), []), self._nulls.get((d, None), []))
            )
        return list(range(len(self.runs)))

    def _ti_rows(self, runs: list[int], states: list[str | None] | None) -> list[tuple[int, dict[str, Any]]]:
        rows = []
        for idx in runs:
            for ti in self._tis(idx):
                if states is None or ti["state"] in states:
                    rows.append((idx, ti))
        return rows

    async def _h_tis(self, request: Request, dag_id: str, run_id: str) -> Response:
        params = self._params(request)
        limit, offset = self._limit(params), self._int(params, "offset", 0)
        if dag_id != "~" and run_id != "~":
            runs = [self._run_or_404(dag_id, run_id)]
        else:
            runs = self._matching_runs(None if dag_id == "~" else [dag_id], None if run_id == "~" else [run_id])
        states = params.get("state")
        rows = self._ti_rows(runs, [None if s in ("none", "no_status") else s for s in states] if states else None)
        page = rows[offset : offset + limit]
        return self._json({"task_instances": [self._render_ti(i, t) for i, t in page], "total_entries": len(rows)})

    async def _h_ti(self, request: Request, dag_id: str, run_id: str, task_id: str, map_index: str) -> Response:
        idx = self._run_or_404(dag_id, run_id)
        for ti in self._tis(idx):
            if ti["task_id"] == task_id and map_index in ("-1",):
                return self._json(self._render_ti(idx, ti))
        raise HttpError(404, "Task instance not found")

    async def _h_tries(self, request: Request, dag_id: str, run_id: str, task_id: str, map_index: str) -> Response:
        """Every try of a task instance: history rows for the earlier ones (Airflow records an unfinished
        try as failed when the next begins), then the current one, as Airflow 2.10+ and 3 answer."""
        idx = self._run_or_404(dag_id, run_id)
        for ti in self._tis(idx):
            if ti["task_id"] == task_id and map_index == "-1":
                tries, start, end = ti["try_number"], ti["start"], ti["end"]
                rows = []
                for n in range(1, tries):  # earlier tries share the task's time slot, in order
                    span = (end - start) // tries if start is not None and end is not None else 0
                    t0 = start + (n - 1) * span if start is not None else None
                    t1 = t0 + span - 100 if t0 is not None else None
                    earlier = {**ti, "state": "failed", "try_number": n, "start": t0, "end": t1}
                    rows.append(self._render_ti(idx, earlier))
                rows.append(self._render_ti(idx, ti))
                return self._json({"task_instances": rows, "total_entries": len(rows)})
        raise HttpError(404, "Task instance not found")

    async def _h_ti_batch(self, request: Request, dag_id: str, run_id: str) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            raise HttpError(422 if self.version == "3" else 400, "body must be a JSON object") from None
        known = {
            "dag_ids",
            "dag_run_ids",
            "task_ids",
            "state",
            "page_offset",
            "page_limit",
            "order_by",
            "pool",
            "queue",
            "executor",
        }
        if self.version == "2":
            known -= {"order_by"}
        unknown = sorted(k for k in body if k not in known and not k.endswith(("_gte", "_lte", "_gt", "_lt")))
        if unknown:
            raise HttpError(422 if self.version == "3" else 400, f"unknown field(s) in body: {unknown}")
        dag_ids = body.get("dag_ids") if dag_id == "~" else [dag_id]
        run_ids = body.get("dag_run_ids") if run_id == "~" else [run_id]
        runs = self._matching_runs(dag_ids, run_ids)
        states = body.get("state")
        task_ids = body.get("task_ids")
        rows = self._ti_rows(runs, states)
        if task_ids is not None:
            rows = [(i, t) for i, t in rows if t["task_id"] in task_ids]
        order = body.get("order_by")
        if order:
            name, desc = order.lstrip("-"), order.startswith("-")
            if name not in ("id", "state", "duration", "start_date", "end_date", "map_index"):
                raise HttpError(
                    400, f"Ordering with '{name}' is disallowed or the attribute does not exist on the model"
                )
            attr = {"start_date": "start", "end_date": "end"}.get(name)
            if attr:
                rows.sort(key=lambda it: (it[1][attr] is None, it[1][attr] or 0), reverse=desc)
        limit = int(body.get("page_limit", 100))
        if self.cap_batch_page_limit:
            limit = min(limit, self.max_page_limit)
        offset = int(body.get("page_offset", 0))
        page = rows[offset : offset + limit]
        return self._json({"task_instances": [self._render_ti(i, t) for i, t in page], "total_entries": len(rows)})

    async def _h_log(self, request: Request, dag_id: str, run_id: str, task_id: str, try_raw: str) -> Response:
        idx = self._run_or_404(dag_id, run_id)
        ti = next((t for t in self._tis(idx) if t["task_id"] == task_id), None)
        if ti is None:
            raise HttpError(404, "TaskInstance not found")
        try:
            try_number = int(try_raw)
        except ValueError:
            raise HttpError(422 if self.version == "3" else 400, "try_number must be an integer") from None
        if try_number < 1 or try_number > max(1, ti["try_number"]):
            raise HttpError(404, f"Log for try {try_number} not found")
        lines = self._log_lines(idx, ti, try_number)
        accept = request.headers.get("accept", "")
        base = self.runs[idx].start or 0
        z = self.version == "3"
        if self.version == "3":
            records = [
                {
                    "timestamp": _iso(base + i * 10, z),
                    "event": line,
                    "level": "error" if "Error" in line or "Traceback" in line else "info",
                    "logger": "airflow.task",
                }
                for i, line in enumerate(lines)
            ]
            if not accept.startswith(("*/*", "application/x-ndjson", "application/json")) and accept:
                raise HttpError(406, "Only application/x-ndjson or application/json is supported")
            if accept.startswith("application/x-ndjson"):
                text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
                return StreamingResponse(_chunks(text.encode()), media_type="application/x-ndjson")
            return self._json({"content": records, "continuation_token": None})
        stamped = [
            f"[{datetime.fromtimestamp((base + i * 10) / 1000, UTC):%Y-%m-%d, %H:%M:%S} UTC] "
            f"{{taskinstance.py:{1200 + i}}} {'ERROR' if 'Error' in line else 'INFO'} - {line}"
            for i, line in enumerate(lines)
        ]
        text = "\n".join(stamped) + "\n"
        if "text/plain" in accept:
            return StreamingResponse(_chunks(text.encode()), media_type="text/plain")
        return self._json({"content": text, "continuation_token": _b64(b"end")})

    async def _h_clear(self, request: Request, dag_id: str) -> Response:
        d = self._dag_or_404(dag_id)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise HttpError(422 if self.version == "3" else 400, "body must be JSON") from None
        run_id = body.get("dag_run_id")
        if not run_id:
            raise HttpError(400, "this fake clears by dag_run_id only")
        idx = self._lookup.get((d, run_id))
        if idx is None:
            raise HttpError(404, f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")
        only_failed = bool(body.get("only_failed", True))
        dry_run = bool(body.get("dry_run", True))
        task_ids = body.get("task_ids")
        tis = [
            t
            for t in self._tis(idx)
            if (not only_failed or t["state"] in ("failed", "upstream_failed"))
            and (task_ids is None or t["task_id"] in task_ids)
        ]
        rendered = [self._render_ti(idx, t) for t in tis]
        if not dry_run:
            for t in tis:
                self._ti_state[(idx, t["task_id"])] = None
                if self.version == "3" and body.get("note"):
                    self._ti_note[(idx, t["task_id"])] = str(body["note"])
            if body.get("reset_dag_runs", True):
                self.set_run_state(idx, "queued", None)
            self.cleared.append({"dag_id": dag_id, "run_id": run_id, "task_ids": [t["task_id"] for t in tis]})
        if self.version == "2":
            refs = [
                {
                    "task_id": t["task_id"],
                    "dag_id": t["dag_id"],
                    "dag_run_id": t["dag_run_id"],
                    "execution_date": _iso(self.runs[idx].logical, False),
                }
                for t in rendered
            ]
            return self._json({"task_instances": refs})
        return self._json({"task_instances": rendered, "total_entries": len(rendered)})

    async def _h_trigger(self, request: Request, dag_id: str) -> Response:
        d = self._dag_or_404(dag_id)
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            raise HttpError(422 if self.version == "3" else 400, "body must be a JSON object") from None
        if self.version == "3" and "logical_date" not in body:
            raise HttpError(422, [{"type": "missing", "loc": ["body", "logical_date"], "msg": "Field required"}])
        conf = body.get("conf") or {}
        if not isinstance(conf, dict):
            raise HttpError(422 if self.version == "3" else 400, "conf must be an object")
        now_ms = int(self.now() * 1000)
        logical_raw = body.get("logical_date") or body.get("execution_date")
        logical = _parse_ms(logical_raw) if logical_raw else (None if self.version == "3" else now_ms)
        run_id = body.get("dag_run_id") or f"manual__{_iso(now_ms, False)}"
        if (d, run_id) in self._lookup:
            detail = (
                f"DAG Run with id {run_id!r} already exists"
                if self.version == "2"
                else (f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` already exists")
            )
            raise HttpError(409, detail)
        idx = self._insert(_Run(d, run_id, "manual", "queued", logical, now_ms, None, None, -1, conf, body.get("note")))
        self.triggered.append({"dag_id": dag_id, "run_id": run_id, "conf": conf})
        return self._json(self._render_run(idx))

    # -- serving ----------------------------------------------------------------------------------

    def transport(self) -> FaultTransport:
        return FaultTransport(self)

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve over real HTTP on 127.0.0.1 (random port) from a background thread; yields the base URL."""
        import uvicorn

        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP;
        # without it Nagle + delayed ACK add ~40 ms to every small response.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="error", lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Airflow server did not start")
            time.sleep(0.005)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


_PUBLIC = frozenset({"GET /version", "GET /health", "GET /monitor/health", "POST /auth/token"})


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), LOG_CHUNK):
        yield data[i : i + LOG_CHUNK]


class _AbortResponse(Response):
    """Sends the response head promising a body, then fails: the server drops the connection."""

    def __init__(self) -> None:
        super().__init__(b"", 200, media_type="application/json")
        self.headers["content-length"] = "1024"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        raise _Dropped("connection dropped by FakeAirflow.drop_next")


class FaultTransport(httpx.AsyncBaseTransport):
    """In-process transport to a FakeAirflow: connection drops become httpx.ConnectError; time is measured."""

    def __init__(self, fake: FakeAirflow) -> None:
        self.fake = fake
        self.inner = httpx.ASGITransport(app=fake.app)
        self.time_s = 0.0
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        began = time.perf_counter()
        self.calls += 1
        try:
            raw_path = request.url.raw_path.decode("latin-1").split("?", 1)[0]
            if self.fake._take_fault(raw_path, "drop"):
                self.fake.dropped += 1
                self.fake.total_requests += 1
                self.fake.path_counts[raw_path] += 1
                raise httpx.ConnectError("connection refused (FakeAirflow.drop_next)", request=request)
            lose = self.fake._take_fault(raw_path, "lose")
            response = await self.inner.handle_async_request(request)
            await response.aread()
            if lose:
                raise httpx.ReadTimeout("the answer was lost (FakeAirflow.lose_answer_next)", request=request)
            return response
        finally:
            self.time_s += time.perf_counter() - began


class HostRouter(httpx.AsyncBaseTransport):
    """Routes requests by host name, so one Runtime reaches several in-process fakes (one per environment)."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self.routes.get(request.url.host)
        if target is None:
            raise httpx.ConnectError(f"no fake serves host {request.url.host!r}", request=request)
        return await target.handle_async_request(request)


def main(argv: list[str] | None = None) -> None:
    """Run a generated fake in its own process; prints one JSON line with its URL, then serves."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", choices=("2", "3"), default="3")
    parser.add_argument("--dags", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--failed-last-hour", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-page-limit", type=int, default=100)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    fake = FakeAirflow.generate(
        args.dags,
        args.runs,
        args.failed_last_hour,
        args.seed,
        version=args.version,
        max_page_limit=args.max_page_limit,
    )
    generated = time.perf_counter() - began
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    info = {
        "url": f"http://127.0.0.1:{port}",
        "generated_in_s": round(generated, 3),
        "runs": len(fake.runs),
        "generated_at": fake.generated_at,
    }
    print(json.dumps(info), flush=True)
    server = uvicorn.Server(uvicorn.Config(fake.app, log_level="error", lifespan="off", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
