"""Invoice transform with a plain code bug.

``transform_invoices`` indexes ``row["currency"]`` but one extracted invoice has no ``currency`` key, so it
raises ``KeyError: 'currency'`` -- on both of its tries (``retries=1``: retrying a deterministic bug only
wastes time). ``extract_invoices`` succeeds; ``load_invoices`` ends ``upstream_failed``.

Rerun: fails the same way every time (the fix is a code change).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 1,
    "retry_delay": timedelta(seconds=3),
    "execution_timeout": timedelta(minutes=2),
}


@dag(
    dag_id="example_code_bug",
    schedule=None,
    catchup=False,
    tags=["tier:3", "team:billing", "domain:invoices"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_code_bug() -> None:
    @task
    def extract_invoices() -> list[dict[str, Any]]:
        return [
            {"id": "INV-1001", "amount": 120.0, "currency": "EUR"},
            {"id": "INV-1002", "amount": 75.5},
            {"id": "INV-1003", "amount": 310.25, "currency": "USD"},
        ]

    @task
    def transform_invoices(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            out.append({"id": row["id"], "amount_cents": round(row["amount"] * 100), "ccy": row["currency"]})
        return out

    @task
    def load_invoices(rows: list[dict[str, Any]]) -> None:
        log.info("loaded %d invoices", len(rows))

    load_invoices(transform_invoices(extract_invoices()))


example_code_bug()
