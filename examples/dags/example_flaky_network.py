"""Rates fetch that hits a refused connection once.

``fetch_exchange_rates`` connects to a closed loopback port on its first try (try_number 1) and fails with
``ConnectionRefusedError``; ``store_rates`` ends ``upstream_failed``. The DAG has ``retries=0`` on
purpose, so the run fails.

Rerun: clearing the failed task(s) (the product's "clear failed tasks" action) starts try 2, which succeeds,
and the run then ends ``success``.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from airflow.sdk import dag, get_current_context, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 0,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}


def _closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dag(
    dag_id="example_flaky_network",
    schedule=None,
    catchup=False,
    tags=["tier:2", "team:finance-data", "domain:fx"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_flaky_network() -> None:
    @task
    def list_endpoints() -> list[str]:
        return ["rates-api.internal/v1/latest"]

    @task
    def fetch_exchange_rates(endpoints: list[str]) -> dict[str, float]:
        try_number = get_current_context()["ti"].try_number
        log.info("fetching %s (try %d)", endpoints[0], try_number)
        if try_number < 2:
            port = _closed_loopback_port()
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        return {"EURUSD": 1.0842, "GBPUSD": 1.2711}

    @task
    def store_rates(rates: dict[str, float]) -> None:
        log.info("stored %d rates", len(rates))

    store_rates(fetch_exchange_rates(list_endpoints()))


example_flaky_network()
