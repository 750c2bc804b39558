"""Triage: what failed in a run and how urgent it is, in a few hundred bytes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle import lineage
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import TaskInstance, iso, iso_exact
from pipeline_sre.store.incidents import SeenFailure

TRIAGE_BYTES = 1500
FAILED_STATES = ("failed", "upstream_failed")


def check_ids(**ids: str) -> None:
    for name, value in ids.items():
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{name} must be a non-empty string")
        if len(value) > 250:
            raise InvalidInput(f"{name} is longer than Airflow allows (250 characters)")
        if any(part in (".", "..") for part in value.split("/")):
            raise InvalidInput(f"{name} must not be '.' or '..' or hold such a path segment; got {value!r}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise InvalidInput(f"{name} must not contain control characters")


def ordered_failures(tis: list[TaskInstance]) -> list[TaskInstance]:
    """Failed tasks first (earliest start first: the root cause), then what they blocked."""
    far = datetime.max.replace(tzinfo=UTC)
    failed = sorted(
        (t for t in tis if t.state == "failed"),
        key=lambda t: (t.start_date or far, t.end_date or far, t.task_id),
    )
    blocked = sorted((t for t in tis if t.state == "upstream_failed"), key=lambda t: t.task_id)
    return failed + blocked


def _task_row(t: TaskInstance) -> dict[str, Any]:
    row: dict[str, Any] = {
        "task_id": t.task_id,
        "state": t.state,
        "try_number": t.try_number,
        "max_tries": t.max_tries,
        "operator": t.operator,
        "duration_s": t.duration,
    }
    if t.map_index >= 0:
        row["map_index"] = t.map_index
    return row


async def run_summary(rt: Runtime, dag_id: str, run_id: str, environment: str | None = None) -> dict[str, Any]:
    check_ids(dag_id=dag_id, run_id=run_id)
    env = rt.environment(environment)[0]
    client = rt.airflow(env)
    run, tis = await asyncio.gather(client.get_dag_run(dag_id, run_id), client.task_instances(dag_id, run_id))
    return {
        "env": env,
        "dag_id": dag_id,
        "run_id": run.run_id,
        "state": run.state,
        "run_type": run.run_type,
        "start": iso(run.start_date),
        "end": iso(run.end_date),
        "duration_s": run.duration_seconds,
        "tasks_by_state": dict(Counter(t.state for t in tis).most_common()),
        "conf_keys": sorted(run.conf)[:30],
        "note": clip(rt.redact(run.note) if run.note else None, 300),
        "url": client.run_url(dag_id, run.run_id),
    }


async def failed_tasks(rt: Runtime, dag_id: str, run_id: str, environment: str | None = None) -> dict[str, Any]:
    check_ids(dag_id=dag_id, run_id=run_id)
    env = rt.environment(environment)[0]
    client = rt.airflow(env)
    tis = ordered_failures(await client.task_instances(dag_id, run_id))
    result = {
        "env": env,
        "dag_id": dag_id,
        "run_id": run_id,
        "root_task": tis[0].task_id if tis and tis[0].state == "failed" else None,
        "count": len(tis),
        "tasks": [_task_row(t) for t in tis],
    }
    return fit(result, rt.settings.server.max_result_bytes, "tasks")


async def cleared_failures(
    rt: Runtime, env: str, dag_id: str, since: datetime, failed_now: set[str], task_id: str | None = None
) -> list[SeenFailure]:
    """Runs of `dag_id` an incident took as failed since `since` that Airflow no longer shows failed (a clear
    replaced the failed try): still failures when counting how often this happens."""
    seen = await asyncio.to_thread(rt.incidents.failures_seen, env, dag_id, since)
    return [f for f in seen if f.run_id not in failed_now and (task_id is None or f.task_id == task_id)]


async def triage(rt: Runtime, dag_id: str, run_id: str, environment: str | None = None) -> dict[str, Any]:
    check_ids(dag_id=dag_id, run_id=run_id)
    env, env_cfg = rt.environment(environment)
    client = rt.airflow(env)
    lookback = rt.settings.severity.lookback_hours
    since = datetime.now(UTC) - timedelta(hours=lookback)
    # The failures incidents took for this DAG: only when there are some does triage need the failed runs'
    # ids (not just their count) to tell which of them a clear has since turned green.
    seen = await asyncio.to_thread(rt.incidents.failures_seen, env, dag_id, since)
    run, tis, history, recent = await asyncio.gather(
        client.get_dag_run(dag_id, run_id),
        client.task_instances(dag_id, run_id),
        client.list_dag_runs(dag_id=dag_id, states=("failed",), end_gte=since, limit=100 if seen else 1),
        client.list_dag_runs(dag_id=dag_id, states=("failed", "success"), limit=5),
    )
    tags = await client.dag_tags(dag_id)
    meta = env_cfg.meta_for(dag_id, tags)
    failures = ordered_failures(tis)
    root = failures[0] if failures and failures[0].state == "failed" else None
    streak = 0
    for past in recent.items:  # finished runs, newest first: how many consecutive ones failed
        if past.state != "failed":
            break
        streak += 1
    # Failed runs in the lookback with the cleared ones (failure_frequency counts the same way).
    failed_now = {r.run_id for r in history.items}
    cleared = [f for f in seen if f.run_id not in failed_now]
    failed_total = history.total + len({f.run_id for f in cleared})
    severity, rule = rt.settings.severity.classify(meta.tier, meta.business_critical, failed_total)
    downstream = await lineage.blocked_by(rt, env, dag_id, run.state, [t.task_id for t in failures])
    severity, rule = lineage.weigh(rt.settings.severity, severity, rule, downstream, failed_total)
    persistence = "persistent" if streak >= 3 else "repeated" if failed_total >= 2 else "first"
    result: dict[str, Any] = {
        "env": env,
        "dag_id": dag_id,
        "run_id": run.run_id,
        "state": run.state,
        "severity": severity,
        "severity_rule": rule,
        "tier": meta.tier,
        "business_critical": meta.business_critical,
        "owner": meta.owner,
        "first_failed_task": root.task_id if root else None,
        "attempts": f"{root.try_number}/{root.max_tries + 1}" if root else None,
        "retries_left": max(0, root.max_tries + 1 - root.try_number) if root else None,
        "operator": root.operator if root else None,
        "failed_tasks": [t.task_id for t in failures if t.state == "failed"][:5],
        "blocked_tasks": sum(1 for t in failures if t.state == "upstream_failed"),
        "failures_in_lookback": failed_total,
        "lookback_hours": lookback,
        "consecutive_failed_runs": streak,
        "persistence": persistence,
        "downstream": downstream,
        "tags": sorted(set(tags) | set(meta.tags))[:8],
        # Exact: the incident's durations start at this failure's end (a cut to the second adds up to 1 s).
        "end": iso_exact(run.end_date),
        "url": client.run_url(dag_id, run.run_id),
        "next": "extract_errors(dag_id, run_id) for the decisive error",
    }
    return fit(result, TRIAGE_BYTES, "tags", "failed_tasks")
