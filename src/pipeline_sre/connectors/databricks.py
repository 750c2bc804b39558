"""Databricks Jobs connector: the databricks-sdk `WorkspaceClient`, made async and typed-error-only.

Auth is an explicit host plus a token read from the env var named by `token_env`, or the SDK's
standard chain (a `profile` in ~/.databrickscfg, DATABRICKS_* env vars, OAuth, cloud credentials).
The SDK is synchronous, so every call runs in a worker thread. Retries: the SDK itself retries
connection errors, timeouts and throttling (429/503) within `retry_timeout_seconds`; this layer adds
bounded retries (`connectors/retry.py`) for the server errors the SDK does not retry (500/502/504),
never for 4xx. Every failure becomes a typed error naming "Databricks workspace <env> (<host>)";
SDK text is cut, stripped of its request log, and the token never appears in it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict

from pipeline_sre.connectors.retry import RetryPolicy, Transient, retrying_for
from pipeline_sre.errors import BackendRefused, BackendUnavailable, NotFound
from pipeline_sre.settings.backends import DatabricksConnection

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

T = TypeVar("T")
_NOT_EXIST = re.compile(r"does not exist|not found|RESOURCE_DOES_NOT_EXIST", re.IGNORECASE)
_SDK_BOILERPLATE = "This is likely a bug in the Databricks SDK"
FAILED_RESULT_STATES = frozenset({"FAILED", "TIMEDOUT", "UPSTREAM_FAILED"})
MAX_MESSAGE = 300
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def job_resource(job_id: int) -> str:
    """The governance resource of a job: what `allow_dags` globs and `conf_schemas` match."""
    return f"databricks:job/{job_id}"


def _retryable(err: BaseException) -> bool:
    from databricks.sdk import errors as dbx
    from databricks.sdk.errors.base import DatabricksError

    if isinstance(err, dbx.InternalError | dbx.DeadlineExceeded | dbx.TemporarilyUnavailable):
        return True
    # Statuses the SDK maps to no subclass (a proxy's 502) arrive as the base class.
    return type(err) is DatabricksError and ("502" in str(err) or "Bad Gateway" in str(err))


class DatabricksClient:
    def __init__(self, environment: str, conn: DatabricksConnection, *, backoff_base: float = 0.25) -> None:
        self.environment = environment
        self.conn = conn
        self.request_count = 0
        self._backoff_base = backoff_base
        self._ws: WorkspaceClient | None = None
        self._lock = threading.Lock()
        self._token = os.environ.get(conn.token_env) if conn.token_env else None

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        if self._ws is not None and self._ws.config.host:
            return str(self._ws.config.host).rstrip("/")
        return self.conn.host or (f"profile {self.conn.profile}" if self.conn.profile else "host from environment")

    def where(self) -> str:
        return f"Databricks workspace {self.environment} ({self.host})"

    def _clean(self, text: str) -> str:
        text = text.split(_SDK_BOILERPLATE, 1)[0].split(" Config: ", 1)[0].strip() or "unparsable answer"
        if self._token:
            text = text.replace(self._token, "***")
        return text[:MAX_MESSAGE]

    def _workspace(self) -> WorkspaceClient:
        """Built on first use, in the worker thread (a profile or the credential chain may read files)."""
        with self._lock:
            if self._ws is None:
                from databricks.sdk import WorkspaceClient
                from databricks.sdk.config import Config

                if self.conn.token_env and not self._token:
                    raise BackendRefused(f"{self.where()}: the token env var {self.conn.token_env} is not set")
                kwargs: dict[str, Any] = {
                    "http_timeout_seconds": self.conn.timeout_seconds,
                    "retry_timeout_seconds": self.conn.retry_timeout_seconds,
                }
                if self.conn.host:
                    kwargs["host"] = self.conn.host
                if self._token:
                    kwargs["token"] = self._token
                    kwargs["auth_type"] = "pat"
                elif self.conn.profile:
                    kwargs["profile"] = self.conn.profile
                try:
                    self._ws = WorkspaceClient(config=Config(**kwargs))
                except ValueError as err:  # no usable credentials in the chain, bad profile, ...
                    raise BackendRefused(f"{self.where()} cannot authenticate: {self._clean(str(err))}") from None
            return self._ws

    async def _call(self, fn: Callable[[WorkspaceClient], T], *, not_found: str | None = None) -> T:
        """Run one SDK call in a thread under the retry policy; map every error to a typed one.

        The writes are retried like reads: run-now carries an idempotency token and a repair its run's
        latest repair id, so Databricks refuses to act twice on one of them."""
        import requests
        from databricks.sdk.errors.base import DatabricksError

        async def attempt() -> T:
            self.request_count += 1
            try:
                return await asyncio.to_thread(lambda: fn(self._workspace()))
            except DatabricksError as err:
                if _retryable(err):
                    raise Transient(f"{type(err).__name__}: {self._clean(str(err))}") from None
                raise self._map(err, not_found) from None
            except (requests.ConnectionError, requests.Timeout, TimeoutError, RuntimeError) as err:
                # TimeoutError / RuntimeError: the SDK's own retry budget ran out on connection errors.
                cause = err.__cause__ or err
                raise BackendUnavailable(
                    f"{self.where()} is unavailable: {type(cause).__name__} "
                    f"(after the SDK's {self.conn.retry_timeout_seconds}s retry budget)"
                ) from None

        return await retrying_for(self.where(), attempt, RetryPolicy.of(self.conn.max_retries, self._backoff_base))

    def _map(self, err: Exception, not_found: str | None) -> Exception:
        from databricks.sdk import errors as dbx

        message = self._clean(str(err))
        if not_found and (
            isinstance(err, dbx.NotFound) or (isinstance(err, dbx.BadRequest) and _NOT_EXIST.search(str(err)))
        ):
            return NotFound(f"{not_found} in {self.where()}: {message}")
        if isinstance(err, dbx.Unauthenticated):
            source = f"the token from {self.conn.token_env}" if self.conn.token_env else "the credential chain"
            return BackendRefused(f"{self.where()} refused {source} (unauthenticated): {message}")
        if isinstance(err, dbx.PermissionDenied):
            return BackendRefused(f"{self.where()} refused the request: permission denied: {message}")
        if isinstance(err, dbx.TooManyRequests):
            return BackendUnavailable(f"{self.where()} is throttling requests: {message}")
        code = getattr(err, "error_code", None) or type(err).__name__
        return BackendRefused(f"{self.where()} refused the request: {code}: {message}")

    # -- reads ----------------------------------------------------------------------------------

    async def get_job(self, job_id: int) -> dict[str, Any]:
        job = await self._call(lambda w: w.jobs.get(job_id), not_found=f"no Databricks job {job_id}")
        return job.as_dict()

    async def list_runs(
        self,
        *,
        job_id: int | None = None,
        completed_only: bool = False,
        start_time_from: int | None = None,
        limit: int = 25,
    ) -> list[dict[str, Any]]:
        """Runs newest first (start_time_from in epoch ms), at most `limit` of them (pages are followed)."""
        page = max(1, min(limit, 25))

        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            runs = w.jobs.list_runs(
                job_id=job_id, completed_only=completed_only or None, start_time_from=start_time_from, limit=page
            )
            return [r.as_dict() for r in itertools.islice(runs, limit)]

        what = f"no Databricks job {job_id}" if job_id is not None else None
        return await self._call(fetch, not_found=what)

    async def get_run(self, run_id: int, *, include_history: bool = False) -> dict[str, Any]:
        run = await self._call(
            lambda w: w.jobs.get_run(run_id, include_history=include_history or None),
            not_found=f"no Databricks run {run_id}",
        )
        return run.as_dict()

    async def get_run_output(self, run_id: int) -> dict[str, Any]:
        out = await self._call(lambda w: w.jobs.get_run_output(run_id), not_found=f"no Databricks task run {run_id}")
        return out.as_dict()

    async def cluster_events(
        self, cluster_id: str, *, start_time: int | None = None, end_time: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Events of a cluster (oldest first) between two epoch-ms times, at most `limit`."""
        from databricks.sdk.service.compute import GetEventsOrder

        def fetch(w: WorkspaceClient) -> list[dict[str, Any]]:
            events = w.clusters.events(
                cluster_id, start_time=start_time, end_time=end_time, order=GetEventsOrder.ASC, page_size=limit
            )
            return [e.as_dict() for e in itertools.islice(events, limit)]

        return await self._call(fetch, not_found=f"no Databricks cluster {cluster_id!r}")

    # -- writes (called only from the governed execution path) ---------------------------------
    #
    # Each write is built by its *_request method, which governance also shows and digests, and sent as
    # built through the SDK's API client (its auth, its retries of throttling and connection errors).

    @staticmethod
    def repair_request(run_id: int, *, latest_repair_id: int | None) -> dict[str, Any]:
        """Rerun only the failed tasks; `latest_repair_id` makes a second repair of the same state fail."""
        body: dict[str, Any] = {"run_id": run_id, "rerun_all_failed_tasks": True}
        if latest_repair_id is not None:
            body["latest_repair_id"] = latest_repair_id
        return {"method": "POST", "path": "/api/2.2/jobs/runs/repair", "body": body}

    @staticmethod
    def run_now_request(
        job_id: int,
        *,
        idempotency_token: str,
        job_parameters: dict[str, str] | None = None,
        notebook_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A new run; Databricks returns the existing run instead when the token was used before."""
        body: dict[str, Any] = {"job_id": job_id, "idempotency_token": idempotency_token}
        if job_parameters:
            body["job_parameters"] = job_parameters
        if notebook_params:
            body["notebook_params"] = notebook_params
        return {"method": "POST", "path": "/api/2.2/jobs/run-now", "body": body}

    async def _send_write(self, request: dict[str, Any], not_found: str) -> dict[str, Any]:
        def send(w: WorkspaceClient) -> dict[str, Any]:
            answer = w.api_client.do(request["method"], request["path"], body=request["body"], headers=_JSON)
            return dict(answer) if isinstance(answer, dict) else {}

        return await self._call(send, not_found=not_found)

    async def repair_run(self, run_id: int, *, latest_repair_id: int | None) -> dict[str, Any]:
        request = self.repair_request(run_id, latest_repair_id=latest_repair_id)
        return await self._send_write(request, not_found=f"no Databricks run {run_id}")

    async def run_now(
        self,
        job_id: int,
        *,
        idempotency_token: str,
        job_parameters: dict[str, str] | None = None,
        notebook_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        request = self.run_now_request(
            job_id, idempotency_token=idempotency_token, job_parameters=job_parameters, notebook_params=notebook_params
        )
        return await self._send_write(request, not_found=f"no Databricks job {job_id}")

    async def aclose(self) -> None:
        """The SDK keeps a requests session; nothing async to close."""
        self._ws = None
