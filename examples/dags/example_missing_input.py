"""Order load whose input file never arrived.

``load_orders`` opens ``<inputs>/orders_<ds>.csv``; ``<inputs>`` is ``$PIPELINE_SRE_SANDBOX_INPUTS``
(the sandbox sets it to ``<data_dir>/sandbox/inputs``), else ``$AIRFLOW_HOME/../inputs``. The file is
absent, so the task fails with ``FileNotFoundError`` and ``build_order_facts`` ends ``upstream_failed``.

Rerun: create the file (e.g. ``id,amount`` header plus rows; ``ds`` is the run's logical date,
YYYY-MM-DD) and clear the failed task; the rerun then succeeds.
"""

from __future__ import annotations

import csv
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import dag, get_current_context, task

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "retries": 0,
    "retry_delay": timedelta(seconds=5),
    "execution_timeout": timedelta(minutes=2),
}


def _inputs_dir() -> Path:
    configured = os.environ.get("PIPELINE_SRE_SANDBOX_INPUTS")
    if configured:
        return Path(configured)
    return Path(os.environ.get("AIRFLOW_HOME", ".")).resolve().parent / "inputs"


def _ds(context: Any) -> str:
    ds = context.get("ds")
    if ds:
        return str(ds)
    return str(context["dag_run"].run_after.strftime("%Y-%m-%d"))


@dag(
    dag_id="example_missing_input",
    schedule=None,
    catchup=False,
    tags=["tier:1", "business_critical", "team:commerce", "domain:orders"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def example_missing_input() -> None:
    @task
    def check_partitions() -> str:
        path = _inputs_dir() / f"orders_{_ds(get_current_context())}.csv"
        log.info("expecting today's order export at %s", path)
        return str(path)

    @task
    def load_orders(path: str) -> int:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        log.info("loaded %d orders from %s", len(rows), path)
        return len(rows)

    @task
    def build_order_facts(count: int) -> None:
        log.info("built order facts for %d orders", count)

    build_order_facts(load_orders(check_partitions()))


example_missing_input()
