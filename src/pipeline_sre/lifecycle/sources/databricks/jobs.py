"""Databricks Jobs in the incident flow: status, detection, diagnosis and governed repair / run-now.

Detection reads `jobs/runs/list` (completed runs that started within the window plus the configured
lookback, so long runs that ended inside the window are seen) and keeps the failed ones. Diagnosis
feeds each failed task's state message, run-output error and error trace, and the events of its
cluster (driver not responding, nodes lost to spot reclaim, launch failures) through the same
classifier as Airflow logs, so a driver OOM is `oom`, a spot loss `killed_external` and a cloud
launch failure `resource_exhausted`. Text from Databricks is redacted and fenced before it is shown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_sre.connectors.databricks import FAILED_RESULT_STATES, DatabricksClient, job_resource
from pipeline_sre.diagnosis import Diagnosis, diagnose_lines, fence_untrusted
from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.governance import external_actions as _kinds  # noqa: F401 - registers the action kinds
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.plans import Plan, plan_of
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.base import DETECTED_BY, Opening, open_incident
from pipeline_sre.runbooks.loader import RERUN_ACTIONS, Runbook
from pipeline_sre.settings.backends import DatabricksConnection

STATUS_BYTES = 8000
DIAGNOSIS_BYTES = 8000
LIST_BYTES = 6000
MAX_TASKS = 3
TRACE_LINES = 80
EVENT_WINDOW = timedelta(minutes=10)
DATABRICKS_KINDS = ("repair_run", "run_now")
NO_WRITE = "escalate to a human with the diagnosis; no write is proposed"


def check_id(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() or int(value) <= 0:
        raise InvalidInput(f"{name} must be a positive integer (a Databricks id); got {value!r}")
    return int(value)


def _iso(ms: Any) -> str | None:
    if not isinstance(ms, int) or ms <= 0:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _result_state(run: dict[str, Any]) -> str | None:
    state = run.get("state") or {}
    return state.get("result_state")


def is_failed(run: dict[str, Any]) -> bool:
    life_cycle = (run.get("state") or {}).get("life_cycle_state")
    return _result_state(run) in FAILED_RESULT_STATES or life_cycle == "INTERNAL_ERROR"


def _state(rt: Runtime, run: dict[str, Any]) -> dict[str, Any]:
    state = run.get("state") or {}
    term = (run.get("status") or {}).get("termination_details") or {}
    out = {
        "life_cycle_state": state.get("life_cycle_state"),
        "result_state": state.get("result_state"),
        "state_message": clip(rt.redact(state.get("state_message") or ""), 400) or None,
        "termination": {k: term.get(k) for k in ("code", "type")} if term else None,
    }
    return {k: v for k, v in out.items() if v}


def _task_view(rt: Runtime, task: dict[str, Any]) -> dict[str, Any]:
    cluster = (task.get("cluster_instance") or {}).get("cluster_id") or task.get("existing_cluster_id")
    out = {
        "task_key": task.get("task_key"),
        "task_run_id": task.get("run_id"),
        **_state(rt, task),
        "attempt": task.get("attempt_number"),
        "start": _iso(task.get("start_time")),
        "end": _iso(task.get("end_time")),
        "cluster_id": cluster,
    }
    return {k: v for k, v in out.items() if v is not None}


def _meta(conn: DatabricksConnection, job_id: int, name: str | None) -> dict[str, Any]:
    meta = conn.meta_for(job_id, name)
    return {"tier": meta.tier, "business_critical": meta.business_critical, "owner": meta.owner}


def _failed_tasks(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Failed task runs, root causes (not UPSTREAM_FAILED) first; a task-less run stands for itself."""
    tasks = [t for t in run.get("tasks") or [] if is_failed(t)]
    if not tasks and not run.get("tasks") and is_failed(run):
        tasks = [run]
    return sorted(tasks, key=lambda t: (_result_state(t) == "UPSTREAM_FAILED", int(t.get("start_time") or 0)))


def _trace_text(rt: Runtime, output: dict[str, Any]) -> str | None:
    trace = output.get("error_trace")
    if not trace:
        return None
    lines = str(trace).splitlines()[-TRACE_LINES:]
    red = rt.new_redactor()
    return clip("\n".join(red.redact_line(line) for line in lines), 3000)


# -- job status ------------------------------------------------------------------------------------


