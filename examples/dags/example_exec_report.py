"""The daily executive report, scheduled on the staged orders asset (tier 1, business critical).

It would run whenever ``example_orders_staging`` updates ``s3://sandbox-lake/staging/orders``, which that
DAG never does: the sandbox does not trigger this report, and it is what the staging failure blocks
downstream.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Asset, dag, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "owner": "finance-bi",
    "retries": 0,
    "execution_timeout": timedelta(minutes=2),
}


@dag(
    dag_id="example_exec_report",
    schedule=[Asset("s3://sandbox-lake/staging/orders")],
    catchup=False,
    tags=["tier:1", "business_critical", "team:finance-bi", "domain:reporting"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_exec_report() -> None:
    @task
    def build_report() -> None:
        log.info("executive report built")

    build_report()


example_exec_report()
