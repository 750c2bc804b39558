"""Prometheus HTTP API connector (`/api/v1/query`, `/api/v1/query_range`) and its config models.

PromQL the server rejects (HTTP 400/422, `errorType` bad_data or execution) becomes `InvalidInput`
carrying the server's own message, so the caller can fix the query; timeouts, 5xx and connection
errors are retried with backoff + jitter and then become `BackendUnavailable` naming the environment.
Credentials come from environment variables named in config (bearer token or basic auth); they are
never part of a message.

The default signal detectors assume these metric names (all configurable per detector):

* `spark_stage_task_duration_p95`, `spark_stage_task_duration_p50` {app, stage}: task duration
  quantiles of a running stage (seconds), and `spark_stage_shuffle_read_top_tasks_share` {app, stage}:
  the share (0-1) of the stage's shuffle read held by its slowest 5% of tasks. Spark does not export
  stage quantiles itself; a SparkListener-based exporter or recording rules publish them.
* `spark_executor_gc_time_seconds_total`, `spark_executor_cpu_time_seconds_total` {app, executor}:
  counters of JVM GC time and executor CPU time (Spark's `executor.jvmGCTime` / `executor.cpuTime`
  relabelled to seconds).
* `kafka_consumergroup_lag` {consumergroup, topic, partition}: as exported by kafka_exporter (and the
  MSK open-monitoring setups that use it).
* `pipeline_last_success_timestamp_seconds` {dataset}: Unix time of the last successful load of a
  dataset (the usual `*_last_success_timestamp_seconds` push convention).
* `aws_kinesis_get_records_iterator_age_milliseconds_maximum` {stream_name}: Kinesis'
  `GetRecords.IteratorAgeMilliseconds` (Maximum) as the Prometheus CloudWatch exporter names it.

Runbook metric conditions name a quantity, not a raw series: each detector condition carries a `metric`
name (the same quantity the detector measures), and `metrics` adds the quantities only verification reads
(the slowest task of a stage, spill, heap use), each a PromQL query grouped by the labels it is joined on:

* `spark_stage_task_duration_max` and `spark_stage_spill_bytes` {app, stage}: the slowest task of the stage
  (seconds) and the bytes it spilled to disk (memory + disk spill of a SparkListener-based exporter);
* `spark_executor_jvm_heap_used_bytes`, `spark_executor_jvm_heap_max_bytes` {app, executor}: JVM heap.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from pipeline_sre.connectors.retry import SERVER_BUSY, RetryPolicy, Transient, failure_of, retrying_for
from pipeline_sre.errors import BackendRefused, BackendUnavailable, InvalidInput
from pipeline_sre.settings.backends import PrometheusConnection

USER_AGENT = "pipeline-sre/0.1"
# Not 500: Prometheus answers it for a query that fails the same way each time (its body says why).
RETRY_STATUS = SERVER_BUSY - {500}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrometheusClient:
    def __init__(
        self,
        environment: str,
        conn: PrometheusConnection,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.2,
    ) -> None:
        self.environment = environment
        self.conn = conn
        self.request_count = 0
        self._backoff_base = backoff_base
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        token, user = conn.secret("token_env"), conn.secret("username_env")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif user:
            raw = f"{user}:{conn.secret('password_env') or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        self._http = httpx.AsyncClient(
            base_url=conn.url,
            timeout=httpx.Timeout(conn.timeout_seconds, connect=min(conn.timeout_seconds, 5.0)),
            verify=conn.verify_tls,
            transport=transport,
            headers=headers,
        )

    async def __aenter__(self) -> PrometheusClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _where(self) -> str:
        return f"Prometheus in environment '{self.environment}' ({self.conn.url})"

    async def query(self, promql: str, at: float | None = None) -> dict[str, Any]:
        """Instant query: `data` of the answer ({resultType, result})."""
        form: dict[str, str] = {"query": promql}
        if at is not None:
            form["time"] = f"{at:.3f}"
        return await self._call("/api/v1/query", form)

    async def query_range(self, promql: str, start: float, end: float, step: float) -> dict[str, Any]:
        form = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return await self._call("/api/v1/query_range", form)

    async def _call(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        """POST (form-encoded, so long queries fit) under the retry policy: connection errors and 502-504.
        A query is a read, so a timeout is retried too."""

        async def attempt() -> httpx.Response:
            self.request_count += 1
            try:
                response = await self._http.post(path, data=form)
            except httpx.TransportError as err:
                raise Transient(failure_of(err, self.conn.timeout_seconds)) from None
            if response.status_code in RETRY_STATUS:
                raise Transient(f"HTTP {response.status_code}")
            return response

        policy = RetryPolicy.of(self.conn.max_retries, self._backoff_base)
        return self._data(await retrying_for(self._where(), attempt, policy))

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if status in (401, 403):
                raise BackendRefused(f"{self._where()} refused the request: HTTP {status}; check the credentials")
            raise BackendUnavailable(f"{self._where()} returned a non-JSON answer (HTTP {status})")
        if body.get("status") == "success" and isinstance(body.get("data"), dict):
            return dict(body["data"])
        kind = str(body.get("errorType") or "")
        message = str(body.get("error") or f"HTTP {status}")[:500]
        if kind in ("bad_data", "execution") or status in (400, 422):
            raise InvalidInput(f"{self._where()} rejected the query ({kind or status}): {message}")
        if kind in ("timeout", "canceled") or status >= 500:
            raise BackendUnavailable(f"{self._where()} could not answer the query ({kind or status}): {message}")
        hint = {401: "; check the credentials", 403: "; the credentials lack permission"}.get(status, "")
        raise BackendRefused(f"{self._where()} refused the request: HTTP {status}: {message}{hint}")
