"""Order staging that feeds the executive report through an asset.

``stage_orders`` rejects a batch holding a negative quantity (``ValueError``, a data quality failure), so
``publish_staged_orders`` -- the task that updates the asset ``s3://sandbox-lake/staging/orders`` --
ends ``upstream_failed`` and the asset is not updated. This DAG is tier 3, but
``example_exec_report`` (tier 1, business critical) is scheduled on that asset: triage raises the
failure's severity to the report's and names the report's owners.

Rerun: fails the same way every time (the bad row is in the source data).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, dag, task

log = logging.getLogger(__name__)

STAGED_ORDERS = Asset("s3://sandbox-lake/staging/orders")

DEFAULT_ARGS = {
    "retries": 0,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}


@dag(
    dag_id="example_orders_staging",
    schedule=None,
    catchup=False,
    tags=["tier:3", "team:ingest", "domain:orders"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_orders_staging() -> None:
    @task
    def extract_orders() -> list[dict[str, Any]]:
        return [{"id": "ORD-1", "quantity": 3}, {"id": "ORD-2", "quantity": -1}]

    @task
    def stage_orders(rows: list[dict[str, Any]]) -> int:
        bad = [r["id"] for r in rows if r["quantity"] < 0]
        if bad:
            raise ValueError(
                f"Data quality check failed: negative quantity in orders {', '.join(bad)}: refusing to stage the batch"
            )
        return len(rows)

    @task(outlets=[STAGED_ORDERS])
    def publish_staged_orders(count: int) -> None:
        log.info("published %d staged orders", count)

    publish_staged_orders(stage_orders(extract_orders()))


example_orders_staging()
