"""Segment query against a table that lacks a column.

``stage_customers`` creates (if absent) ``<inputs>/warehouse.sqlite`` with a ``customers`` table without
``lifetime_value``; ``query_customer_segments`` selects that column, so sqlite3 raises
``sqlite3.OperationalError: no such column: lifetime_value``. ``export_segments`` ends ``upstream_failed``.
``<inputs>`` is ``$PIPELINE_SRE_SANDBOX_INPUTS``, else ``$AIRFLOW_HOME/../inputs``.

Rerun: add the column (``ALTER TABLE customers ADD COLUMN lifetime_value REAL DEFAULT 0``) and clear the
failed task; the rerun then succeeds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

from airflow.sdk import dag, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 0,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}


def _warehouse() -> Path:
    configured = os.environ.get("PIPELINE_SRE_SANDBOX_INPUTS")
    if configured:
        inputs = Path(configured)
    else:
        inputs = Path(os.environ.get("AIRFLOW_HOME", ".")).resolve().parent / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    return inputs / "warehouse.sqlite"


@dag(
    dag_id="example_schema_mismatch",
    schedule=None,
    catchup=False,
    tags=["tier:2", "team:growth", "domain:customers"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_schema_mismatch() -> None:
    @task
    def stage_customers() -> str:
        path = _warehouse()
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT)"
            )
            db.executemany(
                "INSERT OR IGNORE INTO customers (id, name, country) VALUES (?, ?, ?)",
                [(1, "Ada", "GB"), (2, "Lin", "SG"), (3, "Noor", "GB")],
            )
        log.info("staged customers in %s", path)
        return str(path)

    @task
    def query_customer_segments(path: str) -> int:
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT country, SUM(lifetime_value) FROM customers GROUP BY country"
            ).fetchall()
        log.info("computed %d segments", len(rows))
        return len(rows)

    @task
    def export_segments(count: int) -> None:
        log.info("exported %d segments", count)

    export_segments(query_customer_segments(stage_customers()))


example_schema_mismatch()