async def job_status(rt: Runtime, job_id: Any, environment: str | None = None) -> dict[str, Any]:
    """The job's last run: life-cycle and result state, state message, error and trace, task runs, URL."""
    job_id = check_id("job_id", job_id)
    env, conn = rt.clients.databricks_connection(environment)
    client = rt.clients.databricks(env)
    job = await client.get_job(job_id)
    name = (job.get("settings") or {}).get("name")
    out: dict[str, Any] = {"env": env, "job_id": job_id, "job_name": name, **_meta(conn, job_id, name)}
    runs = await client.list_runs(job_id=job_id, limit=1)
    if not runs:
        out["last_run"] = None
        return out
    run = await client.get_run(int(runs[0]["run_id"]))
    last: dict[str, Any] = {
        "run_id": run.get("run_id"),
        **_state(rt, run),
        "trigger": run.get("trigger"),
        "start": _iso(run.get("start_time")),
        "end": _iso(run.get("end_time")),
        "run_page_url": run.get("run_page_url"),
        "tasks": [_task_view(rt, t) for t in run.get("tasks") or []],
    }
    if is_failed(run):
        errors = []
        for task in _failed_tasks(run)[:MAX_TASKS]:
            try:
                output = await client.get_run_output(int(task["run_id"]))
            except PipelineSreError as err:
                errors.append({"task_key": task.get("task_key"), "output_unavailable": err.message})
                continue
            trace = _trace_text(rt, output)
            errors.append(
                {
                    "task_key": task.get("task_key"),
                    "error": clip(rt.redact(str(output.get("error") or "")), 500) or None,
                    "error_trace": fence_untrusted(trace, f"Databricks run {task.get('run_id')}") if trace else None,
                }
            )
        last["errors"] = errors
    out["last_run"] = last
    return fit(out, min(STATUS_BYTES, rt.settings.server.max_result_bytes), "tasks")


# -- detection -------------------------------------------------------------------------------------


async def failed_runs_in(rt: Runtime, env: str, since: datetime) -> list[dict[str, Any]]:
    """Failed runs of one workspace that ended since `since`, newest first (as the runs list orders them)."""
    _, conn = rt.clients.databricks_connection(env)
    client = rt.clients.databricks(env)
    runs = await client.list_runs(
        completed_only=True,
        start_time_from=_ms(since - timedelta(hours=conn.lookback_hours)),
        limit=conn.max_runs_per_scan,
    )
    since_ms = _ms(since)
    return [r for r in runs if is_failed(r) and int(r.get("end_time") or 0) >= since_ms]


async def failed_job_runs(rt: Runtime, window_minutes: int = 60, environment: str | None = None) -> dict[str, Any]:
    """Failed job runs that ENDED in the window, grouped by job, most urgent first."""
    if not 1 <= window_minutes <= 7 * 24 * 60:
        raise InvalidInput("window_minutes must be between 1 and 10080 (7 days)")
    if environment is not None:
        rt.clients.databricks_connection(environment)
        names = [environment]
    else:
        names = [n for n, e in rt.settings.environments.items() if e.databricks is not None]
        if not names:
            raise InvalidInput("no environment has a Databricks workspace configured (environments.<env>.databricks)")
    since = datetime.now(UTC) - timedelta(minutes=window_minutes)
    results = await rt.each_environment(names, lambda env: failed_runs_in(rt, env, since))
    jobs: dict[tuple[str, int], dict[str, Any]] = {}
    newest: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for env, result in results:
        if isinstance(result, PipelineSreError):
            errors[env] = result.message
            continue
        _, conn = rt.clients.databricks_connection(env)
        for run in result:
            job_id = int(run.get("job_id") or 0)
            entry = jobs.get((env, job_id))
            if entry is None:
                name = run.get("run_name")
                entry = jobs[(env, job_id)] = {
                    "env": env,
                    "job_id": job_id,
                    "job_name": name,
                    **_meta(conn, job_id, name),
                    "count": 0,
                    "latest_run_id": run.get("run_id"),
                    "latest_end": _iso(run.get("end_time")),
                    "latest_state": _state(rt, run),
                    "run_page_url": run.get("run_page_url"),
                }
            entry["count"] += 1
            newest.append(
                {
                    "env": env,
                    "job_id": job_id,
                    "run_id": run.get("run_id"),
                    "result_state": _result_state(run),
                    "end": _iso(run.get("end_time")),
                }
            )
    for entry in jobs.values():
        severity, rule = rt.settings.severity.classify(entry["tier"], entry["business_critical"], entry["count"])
        entry["severity"], entry["severity_rule"] = severity, rule
    grouped = sorted(jobs.values(), key=lambda e: (e["severity"], -e["count"], e["latest_end"] or ""))
    newest.sort(key=lambda r: r["end"] or "", reverse=True)
    out: dict[str, Any] = {
        "window_minutes": window_minutes,
        "total": len(newest),
        "jobs": grouped,
        "runs": newest[:20],
        "next": "diagnose_job_run(run_id) for the decisive error; propose_job_action to repair",
    }
    if errors:
        out["errors"] = errors
    return fit(out, LIST_BYTES, "jobs", "runs")


