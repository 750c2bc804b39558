"""Sessionisation job that runs out of memory.

``aggregate_sessions`` caps its own address space at ~300 MB above what the process already maps
(``resource.setrlimit(RLIMIT_AS)``) and then builds an in-memory table that needs more, so Python raises
a real ``MemoryError``. ``publish_daily_kpis`` ends ``upstream_failed``.

Rerun: it fails the same way every time (the fix is a code/resources change, not a retry).
"""

from __future__ import annotations

import logging
import resource
from datetime import timedelta

from airflow.sdk import dag, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 0,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}

HEADROOM_BYTES = 300 * 1024 * 1024
CHUNK_BYTES = 32 * 1024 * 1024
WANTED_BYTES = 1024 * 1024 * 1024


def _mapped_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _build_session_table() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _mapped_bytes() + HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("memory limit for aggregation: %d MB", limit // (1024 * 1024))
    sessions: list[bytearray] = []
    try:
        while len(sessions) * CHUNK_BYTES < WANTED_BYTES:
            sessions.append(bytearray(CHUNK_BYTES))
            log.info("materialised %d MB of session windows", len(sessions) * CHUNK_BYTES // (1024 * 1024))
        return len(sessions)
    except MemoryError:
        sessions.clear()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        raise


@dag(
    dag_id="example_oom_aggregation",
    schedule=None,
    catchup=False,
    tags=["tier:1", "business_critical", "team:analytics", "domain:web_events"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_oom_aggregation() -> None:
    @task
    def extract_events() -> int:
        log.info("extracted 48211904 click events")
        return 48211904

    @task
    def aggregate_sessions(events: int) -> int:
        log.info("aggregating %d events into sessions in memory", events)
        return _build_session_table()

    @task
    def publish_daily_kpis(sessions: int) -> None:
        log.info("published %d sessions", sessions)

    publish_daily_kpis(aggregate_sessions(extract_events()))


example_oom_aggregation()
