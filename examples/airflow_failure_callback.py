"""Push Airflow failures to `pipeline-sre watch --http HOST:PORT` as soon as they happen.

Copy this into your DAGs folder (or a shared module) and set it as the DAG's `on_failure_callback`.
It uses only the standard library, sends within 5 seconds or gives up, and never raises: a callback
must not turn a pipeline's failure into a second one. The poll cycle still catches anything missed.

Worker environment:
  PIPELINE_SRE_WEBHOOK_URL    e.g. http://pipeline-sre.internal:8766/hooks/airflow
  PIPELINE_SRE_WEBHOOK_TOKEN  the bearer token (autopilot.webhook_token_env on the watch side)
  PIPELINE_SRE_ENVIRONMENT    the environment name in pipeline-sre's config, e.g. prod
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

log = logging.getLogger(__name__)


def notify_pipeline_sre(context: dict[str, Any]) -> None:
    url = os.environ.get("PIPELINE_SRE_WEBHOOK_URL")
    token = os.environ.get("PIPELINE_SRE_WEBHOOK_TOKEN")
    if not url or not token:
        return
    dag_run = context.get("dag_run")
    ti = context.get("task_instance") or context.get("ti")
    payload = {
        "environment": os.environ.get("PIPELINE_SRE_ENVIRONMENT", "prod"),
        "dag_id": getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "state": "failed",
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except Exception as err:  # never fail the task because the notification did not go through
        log.warning("pipeline-sre push failed: %s", type(err).__name__)


# Usage:
#   from airflow.sdk import dag          (Airflow 3; `from airflow.decorators import dag` on Airflow 2)
#   from airflow_failure_callback import notify_pipeline_sre
#
#   @dag(schedule="@daily", on_failure_callback=notify_pipeline_sre)
#   def orders(): ...
