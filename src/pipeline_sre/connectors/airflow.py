"""Airflow REST connector: API v2 (Airflow 3, JWT) and v1 (Airflow 2, basic auth), chosen by detection.

Detection lists use the cross-DAG endpoints (`/dags/~/dagRuns`) with offset pagination so totals are
exact. A whole detection window is read through the batch list (`POST /dags/~/dagRuns/list`), whose
`page_limit` the server does not cap, so 5,000 failed runs cost one request instead of 50 pages; a
server without it is walked with bounded concurrent GET pages. Every failure becomes a typed error
that names the environment and URL; nothing from httpx leaks out.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import quote

import httpx

from pipeline_sre.connectors.retry import NOT_SENT, SERVER_BUSY, RetryPolicy, Transient, failure_of, retrying_for
from pipeline_sre.errors import BackendInvalidResponse, BackendRefused, BackendUnavailable, NotFound
from pipeline_sre.models import DagRun, Page, TaskInstance, iso
from pipeline_sre.settings.config import AirflowConnection

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TOKEN_REFRESH_MARGIN_S = 60.0
USER_AGENT = "pipeline-sre/0.1"
MAX_LINE_BYTES = 20_000  # one hostile 50 MB line must not be held whole
# Runs per POST /dags/~/dagRuns/list. `[api] maximum_page_limit` caps only the GET `limit`, not this body
# field (Airflow 2 and 3), so one request carries a whole detection window: ~0.9 KB a run, 4.5 MB at 5,000
# (also under MWAA InvokeRestApi's answer size limit).
BATCH_PAGE_LIMIT = 5000
# Pages in flight while a window is read. The api-server has one worker by default: two batch pages at once
# overlap one's transfer and parsing with the other's rendering; small GET pages gain up to ~4 (bench_detect).
SCAN_CONCURRENCY = 2
GET_PAGE_CONCURRENCY = 4
WINDOW_CACHE_SECONDS = 300.0  # a window read is topped up (not re-read) by a later call within this time


def _q(part: str) -> str:
    """Path segments are encoded whole: run ids carry ':', '+' and sometimes '/'."""
    return quote(part, safe="")


async def capped_lines(chunks: AsyncIterator[bytes], cap: int = MAX_LINE_BYTES) -> AsyncIterator[str]:
    """Split a byte stream into lines, decoding with replacement and cutting any line at `cap` bytes."""
    buf = b""
    skipping = False  # inside an over-long line whose head was already yielded
    async for chunk in chunks:
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > cap:
                    if not skipping:
                        yield buf[:cap].decode("utf-8", "replace") + " …[line cut]"
                    skipping, buf = True, b""
                break
            line, buf = buf[:nl], buf[nl + 1 :]
            if not skipping:
                yield line[:cap].decode("utf-8", "replace").rstrip("\r")
            skipping = False
    if buf and not skipping:
        yield buf[:cap].decode("utf-8", "replace")


def _jwt_expiry(token: str) -> float | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def _tags_of(data: Any, where: str) -> dict[str, list[str]]:
    return {
        str(d.get("dag_id")): [t["name"] if isinstance(t, dict) else str(t) for t in d.get("tags") or []]
        for d in _listing(data, "dags", where)
    }


def _listing(data: Any, key: str, where: str) -> list[dict[str, Any]]:
    """The list an Airflow collection answer holds under `key`. An answer without it (a proxy's login page
    as JSON, a different API) is an error, never an empty list that would read as "nothing failed"."""
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BackendInvalidResponse(f"{where} answered without a {key!r} list: not the Airflow API it should be")
    return items


def _ti_path(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """A task instance's route; a mapped one adds its index."""
    path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
    return path if map_index < 0 else f"{path}/{map_index}"


@dataclass(frozen=True, slots=True)
class AssetLink:
    """`consumer` is scheduled on `asset`, which a task of `producer` updates."""

    producer: str
    asset: str
    consumer: str


def _dag_refs(refs: Any) -> list[str] | None:
    """The `dag_id`s of an asset's task or DAG references; None when they are not the API's shape."""
    if not isinstance(refs, list) or not all(isinstance(r, dict) and isinstance(r.get("dag_id"), str) for r in refs):
        return None
    return [str(r["dag_id"]) for r in refs]


def _asset_links(item: dict[str, Any], consumers_key: str, producers: list[str], where: str) -> list[AssetLink]:
    uri = item.get("uri")
    made_by, used_by = _dag_refs(item.get("producing_tasks")), _dag_refs(item.get(consumers_key))
    if not isinstance(uri, str) or made_by is None or used_by is None:
        raise BackendInvalidResponse(
            f"{where} described an asset without a uri, producing_tasks and {consumers_key}: not the Airflow API"
        )
    return [AssetLink(p, uri, c) for p in sorted(set(made_by) & set(producers)) for c in sorted(set(used_by))]