# -- diagnosis -------------------------------------------------------------------------------------


def event_line(event: dict[str, Any]) -> str:
    details = event.get("details") or {}
    reason = details.get("reason") or {}
    parts = [f"Cluster {event.get('cluster_id')} event {event.get('type')}"]
    if reason.get("code"):
        params = reason.get("parameters") or {}
        extra = ", ".join(f"{k}: {v}" for k, v in sorted(params.items()))
        parts.append(
            f"reason {reason.get('code')} ({reason.get('type') or 'unknown type'})" + (f" {extra}" if extra else "")
        )
    for key in ("driver_state_message", "cause", "did_not_expand_reason"):
        if details.get(key):
            parts.append(str(details[key]))
    return ": ".join(parts)


async def _events_for(client: DatabricksClient, task: dict[str, Any]) -> tuple[list[str], str | None]:
    cluster = (task.get("cluster_instance") or {}).get("cluster_id") or task.get("existing_cluster_id")
    if not cluster:
        return [], None
    start = int(task.get("start_time") or 0) or None
    end = int(task.get("end_time") or 0) or None
    window = int(EVENT_WINDOW.total_seconds() * 1000)
    try:
        events = await client.cluster_events(
            str(cluster),
            start_time=start - window if start else None,
            end_time=end + window if end else None,
        )
    except PipelineSreError as err:
        return [], err.message
    interesting = [
        e for e in events if e.get("type") not in ("RUNNING", "STARTING", "CREATING", "AUTOSCALING_STATS_REPORT")
    ]
    return [event_line(e) for e in interesting], None


async def _diagnose_task(rt: Runtime, client: DatabricksClient, task: dict[str, Any]) -> dict[str, Any]:
    lines: list[str] = []
    notes: list[str] = []
    state = task.get("state") or {}
    if state.get("state_message"):
        lines.append(f"ERROR Run {task.get('run_id')} {state.get('result_state')}: {state['state_message']}")
    term = (task.get("status") or {}).get("termination_details") or {}
    if term.get("message"):
        lines.append(f"ERROR Termination {term.get('code')} ({term.get('type')}): {term['message']}")
    try:
        output = await client.get_run_output(int(task["run_id"]))
    except PipelineSreError as err:
        output = {}
        notes.append(f"run output unavailable: {err.message}")
    if output.get("error"):
        lines.append(str(output["error"]))
    if output.get("error_trace"):
        lines.extend(str(output["error_trace"]).splitlines()[-2000:])
    events, problem = await _events_for(client, task)
    if problem:
        notes.append(f"cluster events unavailable: {problem}")
    lines.extend(f"ERROR {line}" for line in events)
    diagnosis: Diagnosis = await asyncio.to_thread(diagnose_lines, lines, rt.new_redactor())
    out: dict[str, Any] = {
        "task_key": task.get("task_key"),
        "task_run_id": task.get("run_id"),
        "result_state": state.get("result_state"),
        "category": diagnosis.category,
        "confidence": diagnosis.confidence,
        "basis": diagnosis.basis,
        "signature": diagnosis.signature,
        "exception": diagnosis.exception,
        "message": clip(diagnosis.message, 400),
        "evidence": clip(diagnosis.evidence, 400),
        "cluster_events": [clip(rt.redact(e), 200) for e in events[-5:]],
        "excerpt": fence_untrusted(diagnosis.excerpt, f"Databricks task run {task.get('run_id')}")
        if diagnosis.excerpt
        else None,
    }
    if notes:
        out["notes"] = notes
    return {k: v for k, v in out.items() if v not in (None, [], "")}


@dataclass(frozen=True, slots=True)
class JobRunDiagnosis:
    """A run's diagnosis (the `diagnose_job_run` answer before any incident) and its failed tasks' keys."""

    result: dict[str, Any]
    failed_tasks: list[str]  # all of them, not only the diagnosed ones: verification checks each


