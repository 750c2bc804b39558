"""A pipeline that succeeds: extract -> transform -> load."""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import dag, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 1,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}


@dag(
    dag_id="example_healthy",
    schedule=None,
    catchup=False,
    tags=["tier:3", "team:platform", "domain:reference_data"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_healthy() -> None:
    @task
    def extract() -> list[int]:
        return [3, 1, 2]

    @task
    def transform(values: list[int]) -> list[int]:
        return sorted(values)

    @task
    def load(values: list[int]) -> None:
        log.info("loaded %s", values)

    load(transform(extract()))


example_healthy()
