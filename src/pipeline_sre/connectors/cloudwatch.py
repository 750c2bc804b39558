"""MWAA task logs from CloudWatch Logs, read tail-first.

MWAA writes each task try to log group `airflow-<Environment>-Task`, one stream per try, named by
Airflow's `log_filename_template` (the same default on Airflow 2 and 3) with ':' replaced by '_'
(CloudWatch forbids ':' in stream names; the Amazon provider's handler does the replacement):

    dag_id=<dag>/run_id=<run>/task_id=<task>/[map_index=<i>/]attempt=<try>.log

A tail is `GetLogEvents(startFromHead=False, limit=N)`: the newest N events in one call, and at most
`log_tail_max_calls` calls following `nextBackwardToken` when events hold fewer lines than asked (a
multi-line traceback is one event) or a page came back short. The stream is never paged from its head.
`filter_log_events` finds error lines server-side. Each line is cut at MAX_LINE_CHARS.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from pipeline_sre.connectors.aws import aws_client, aws_error
from pipeline_sre.errors import NotFound, PipelineSreError
from pipeline_sre.settings.backends import MwaaConnection

MAX_LINE_CHARS = 20_000
MAX_EVENTS_PER_CALL = 10_000

DEFAULT_ERROR_PATTERN = '?ERROR ?Traceback ?Exception ?"Task failed"'


def stream_name(dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    name = f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_number}.log"
    return name.replace(":", "_")


def _lines(message: str) -> list[str]:
    return [
        line[:MAX_LINE_CHARS] + (" …[line cut]" if len(line) > MAX_LINE_CHARS else "")
        for line in message.rstrip("\n").split("\n")
    ]


class CloudWatchTaskLogs:
    def __init__(self, environment: str, conn: MwaaConnection, *, client: Any = None) -> None:
        self.environment = environment
        self.conn = conn
        self.log_group = conn.task_log_group
        self.calls = 0
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = aws_client(self.environment, self.conn, "logs")
            return self._client

    def _error(self, err: Exception, api: str, stream: str) -> PipelineSreError:
        if isinstance(err, PipelineSreError):
            return err
        code = str(getattr(err, "response", {}).get("Error", {}).get("Code") or "")
        if code == "ResourceNotFoundException":
            return NotFound(
                f"no CloudWatch log stream {stream!r} in log group {self.log_group} for environment "
                f"'{self.environment}' (the try may not have started, or task logging is disabled)"
            )
        return aws_error(
            err, environment=self.environment, api=f"CloudWatch Logs {api}", what=f"log group {self.log_group}"
        )

    def _tail_sync(self, stream: str, lines: int) -> tuple[list[str], bool]:
        """(last `lines` lines, whether older events exist that were not read)."""
        chunks: list[list[str]] = []  # newest page first
        have = 0
        token: str | None = None
        more = False
        for _ in range(self.conn.log_tail_max_calls):
            kwargs: dict[str, Any] = {
                "logGroupName": self.log_group,
                "logStreamName": stream,
                "startFromHead": False,
                "limit": min(MAX_EVENTS_PER_CALL, max(1, lines - have)),
            }
            if token:
                kwargs["nextToken"] = token
            self.calls += 1
            try:
                page = self.client.get_log_events(**kwargs)
            except Exception as err:
                raise self._error(err, "GetLogEvents", stream) from None
            events = page.get("events") or []
            messages = [str(e.get("message", "")) for e in events]
            page_lines = [line for m in messages for line in _lines(m)]
            chunks.append(page_lines)
            have += len(page_lines)
            next_token = page.get("nextBackwardToken")
            # A page shorter than asked, and well under the 1 MB page cap, reached the stream's start.
            full = len(events) >= kwargs["limit"] or sum(len(m) for m in messages) > 900_000
            more = bool(events) and full and next_token not in (None, token)
            if have >= lines or not more:
                break
            token = next_token
        out = [line for chunk in reversed(chunks) for line in chunk]
        return out[-lines:], more or len(out) > lines

    async def tail(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, lines: int = 200, map_index: int = -1
    ) -> tuple[list[str], bool]:
        """The last `lines` lines of one try and whether the stream holds older lines than those."""
        stream = stream_name(dag_id, run_id, task_id, try_number, map_index)
        return await asyncio.to_thread(self._tail_sync, stream, lines)

    def _search_sync(self, stream: str, pattern: str, limit: int) -> list[str]:
        kwargs: dict[str, Any] = {
            "logGroupName": self.log_group,
            "logStreamNames": [stream],
            "filterPattern": pattern,
            "limit": min(limit, MAX_EVENTS_PER_CALL),
        }
        found: list[str] = []
        for _ in range(self.conn.log_tail_max_calls):
            self.calls += 1
            try:
                page = self.client.filter_log_events(**kwargs)
            except Exception as err:
                raise self._error(err, "FilterLogEvents", stream) from None
            found += [line for e in page.get("events") or [] for line in _lines(str(e.get("message", "")))]
            if len(found) >= limit or not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return found[:limit]

    async def search(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        try_number: int,
        pattern: str = DEFAULT_ERROR_PATTERN,
        limit: int = 50,
        map_index: int = -1,
    ) -> list[str]:
        """Lines of events matching a CloudWatch filter pattern (default: error-looking lines), oldest first."""
        stream = stream_name(dag_id, run_id, task_id, try_number, map_index)
        return await asyncio.to_thread(self._search_sync, stream, pattern, limit)


# -- hooks for lifecycle code -------------------------------------------------------------------------

_CACHE: OrderedDict[tuple[str, MwaaConnection], CloudWatchTaskLogs] = OrderedDict()
_CACHE_LOCK = threading.Lock()
DIAGNOSE_TAIL_LINES = 20_000


def task_logs_for(environment: str, conn: MwaaConnection) -> CloudWatchTaskLogs:
    """One reader (and boto3 client) per environment and connection, reused across calls."""
    key = (environment, conn)
    with _CACHE_LOCK:
        logs = _CACHE.get(key)
        if logs is None:
            logs = _CACHE[key] = CloudWatchTaskLogs(environment, conn)
            while len(_CACHE) > 32:
                _CACHE.popitem(last=False)
        return logs


async def mwaa_log_lines(
    logs: CloudWatchTaskLogs, dag_id: str, run_id: str, task_id: str, try_number: int
) -> AsyncIterator[str]:
    """Lines of a task try's log for diagnosis: the newest DIAGNOSE_TAIL_LINES lines (the whole log for
    all but huge ones), oldest first, read tail-first from CloudWatch."""
    lines, _ = await logs.tail(dag_id, run_id, task_id, try_number, DIAGNOSE_TAIL_LINES)
    for line in lines:
        yield line


async def mwaa_log_tail(
    logs: CloudWatchTaskLogs, dag_id: str, run_id: str, task_id: str, try_number: int, lines: int
) -> tuple[list[str], int | None]:
    """Drop-in for AirflowClient.task_log_tail: (last lines, lines in the log when known, else None)."""
    tail, older = await logs.tail(dag_id, run_id, task_id, try_number, lines)
    return tail, None if older else len(tail)