async def diagnose_run(rt: Runtime, run_id: Any, environment: str | None = None) -> JobRunDiagnosis:
    """Decisive error per failed task run, root cause first, and the runbook it matches; `result["tasks"]`
    is empty for a run that did not fail."""
    run_id = check_id("run_id", run_id)
    env, conn = rt.clients.databricks_connection(environment)
    client = rt.clients.databricks(env)
    run = await client.get_run(run_id)
    job_id = int(run.get("job_id") or 0)
    name = run.get("run_name")
    meta = _meta(conn, job_id, name)
    out: dict[str, Any] = {
        "env": env,
        "job_id": job_id,
        "job_name": name,
        "run_id": run_id,
        **_state(rt, run),
        "run_page_url": run.get("run_page_url"),
    }
    failed = _failed_tasks(run)
    if not failed:
        out["tasks"] = []
        out["message"] = f"run {run_id} did not fail ({_result_state(run) or 'still running'}): nothing to diagnose"
        return JobRunDiagnosis(out, [])
    tasks = [await _diagnose_task(rt, client, t) for t in failed[:MAX_TASKS]]
    out["tasks"] = tasks
    root = tasks[0]
    severity, rule = rt.settings.severity.classify(meta["tier"], meta["business_critical"], 1)
    out.update(severity=severity, severity_rule=rule, **meta)
    evidence = " ".join(
        [*(str(root.get(k) or "") for k in ("exception", "message", "evidence")), *root.get("cluster_events", [])]
    )
    matches = rt.runbooks.match(category=root["category"], signature_text=evidence or None)
    runbook = matches[0].runbook if matches else rt.runbooks.get("unknown")
    out["runbook"] = {"id": runbook.id, "title": runbook.title, "escalate": runbook.escalate}
    return JobRunDiagnosis(out, [str(t["task_key"]) for t in failed if t.get("task_key")])


async def diagnose_job_run(rt: Runtime, run_id: Any, environment: str | None = None) -> dict[str, Any]:
    """Decisive error per failed task run (root cause first), and the incident it opens or joins."""
    diagnosis = await diagnose_run(rt, run_id, environment)
    out = diagnosis.result
    if not out["tasks"]:
        return out
    incident, joined = await asyncio.to_thread(open_incident, rt, opening(diagnosis), by=DETECTED_BY)
    out.update(incident_id=incident.id, incident_joined=joined)
    return fit(out, min(DIAGNOSIS_BYTES, rt.settings.server.max_result_bytes), "tasks")


def opening(diagnosis: JobRunDiagnosis) -> Opening:
    """The incident a diagnosed failed run opens, or joins when one with the same signature is open."""
    summary = diagnosis.result
    root = summary["tasks"][0]
    title = f"{summary.get('job_name') or summary['job_id']}: {root['category']} in {root.get('task_key')}"
    if root.get("exception"):
        title += f" ({root['exception']})"
    facts = {
        "job_id": summary["job_id"],
        "severity": summary.get("severity"),
        "tier": summary.get("tier"),
        "owner": summary.get("owner"),
        "url": summary.get("run_page_url"),
        "failed_tasks": diagnosis.failed_tasks,
        **{k: root.get(k) for k in ("exception", "message", "evidence", "confidence", "basis")},
    }
    return Opening(
        environment=summary["env"],
        source="databricks",
        subject=job_resource(int(summary["job_id"])),
        signature=root.get("signature") or "no-error-found",
        category=root["category"],
        severity=summary["severity"],
        title=clip(title, 300) or title,
        run_id=str(summary["run_id"]),
        task_id=root.get("task_key"),
        facts=facts,
    )


# -- governed actions ------------------------------------------------------------------------------


