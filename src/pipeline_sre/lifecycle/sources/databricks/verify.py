"""Databricks verification: the run an executed repair_run or run_now action produced, by the shared rules.

A repair of run R is judged by R's repair with the id the executor recorded (its state, end time and the
task runs it started: `task_run_ids`); a run-now by the new run id the executor recorded. The executor's
result is the API's answer, or under `existing` what crash recovery found in the workspace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline_sre.governance.external_actions import epoch_ms
from pipeline_sre.governance.service import ActionRecord
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.databricks.jobs import is_failed
from pipeline_sre.lifecycle.verify_rules import Evidence, check, no_new_failure, run_check, tasks_check
from pipeline_sre.settings.config import VerifyConfig
from pipeline_sre.store.incidents import Incident

ENDED_WITHOUT_RESULT = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def _ok(state: dict[str, Any]) -> bool | None:
    """SUCCESS proves it; any other result (FAILED, TIMEDOUT, CANCELED, ...) disproves it; no result yet: None."""
    result = state.get("result_state")
    if result:
        return bool(result == "SUCCESS")
    return False if state.get("life_cycle_state") in ENDED_WITHOUT_RESULT else None


def _state_text(state: dict[str, Any]) -> str:
    return str(state.get("result_state") or state.get("life_cycle_state") or "in an unknown state")


def _task_outcomes(run: dict[str, Any], rerun: set[int]) -> dict[str, bool | None]:
    """Each task's latest attempt: a task run of the repair first, then the highest attempt number."""
    ordered = sorted(
        run.get("tasks") or [],
        key=lambda t: (t.get("run_id") in rerun, int(t.get("attempt_number") or 0), int(t.get("start_time") or 0)),
    )
    return {str(t["task_key"]): _ok(t.get("state") or {}) for t in ordered if t.get("task_key")}


async def run_evidence(
    rt: Runtime, incident: Incident, record: ActionRecord, *, rules: VerifyConfig, now: datetime
) -> Evidence:
    result = record.result or {}
    produced: dict[str, Any] = result.get("existing") or result
    client = rt.clients.databricks(incident.environment)
    run_id = int(produced["run_id"])
    if record.action.kind == "repair_run":
        run = await client.get_run(run_id, include_history=True)
        repair_id = produced.get("repair_id")
        what = f"repair {repair_id} of run {run_id}"
        target = next((h for h in run.get("repair_history") or [] if h.get("id") == repair_id), None)
        if target is None:
            pending = check("run_succeeded", None, f"{what} is not in its repair history yet")
            return Evidence([pending], record.executed_at)
        rerun = {int(i) for i in target.get("task_run_ids") or []}
    else:
        run = target = await client.get_run(run_id)
        what, rerun = f"run {run_id} (run now)", set()
    state = target.get("state") or {}
    ok = _ok(state)
    checks: list[dict[str, Any]] = []
    if rules.require_run_success:
        checks.append(run_check(what, ok, _state_text(state)))
    if rules.require_failed_tasks_success:
        checks.append(tasks_check(incident, _task_outcomes(run, rerun)))
    ended = int(target.get("end_time") or 0)
    if ok and ended:
        job_id = int(record.action.params["job_id"])
        end = datetime.fromtimestamp(ended / 1000, UTC)
        # Runs started since the action that failed after the recovery (the repaired run started before it).
        since = epoch_ms(record.executed_at or end)
        later = await client.list_runs(job_id=job_id, completed_only=True, start_time_from=since)
        failures = [r for r in later if r.get("run_id") != run_id and is_failed(r) and r.get("end_time", 0) >= ended]
        checks.append(no_new_failure(len(failures), end, now, rules.quiet_minutes, f"job {job_id}"))
    return Evidence(checks, record.executed_at)