def _newest_first(run: DagRun) -> tuple[datetime, str, str]:
    return (run.end_date or datetime.min.replace(tzinfo=UTC), run.dag_id, run.run_id)


async def _bounded(n: int, jobs: Iterable[Callable[[], Awaitable[Page]]]) -> list[Page]:
    """Run the jobs with at most `n` in flight; results in job order."""
    gate = asyncio.Semaphore(max(1, n))

    async def one(job: Callable[[], Awaitable[Page]]) -> Page:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))


@dataclass(slots=True)
class _WindowRead:
    """The runs of one window read, kept so a later call within WINDOW_CACHE_SECONDS only tops it up."""

    states: tuple[str, ...]
    start: datetime
    end: datetime
    runs: dict[tuple[str, str], DagRun]
    at: float  # time.monotonic() of the read


@runtime_checkable
class DescribesCalls(Protocol):
    """A transport that does not carry Airflow's REST request as it is says what it sends instead."""

    def describe_call(self, request: dict[str, Any], version: Literal["2", "3"]) -> dict[str, Any]: ...


class AirflowClient:
    def __init__(
        self,
        environment: str,
        conn: AirflowConnection,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.25,
    ) -> None:
        self.environment = environment
        self.conn = conn
        self.base_url = conn.url
        self.ui_url = conn.ui_url or conn.url
        self.version: Literal["2", "3"] | None = None if conn.version == "auto" else conn.version
        self.request_count = 0
        self._backoff_base = backoff_base
        self._transport = transport
        self._token: str | None = conn.secret("token_env")
        self._static_token = self._token is not None
        self._token_expiry: float | None = None
        self._username = conn.secret("username_env")
        self._password = conn.secret("password_env")
        self._auth_lock = asyncio.Lock()
        self._batch_runs: bool | None = None  # POST /dags/~/dagRuns/list served? (None: not tried yet)
        self._window: _WindowRead | None = None
        self._http = httpx.AsyncClient(
            base_url=conn.url,
            timeout=httpx.Timeout(conn.timeout_seconds, connect=min(conn.timeout_seconds, 5.0)),
            verify=conn.verify_tls,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing -------------------------------------------------------------------------------

    async def detected_version(self) -> Literal["2", "3"]:
        await self._ensure_version()
        assert self.version is not None
        return self.version

    @property
    def api(self) -> str:
        return "/api/v2" if self.version == "3" else "/api/v1"

    def _where(self) -> str:
        return f"Airflow in environment '{self.environment}' ({self.base_url})"

    async def _send(
        self, request: httpx.Request, *, stream: bool = False, safe_to_repeat: bool | None = None
    ) -> httpx.Response:
        """Send under the retry policy (`connectors/retry.py`): connection errors and 5xx, never 4xx.

        A write (POST, PATCH) is retried only when it cannot have reached Airflow (the connection was never
        made): after a timeout or a 5xx it may have taken effect, and sending it again could clear a task a
        second time. Its caller (governance) then looks in Airflow for the effect instead. A read sent as
        POST (a token, a list with a body) says `safe_to_repeat`."""
        repeatable = request.method in IDEMPOTENT_METHODS if safe_to_repeat is None else safe_to_repeat

        async def attempt() -> httpx.Response:
            self.request_count += 1
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as err:
                what = failure_of(err, self.conn.timeout_seconds)
                if repeatable or isinstance(err, NOT_SENT):
                    raise Transient(what) from None
                raise BackendUnavailable(self._write_unknown(request, what)) from None
            if response.status_code in SERVER_BUSY:
                await response.aclose()
                what = f"HTTP {response.status_code}"
                if repeatable:
                    raise Transient(what)
                raise BackendUnavailable(self._write_unknown(request, what))
            return response

        return await retrying_for(self._where(), attempt, RetryPolicy.of(self.conn.max_retries, self._backoff_base))

    def _write_unknown(self, request: httpx.Request, what: str) -> str:
        return (
            f"{self._where()} did not confirm {request.method} {request.url.path} ({what}); it was sent once and "
            "not repeated, because it may have taken effect"
        )

    async def _ensure_version(self) -> None:
        if self.version is not None:
            return
        async with self._auth_lock:
            if self.version is not None:
                return
            # A successful /auth/token both detects Airflow 3 and authenticates, in one request.
            if self._username and not self._static_token and await self._fetch_token(detecting=True):
                self.version = "3"
                return
            for version, path in (("3", "/api/v2/version"), ("2", "/api/v1/version")):
                response = await self._send(self._http.build_request("GET", path, headers=self._auth_header()))
                await response.aclose()
                if response.status_code < 400 or response.status_code in (401, 403):
                    self.version = "3" if version == "3" else "2"
                    return
            raise BackendRefused(f"{self._where()} exposes neither /api/v2 nor /api/v1: is the URL right?")

    async def _fetch_token(self, detecting: bool = False) -> bool:
        response = await self._send(
            self._http.build_request(
                "POST", "/auth/token", json={"username": self._username, "password": self._password}
            ),
            safe_to_repeat=True,  # a second token is harmless
        )
        if detecting and response.status_code in (404, 405):
            return False
        if response.status_code >= 400:
            raise BackendRefused(
                f"{self._where()} refused the credentials from "
                f"{self.conn.username_env}/{self.conn.password_env}: HTTP {response.status_code}"
            )
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise BackendRefused(f"{self._where()} returned no access_token from /auth/token")
        self._token = token
        self._token_expiry = _jwt_expiry(token)
        return True

    def _auth_header(self) -> dict[str, str]:
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        if self._username and self._password is not None:
            raw = f"{self._username}:{self._password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    async def _ensure_auth(self) -> None:
        if self.version != "3" or self._static_token or not self._username:
            return
        expiring = self._token_expiry is not None and self._token_expiry - time.time() < TOKEN_REFRESH_MARGIN_S
        if self._token is None or expiring:
            async with self._auth_lock:
                still = self._token_expiry is not None and self._token_expiry - time.time() < TOKEN_REFRESH_MARGIN_S
                if self._token is None or still:
                    await self._fetch_token()

    @asynccontextmanager
    async def _open(
        self, method: str, path: str, *, params: Any = None, json_body: Any = None, accept: str | None = None
    ) -> AsyncIterator[httpx.Response]:
        await self._ensure_version()
        await self._ensure_auth()
        headers = {"Accept": accept} if accept else {}
        for refreshed in (False, True):
            request = self._http.build_request(
                method,
                self.api + path,
                params=params,
                json=json_body,
                headers={**headers, **self._auth_header()},
            )
            response = await self._send(request, stream=True)
            can_refresh = not refreshed and not self._static_token and self.version == "3" and self._username
            if can_refresh and await self._token_rejected(response):
                await response.aclose()
                async with self._auth_lock:
                    await self._fetch_token()
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return

    async def _token_rejected(self, response: httpx.Response) -> bool:
        """401, or Airflow 3's 403 "Invalid JWT token" after its signing secret changed."""
        if response.status_code == 401:
            return True
        if response.status_code != 403:
            return False
        await self._read(response)
        return "invalid jwt" in response.text.lower()

    async def _read(self, response: httpx.Response) -> None:
        """Body reads fail like connections do; they become the same typed error."""
        try:
            await response.aread()
        except httpx.TransportError as err:
            raise BackendUnavailable(f"{self._where()} broke off its answer: {type(err).__name__}") from None

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        not_found: str | None = None,
        absent: tuple[int, ...] = (),
    ) -> Any:
        """The decoded JSON answer; None when the status is one of `absent` (a route the server lacks)."""
        async with self._open(method, path, params=params, json_body=json_body) as response:
            await self._read(response)
            if response.status_code in absent:
                return None
            self._raise_for_status(response, not_found)
            try:
                return response.json()
            except ValueError:
                raise BackendUnavailable(f"{self._where()} returned a non-JSON answer for {path}") from None

    def _raise_for_status(self, response: httpx.Response, not_found: str | None) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 404 and not_found:
            raise NotFound(f"{not_found} in environment '{self.environment}'")
        detail = ""
        try:
            body = response.json()
            detail = str(body.get("detail") or body.get("title") or "")[:300] if isinstance(body, dict) else ""
        except ValueError:
            pass
        hint = {401: "check the credentials", 403: "the user lacks permission"}.get(status, "")
        text = f"{self._where()} refused the request: HTTP {status}"
        raise BackendRefused("; ".join(p for p in (text, detail, hint) if p))

    # -- reads ----------------------------------------------------------------------------------

    async def list_dag_runs(
        self,
        *,
        dag_id: str = "~",
        states: Iterable[str] = ("failed",),
        end_gte: datetime | None = None,
        end_lte: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
        order_by: str = "-end_date",
    ) -> Page:
        limit = limit or self.conn.page_size
        if order_by == "-run_after" and await self.detected_version() == "2":
            order_by = "-execution_date"
        params: list[tuple[str, str | int]] = [("limit", limit), ("offset", offset), ("order_by", order_by)]
        params += [("state", s) for s in states]
        if end_gte:
            params.append(("end_date_gte", iso(end_gte) or ""))
        if end_lte:
            params.append(("end_date_lte", iso(end_lte) or ""))
        what = f"DAG {dag_id!r}" if dag_id != "~" else None
        data = await self._json("GET", f"/dags/{_q(dag_id)}/dagRuns", params=params, not_found=what)
        runs = [DagRun.from_api(r) for r in _listing(data, "dag_runs", self._where())]
        return Page(items=runs, total=int(data.get("total_entries") or len(runs)), offset=offset, page_size=limit)

    async def list_dag_runs_batch(
        self,
        *,
        states: Iterable[str] = ("failed",),
        end_gte: datetime | None = None,
        end_lte: datetime | None = None,
        offset: int = 0,
        limit: int = BATCH_PAGE_LIMIT,
        order_by: str = "id",
        dag_ids: Sequence[str] = (),
    ) -> Page | None:
        """One page of `POST /dags/~/dagRuns/list` (Airflow 2.1+ and 3), or None when the server has no
        such route (404/405 before it ever answered one)."""
        body: dict[str, Any] = {"page_offset": offset, "page_limit": max(1, limit)}
        if order_by != "id":  # the primary key is both versions' default order, and 2.0 has no order_by field
            body["order_by"] = order_by
        if dag_ids:
            body["dag_ids"] = list(dag_ids)
        wanted = list(states)
        if wanted:
            body["states"] = wanted
        if end_gte:
            body["end_date_gte"] = iso(end_gte)
        if end_lte:
            body["end_date_lte"] = iso(end_lte)
        absent = (404, 405) if self._batch_runs is not True else ()
        data = await self._json("POST", "/dags/~/dagRuns/list", json_body=body, absent=absent)
        if data is None:
            self._batch_runs = False
            return None
        self._batch_runs = True
        runs = [DagRun.from_api(r) for r in data.get("dag_runs", [])]
        return Page(items=runs, total=int(data.get("total_entries") or len(runs)), offset=offset, page_size=limit)

    async def _batch_page(
        self,
        states: tuple[str, ...],
        start: datetime,
        end: datetime,
        offset: int,
        limit: int,
        dag_ids: Sequence[str] = (),
    ) -> Page:
        page = await self.list_dag_runs_batch(
            states=states, end_gte=start, end_lte=end, offset=offset, limit=limit, dag_ids=dag_ids
        )
        if page is None:
            raise BackendRefused(f"{self._where()} no longer serves POST {self.api}/dags/~/dagRuns/list")
        return page

    async def runs_ending_between(
        self,
        start: datetime,
        end: datetime,
        *,
        states: tuple[str, ...] = ("failed",),
        max_runs: int = 50_000,
        method: Literal["auto", "pages"] = "auto",
        page_limit: int = BATCH_PAGE_LIMIT,
        concurrency: int | None = None,
        reuse: bool = True,
        head: int | None = None,
    ) -> Page:
        """Every run in `states` that ended in [start, end] (to the second), newest first, and the server's
        exact total; at most `max_runs` are read.

        With `head`, on Airflow 3, the first request asks for the `head` runs that ended last; when the window
        holds more, only that head comes back (`extra["complete"]` False, the total still exact), for a caller
        that reads the rest narrowly (`runs_of_dags_ending_between`) instead of paying for every run.

        Through the batch list: one request up to `page_limit` runs, further pages `concurrency` (default
        SCAN_CONCURRENCY) at a time, ordered by id, an order that later inserts cannot shift. A server without
        the batch list (or `method="pages"`) is read by GET pages at its own page size, GET_PAGE_CONCURRENCY
        at a time. Within WINDOW_CACHE_SECONDS of a complete read of a window that starts no later, only the
        runs that ended since are fetched, together with one count that proves the merged set exact;
        otherwise, or when the count disagrees (a run was cleared or re-run), the window is read again.
        """
        start, end = start.replace(microsecond=0), end.replace(microsecond=0)  # what the filters carry
        if reuse and method == "auto":
            topped = await self._top_up(start, end, states)
            if topped is not None:
                return topped
        page = None
        if (
            head is not None
            and method == "auto"
            and self._batch_runs is not False
            and await self.detected_version() == "3"
        ):
            page = await self._read_head(start, end, states, head)
        if page is None:
            page = await self._read_window(start, end, states, max_runs, method, page_limit, concurrency)
        page.extra["complete"] = len(page.items) >= page.total
        if page.extra["complete"]:
            runs = {(r.dag_id, r.run_id): r for r in page.items}
            self._window = _WindowRead(states, start, end, runs, time.monotonic())
        return page

    async def _read_head(self, start: datetime, end: datetime, states: tuple[str, ...], head: int) -> Page | None:
        first = await self.list_dag_runs_batch(
            states=states, end_gte=start, end_lte=end, limit=head, order_by="-end_date"
        )
        if first is None:
            return None
        items = sorted(first.items, key=_newest_first, reverse=True)  # ties in end_date in one fixed order
        return Page(items=items, total=first.total, offset=0, page_size=head, extra={"strategy": "head"})

    async def runs_of_dags_ending_between(
        self, dag_ids: Sequence[str], start: datetime, end: datetime, *, states: tuple[str, ...] = ("failed",)
    ) -> list[DagRun]:
        """Every run of the named DAGs in `states` that ended in [start, end], newest first: exact counts for
        the few DAGs an answer shows when the window is too large to read whole."""
        if not dag_ids:
            return []
        start, end = start.replace(microsecond=0), end.replace(microsecond=0)
        runs: dict[tuple[str, str], DagRun] = {}
        offset, total = 0, 1
        while offset < total:
            page = await self._batch_page(states, start, end, offset, BATCH_PAGE_LIMIT, dag_ids)
            runs.update(((r.dag_id, r.run_id), r) for r in page.items)
            if not page.items:
                break
            offset, total = offset + len(page.items), page.total
        return sorted(runs.values(), key=_newest_first, reverse=True)

    async def _read_window(
        self,
        start: datetime,
        end: datetime,
        states: tuple[str, ...],
        max_runs: int,
        method: Literal["auto", "pages"],
        page_limit: int,
        concurrency: int | None,
    ) -> Page:
        first = None
        if method == "auto" and self._batch_runs is not False:
            first = await self.list_dag_runs_batch(states=states, end_gte=start, end_lte=end, limit=page_limit)
        strategy = "batch" if first is not None else "pages"
        if first is None:
            first = await self.list_dag_runs(states=states, end_gte=start, end_lte=end, order_by="id")
        # The server may cap the page below what was asked for: page by what it actually returned.
        step = max(1, len(first.items))

        def job(offset: int) -> Callable[[], Awaitable[Page]]:
            if strategy == "batch":
                return lambda: self._batch_page(states, start, end, offset, step)
            return lambda: self.list_dag_runs(
                states=states, end_gte=start, end_lte=end, offset=offset, limit=step, order_by="id"
            )

        offsets = range(len(first.items), min(first.total, max_runs), step)
        width = concurrency or (SCAN_CONCURRENCY if strategy == "batch" else GET_PAGE_CONCURRENCY)
        pages = await _bounded(width, (job(o) for o in offsets)) if first.items else []
        # A run that leaves or re-enters the window during a read of several pages shifts the later ones:
        # a run may come twice (kept once) or be missed. The total stays the server's, and a read whose runs
        # fall short of it is not kept for a top-up.
        unique = {(r.dag_id, r.run_id): r for p in (first, *pages) for r in p.items}
        runs = sorted(unique.values(), key=_newest_first, reverse=True)
        return Page(
            items=runs,
            total=first.total,
            offset=0,
            page_size=step,
            requests=1 + len(pages),
            extra={"strategy": strategy},
        )

    async def _top_up(self, start: datetime, end: datetime, states: tuple[str, ...]) -> Page | None:
        held = self._window
        if held is None or held.states != states or not self._batch_runs:
            return None
        if time.monotonic() - held.at > WINDOW_CACHE_SECONDS or start < held.start or end < held.end:
            return None
        fresh, count = await asyncio.gather(
            self._batch_page(states, held.end, end, 0, BATCH_PAGE_LIMIT),
            self._batch_page(states, start, end, 0, 1),
        )
        if len(fresh.items) < fresh.total:
            return None
        runs = {k: r for k, r in held.runs.items() if r.end_date is not None and r.end_date >= start}
        runs.update(((r.dag_id, r.run_id), r) for r in fresh.items)
        if len(runs) != count.total:
            return None
        # `at` stays the time of the full read: the window is read whole again at least that often.
        self._window = _WindowRead(states, start, end, runs, held.at)
        items = sorted(runs.values(), key=_newest_first, reverse=True)
        return Page(
            items=items, total=count.total, offset=0, page_size=len(items), requests=2, extra={"strategy": "top-up"}
        )

    async def get_dag_run(self, dag_id: str, run_id: str) -> DagRun:
        data = await self._json(
            "GET",
            f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}",
            not_found=f"no run {run_id!r} of DAG {dag_id!r}",
        )
        return DagRun.from_api(data)

    async def find_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        try:
            return await self.get_dag_run(dag_id, run_id)
        except NotFound:
            return None

    async def get_dag(self, dag_id: str) -> dict[str, Any]:
        data = await self._json("GET", f"/dags/{_q(dag_id)}", not_found=f"no DAG {dag_id!r}")
        return dict(data)

    async def dag_tags(self, dag_id: str) -> list[str]:
        dag = await self.get_dag(dag_id)
        return [t["name"] if isinstance(t, dict) else str(t) for t in dag.get("tags") or []]

    async def tags_of_failing_dags(self, end_gte: datetime) -> dict[str, list[str]]:
        """Tags of DAGs with a failed run ending after `end_gte`: ONE page each (the server's limit), so a
        detection stays within its request budget. Config globs are the primary source of tiers; these tags
        only fill in, and `tags_of` looks up the failing DAGs these pages missed.

        Airflow 3 filters `dag_run_state` on each DAG's LATEST run, so a DAG that failed and has run again
        since is not in that page; a second page, read at the same time, lists the DAGs that started a run
        most recently, which is where a rerun or a DAG running again after its failure is."""
        base: list[tuple[str, str | int]] = [("limit", self.conn.page_size)]
        if await self.detected_version() != "3":
            return _tags_of(await self._json("GET", "/dags", params=base), self._where())
        recent = [*base, ("order_by", "-last_run_start_date")]
        failed, started = await asyncio.gather(
            self._json(
                "GET", "/dags", params=[*recent, ("dag_run_state", "failed"), ("dag_run_end_date_gte", iso(end_gte))]
            ),
            self._json("GET", "/dags", params=recent),
        )
        return {**_tags_of(started, self._where()), **_tags_of(failed, self._where())}

    async def dags_by_name_or_tag(
        self, name_parts: Sequence[str], tag_parts: Sequence[str], *, max_dags: int
    ) -> dict[str, list[str]] | None:
        """Tags of every DAG whose id contains one of `name_parts` or that carries a tag containing one of
        `tag_parts` (Airflow 3: the server matches case-insensitively, `_` and `%` as LIKE wildcards, so this is
        a superset the caller narrows), or None when more than `max_dags` DAGs match. An empty part matches
        every DAG."""
        if await self.detected_version() != "3":
            raise BackendRefused(f"{self._where()}: DAGs are looked up by name and tag on Airflow 3 only")
        too_many = False

        async def listed(query: list[tuple[str, str | int]]) -> dict[str, list[str]]:
            nonlocal too_many
            found: dict[str, list[str]] = {}
            offset = 0
            while not too_many:
                params = [*query, ("limit", self.conn.page_size), ("offset", offset)]
                data = await self._json("GET", "/dags", params=params)
                page = _tags_of(data, self._where())
                total = int(data.get("total_entries") or 0)
                too_many = too_many or total > max_dags
                found |= page
                offset += len(page)
                if not page or offset >= total:
                    break
            return found

        async def by_name() -> dict[str, list[str]]:
            return await listed([("dag_id_pattern", "|".join(name_parts))]) if name_parts else {}

        async def by_tag() -> dict[str, list[str]]:
            if not tag_parts:
                return {}
            names = await self._json(
                "GET", "/dagTags", params={"tag_name_pattern": "|".join(tag_parts), "limit": self.conn.page_size}
            )
            tags = [str(t) for t in (names.get("tags") if isinstance(names, dict) else None) or []]
            if isinstance(names, dict) and int(names.get("total_entries") or 0) > len(tags):
                nonlocal too_many
                too_many = True  # more matching tag names than a page: counted the slow way, never half
                return {}
            return await listed([*(("tags", t) for t in tags), ("tags_match_mode", "any")]) if tags else {}

        named, tagged = await asyncio.gather(by_name(), by_tag())
        return None if too_many else named | tagged

    async def tags_of(self, dag_ids: Sequence[str], *, concurrency: int = 4) -> dict[str, list[str]]:
        """Tags of a few named DAGs, one request each, `concurrency` at a time; a DAG gone since is left out."""
        if not dag_ids:
            return {}
        gate = asyncio.Semaphore(concurrency)

        async def one(dag_id: str) -> tuple[str, list[str]] | None:
            async with gate:
                try:
                    dag = await self.get_dag(dag_id)
                except NotFound:
                    return None
            return dag_id, [t["name"] if isinstance(t, dict) else str(t) for t in dag.get("tags") or []]

        found = await asyncio.gather(*(one(d) for d in dag_ids))
        return dict(f for f in found if f is not None)

    async def downstream_dags(self, dag_id: str) -> list[str]:
        """DAGs scheduled on assets this DAG produces (Airflow 3's asset graph): the blast radius."""
        if await self.detected_version() != "3":
            raise BackendRefused(f"{self._where()}: the asset graph is read on Airflow 3 only")
        data = await self._json("GET", "/assets", params={"dag_ids": dag_id, "limit": self.conn.page_size})
        consumers: set[str] = set()
        for asset in _listing(data, "assets", self._where()):
            producers = {t.get("dag_id") for t in asset.get("producing_tasks") or [] if isinstance(t, dict)}
            if dag_id in producers:
                consumers |= {str(d.get("dag_id")) for d in asset.get("scheduled_dags") or [] if isinstance(d, dict)}
        consumers.discard(dag_id)
        return sorted(consumers)

    async def asset_consumers(self, dag_ids: Iterable[str], *, max_pages: int = 3) -> tuple[list[AssetLink], bool]:
        """One hop of the asset graph: the DAGs scheduled on assets that `dag_ids` produce, and whether every
        page was read (at most `max_pages`). Airflow 3 answers `GET /assets` (`scheduled_dags`), Airflow 2.9+
        `GET /datasets` (`consuming_dags`); both filter by `dag_ids` as a comma-separated list, which also
        matches assets those DAGs only consume, so producers are checked here."""
        wanted = sorted(set(dag_ids))
        v3 = await self.detected_version() == "3"
        path, key, consumers_key = (
            ("/assets", "assets", "scheduled_dags") if v3 else ("/datasets", "datasets", "consuming_dags")
        )
        links: list[AssetLink] = []
        offset = 0
        for _ in range(max_pages):
            params = {"dag_ids": ",".join(wanted), "limit": self.conn.page_size, "offset": offset}
            data = await self._json("GET", path, params=params)
            items = _listing(data, key, self._where())
            total = data.get("total_entries")
            if not isinstance(total, int):
                raise BackendInvalidResponse(f"{self._where()} answered {path} without an integer total_entries")
            for item in items:
                links += _asset_links(item, consumers_key, wanted, self._where())
            offset += len(items)
            if not items or offset >= total:
                return links, True
        return links, False

    async def dag_profile(self, dag_id: str) -> tuple[list[str], list[str]]:
        """A DAG's tags and owners (`GET /dags/{dag_id}`), both checked to be lists as the API defines them."""
        dag = await self.get_dag(dag_id)
        tags, owners = dag.get("tags") or [], dag.get("owners")
        if not isinstance(tags, list) or not isinstance(owners, list):
            raise BackendInvalidResponse(f"{self._where()} described DAG {dag_id!r} without tags and owners lists")
        names = [t.get("name") if isinstance(t, dict) else t for t in tags]
        if not all(isinstance(n, str) for n in names) or not all(isinstance(o, str) for o in owners):
            raise BackendInvalidResponse(f"{self._where()} described DAG {dag_id!r} with tags or owners not text")
        return [str(n) for n in names], [str(o) for o in owners]

    async def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances"
        out: list[TaskInstance] = []
        offset = 0
        while True:
            params = {"limit": self.conn.page_size, "offset": offset}
            data = await self._json("GET", path, params=params, not_found=f"no run {run_id!r} of DAG {dag_id!r}")
            batch = _listing(data, "task_instances", self._where())
            out += [TaskInstance.from_api(t) for t in batch]
            offset += len(batch)
            if not batch or offset >= int(data.get("total_entries") or 0):
                return out

    async def failed_tasks_for_runs(
        self, runs: list[tuple[str, str]], *, end_gte: datetime | None = None, max_pages: int = 3
    ) -> dict[tuple[str, str], list[TaskInstance]]:
        """Failed task instances of many runs in few batch requests.

        The batch filters are two id lists, so the server answers their cross product (DAGs share
        run ids such as scheduled__<time>); pairs are matched here, newest first, and paging stops
        once every wanted run is seen or after `max_pages`.
        """
        if not runs:
            return {}
        v3 = await self.detected_version() == "3"
        body: dict[str, Any] = {
            "dag_ids": sorted({d for d, _ in runs}),
            "dag_run_ids": sorted({r for _, r in runs}),
            "state": ["failed"],
            "page_limit": self.conn.page_size,
        }
        if v3:
            body["order_by"] = "-start_date"
        if end_gte is not None:
            body["end_date_gte"] = iso(end_gte)
        wanted = set(runs)
        out: dict[tuple[str, str], list[TaskInstance]] = {}
        offset = 0
        for _ in range(max_pages):
            data = await self._json(
                "POST", "/dags/~/dagRuns/~/taskInstances/list", json_body={**body, "page_offset": offset}
            )
            batch = _listing(data, "task_instances", self._where())
            for raw in batch:
                ti = TaskInstance.from_api(raw)
                if (ti.dag_id, ti.run_id) in wanted:
                    out.setdefault((ti.dag_id, ti.run_id), []).append(ti)
            offset += len(batch)
            if not batch or offset >= int(data.get("total_entries") or 0) or len(out) == len(wanted):
                break
        return out

    async def get_task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstance:
        path = _ti_path(dag_id, run_id, task_id, map_index)
        what = f"no task {task_id!r} in run {run_id!r} of DAG {dag_id!r}"
        return TaskInstance.from_api(await self._json("GET", path, not_found=what))

    async def task_tries(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> list[TaskInstance] | None:
        """Every try of one task instance, oldest first; None when Airflow answers 404 (an Airflow 2 before 2.10
        has no such route; a task removed since would answer the same).

        Clearing a task starts a new try over the same row, so only this route still shows an earlier
        try's failure."""
        data = await self._json("GET", _ti_path(dag_id, run_id, task_id, map_index) + "/tries", absent=(404,))
        if data is None:
            return None
        tries = [TaskInstance.from_api(t) for t in _listing(data, "task_instances", self._where())]
        return sorted(tries, key=lambda t: t.try_number)

    async def stream_task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
    ) -> AsyncIterator[str]:
        """Lines of a task log as they arrive; callers keep only what they need (Airflow serves no tail).

        Airflow 3 streams NDJSON records; they stay JSON lines for the structured extractor.
        """
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{try_number}"
        params: dict[str, Any] = {"full_content": "true"}
        if map_index >= 0:
            params["map_index"] = map_index
        accept = "application/x-ndjson" if await self.detected_version() == "3" else "text/plain"
        not_found = f"no log for try {try_number} of task {task_id!r} in run {run_id!r} of DAG {dag_id!r}"
        async with self._open("GET", path, params=params, accept=accept) as response:
            if response.status_code >= 400:
                await self._read(response)
                self._raise_for_status(response, not_found)
            try:
                async for line in capped_lines(response.aiter_bytes()):
                    yield line
            except httpx.TransportError as err:
                raise BackendUnavailable(f"{self._where()} broke off the log: {type(err).__name__}") from None

    async def task_log_tail(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, lines: int, map_index: int = -1
    ) -> tuple[list[str], int]:
        """The last `lines` lines (each capped) and how many lines the log had, in bounded memory."""
        tail: deque[str] = deque(maxlen=lines)
        seen = 0
        async for line in self.stream_task_log(dag_id, run_id, task_id, try_number, map_index):
            seen += 1
            tail.append(line)
        return list(tail), seen

    # -- writes (called only from the governed execution path) ---------------------------------
    #
    # Each write is built by its *_request method, which governance also shows and digests: what an
    # approver approves is what the send method sends (`described` says what it becomes on the wire).

    def _settled_version(self) -> Literal["2", "3"]:
        if self.version is None:
            raise BackendUnavailable(
                f"{self._where()}: the exact request depends on its Airflow version, which is not known yet "
                "(the first request that succeeds detects it; set airflow.version to pin it)"
            )
        return self.version

    def clear_request(
        self, dag_id: str, run_id: str, *, note: str | None = None, only_failed: bool = True, dry_run: bool = False
    ) -> dict[str, Any]:
        """The clear of one run's tasks as it is sent: /api/v2 and the note on Airflow 3, /api/v1 without
        it on Airflow 2 (whose clear takes no note)."""
        v3 = self._settled_version() == "3"
        body: dict[str, Any] = {
            "dag_run_id": run_id,
            "only_failed": only_failed,
            "reset_dag_runs": True,
            "dry_run": dry_run,
        }
        if note and v3:
            body["note"] = note
        return {"method": "POST", "path": f"{self.api}/dags/{_q(dag_id)}/clearTaskInstances", "body": body}

    def trigger_request(
        self, dag_id: str, run_id: str, conf: dict[str, Any], note: str | None = None
    ) -> dict[str, Any]:
        """A new run as it is sent: Airflow 3 takes an explicit null logical date (now) and a null note;
        Airflow 2 gets the note only when there is one."""
        body: dict[str, Any] = {"dag_run_id": run_id, "conf": conf}
        if self._settled_version() == "3":
            body["logical_date"] = None
            body["note"] = note
        elif note:
            body["note"] = note
        return {"method": "POST", "path": f"{self.api}/dags/{_q(dag_id)}/dagRuns", "body": body}

    def described(self, request: dict[str, Any]) -> dict[str, Any]:
        """What leaves this process for `request`: the request itself over HTTP (directly, or carried
        unchanged by MWAA's InvokeRestApi or web login), or what a transport runs instead (MWAA's CLI)."""
        if isinstance(self._transport, DescribesCalls):
            return self._transport.describe_call(request, self._settled_version())
        return request

    async def _send_write(self, request: dict[str, Any], not_found: str) -> Any:
        path = str(request["path"]).removeprefix(self.api)  # built under this API by a *_request method
        return await self._json(request["method"], path, json_body=request["body"], not_found=not_found)

    async def clear_task_instances(
        self,
        dag_id: str,
        run_id: str,
        *,
        only_failed: bool = True,
        dry_run: bool = False,
        note: str | None = None,
    ) -> list[str]:
        await self._ensure_version()
        request = self.clear_request(dag_id, run_id, note=note, only_failed=only_failed, dry_run=dry_run)
        data = await self._send_write(request, not_found=f"no DAG {dag_id!r}")
        return [str(t.get("task_id")) for t in _listing(data, "task_instances", self._where())]

    async def trigger_dag_run(self, dag_id: str, run_id: str, conf: dict[str, Any], note: str | None = None) -> DagRun:
        await self._ensure_version()
        data = await self._send_write(self.trigger_request(dag_id, run_id, conf, note), not_found=f"no DAG {dag_id!r}")
        return DagRun.from_api(data)

    # -- links ----------------------------------------------------------------------------------

    def run_url(self, dag_id: str, run_id: str) -> str:
        if self.version == "2":
            return f"{self.ui_url}/dags/{_q(dag_id)}/grid?dag_run_id={_q(run_id)}"
        return f"{self.ui_url}/dags/{_q(dag_id)}/runs/{_q(run_id)}"