def _as_strings(parameters: Any) -> dict[str, str]:
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters must be an object of name -> value")
    out: dict[str, str] = {}
    for key, value in parameters.items():
        if isinstance(value, bool):
            out[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[str(key)] = str(value)
        else:
            raise InvalidInput(f"parameter {key!r} must be a string, number or boolean (Databricks passes strings)")
    return out


def _latest_repair_id(run: dict[str, Any]) -> int | None:
    repairs = [h for h in run.get("repair_history") or [] if h.get("type") == "REPAIR" and h.get("id")]
    if not repairs:
        return None
    latest = max(repairs, key=lambda h: (int(h.get("start_time") or 0), int(h["id"])))
    return int(latest["id"])


async def plan_job_action(
    rt: Runtime,
    job_id: Any,
    run_id: Any = None,
    action: str = "repair_run",
    parameters: Any = None,
    environment: str | None = None,
) -> tuple[Plan, str | None, str]:
    """The write asked for on a job: repair_run (failed tasks of a failed run) or run_now (validated
    parameters). With a run id the run is diagnosed first (its incident opened or joined). Returns the plan,
    the incident id (None without a run) and the environment. Nothing is stored or sent."""
    if action not in DATABRICKS_KINDS:
        raise InvalidInput(f"action must be one of {', '.join(DATABRICKS_KINDS)}; got {action!r}")
    job_id = check_id("job_id", job_id)
    run_id = check_id("run_id", run_id) if run_id is not None else None
    env, _ = rt.clients.databricks_connection(environment)
    client = rt.clients.databricks(env)
    job = await client.get_job(job_id)
    params: dict[str, Any]
    if action == "repair_run":
        if run_id is None:
            raise InvalidInput("repair_run needs the run_id of the failed run")
        if parameters:
            raise InvalidInput("parameters are for run_now; a repair reruns the failed tasks as they were")
        params = await _repair_params(client, job_id, run_id)
    else:
        values = _as_strings(parameters)
        flavour = "job_parameters" if (job.get("settings") or {}).get("parameters") else "notebook_params"
        params = {"job_id": job_id, flavour: values}
    out: dict[str, Any] = {"env": env, "job_id": job_id, "job_name": (job.get("settings") or {}).get("name")}
    incident_id: str | None = None
    runbook_id: str | None = None
    if run_id is not None:
        diagnosis = await diagnose_job_run(rt, run_id, env)
        incident_id = diagnosis.get("incident_id")
        runbook = diagnosis.get("runbook") or {}
        runbook_id = runbook.get("id")
        root = (diagnosis.get("tasks") or [{}])[0]
        out["diagnosis"] = {k: root.get(k) for k in ("task_key", "category", "confidence", "exception", "evidence")}
        out["runbook"] = runbook
        out["incident_id"] = incident_id
        if runbook.get("escalate"):
            out["decision"] = _escalation(str(runbook_id), root.get("category"))
            out["next"] = NO_WRITE
            return Plan(out, str(runbook_id), None, {}), incident_id, env
    return Plan(out, str(runbook_id or "unknown"), action, params), incident_id, env


async def _repair_params(client: DatabricksClient, job_id: int, run_id: int) -> dict[str, Any]:
    """A repair of the failed run's failed tasks, bound to its latest repair id so one state is repaired once."""
    run = await client.get_run(run_id, include_history=True)
    if int(run.get("job_id") or 0) != job_id:
        raise InvalidInput(f"run {run_id} belongs to job {run.get('job_id')}, not job {job_id}")
    if not is_failed(run):
        raise InvalidInput(
            f"run {run_id} is {_result_state(run) or (run.get('state') or {}).get('life_cycle_state')}: "
            "only a failed run can be repaired"
        )
    return {"job_id": job_id, "run_id": run_id, "latest_repair_id": _latest_repair_id(run)}


def _escalation(runbook_id: str, category: Any) -> dict[str, Any]:
    return {
        "allowed": False,
        "rule": f"runbook.{runbook_id}.escalate",
        "message": f"{category}: a rerun cannot fix this; escalate to the job owner with the evidence",
    }


def repair_kind(runbook: Runbook) -> str | None:
    """`repair_run` when the runbook reruns (its steps name the Airflow kinds; for a job, a repair of the failed
    tasks is the rerun), None when a rerun cannot fix the cause and a human must."""
    if runbook.escalate or not any(step.action in RERUN_ACTIONS for step in runbook.plan):
        return None
    return "repair_run"


async def plan_repair(rt: Runtime, diagnosis: dict[str, Any]) -> Plan:
    """The runbook's plan for a diagnosed failed run, shaped as the Airflow plan (`plan_for`) so the autopilot
    follows both alike: a repair of the failed tasks when the runbook reruns, else an escalation. Nothing is
    stored or sent."""
    env, job_id, run_id = diagnosis["env"], int(diagnosis["job_id"]), int(diagnosis["run_id"])
    root = (diagnosis.get("tasks") or [{}])[0]
    category = root.get("category") or "unknown"
    runbook = rt.runbooks.get(diagnosis["runbook"]["id"])
    out: dict[str, Any] = {
        "env": env,
        "job_id": job_id,
        "run_id": run_id,
        "severity": diagnosis.get("severity"),
        "diagnosis": {"category": category, **{k: root.get(k) for k in ("task_key", "confidence", "evidence")}},
        "plan": plan_of(runbook),
    }
    kind = repair_kind(runbook)
    if kind is None:
        out["decision"] = _escalation(runbook.id, category)
        out["next"] = NO_WRITE
        return Plan(out, runbook.id, None, {})
    params = await _repair_params(rt.clients.databricks(env), job_id, run_id)
    return Plan(out, runbook.id, kind, params)
