"""Postmortem: timeline, root cause and prevention, built only from redacted data, and written as a
Markdown document with its JSON twin after one more pass of the redactor."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.errors import NotFound, PipelineSreError
from pipeline_sre.lifecycle import incident_memory
from pipeline_sre.lifecycle.compact import clip
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import diagnose
from pipeline_sre.models import TaskInstance, iso
from pipeline_sre.store.incidents import Incident

AUDIT_SCAN = 5000  # recent audit records searched for the incident's tool calls
MAX_TRIES_READ = 20  # retried tasks per run whose earlier tries the timeline reads (one request each)


def _event(at: str | None, what: str, source: str, **detail: Any) -> dict[str, Any]:
    return {"at": at, "what": what, "source": source, **{k: v for k, v in detail.items() if v is not None}}


def _audit_events(rt: Runtime, incident: Incident) -> list[dict[str, Any]]:
    audit = rt.governance.audit
    head = audit.head().seq
    events: list[dict[str, Any]] = []
    opened = _sort_key(incident.opened_at.isoformat())
    for rec in audit.records(after_seq=max(0, head - AUDIT_SCAN)):
        detail = json.loads(rec.detail_json or "{}")
        args = detail.get("arguments") if isinstance(detail.get("arguments"), dict) else {}
        mine = (incident.action_id and rec.action_id == incident.action_id) or (
            rec.event == "tool.call" and args.get("dag_id") == incident.subject
        )
        if not mine or _sort_key(rec.ts) < opened:
            continue
        what = f"{rec.event} {detail.get('tool', '')}".strip()
        events.append(_event(rec.ts, what, "audit", actor=rec.actor, result=rec.result, seq=rec.seq))
    return events


def _incident_events(incident: Incident) -> list[dict[str, Any]]:
    """The failure as captured at detection (Airflow keeps only a task's latest try, so after a clear this is
    the only record of it), then each state change with who made it."""
    facts = incident.facts
    events: list[dict[str, Any]] = []
    if facts.get("failed_at") or incident.steps.get("failed"):
        what = f"run {facts.get('run_id') or incident.run_id} failed"
        if facts.get("task_id"):
            what += f": task {facts['task_id']} try {facts.get('try_number') or '?'}"
        if facts.get("exception"):
            what += f" raised {facts['exception']}"
        events.append(_event(facts.get("failed_at") or incident.steps.get("failed"), what, "detection"))
    if incident.transitions:
        for move in incident.transitions:
            events.append(_event(move.get("at"), f"incident {move.get('to')}", "incident", by=move.get("by")))
    else:
        events += [
            _event(at, f"incident {state}", "incident") for state, at in incident.steps.items() if state != "failed"
        ]
    return events


async def build_timeline(rt: Runtime, incident_id: str) -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    events = _incident_events(incident)
    if incident.source == "airflow" and incident.run_id:
        client = rt.airflow(incident.environment)
        for run_id in dict.fromkeys(r for r in (incident.run_id, incident.latest_run_id) if r):
            try:
                run, tis = await asyncio.gather(
                    client.get_dag_run(incident.subject, run_id), client.task_instances(incident.subject, run_id)
                )
            except PipelineSreError as err:
                events.append(_event(None, f"run {run_id}: not readable ({err.code})", "airflow"))
                continue
            events.append(_event(iso(run.start_date), f"run {run_id} started", "airflow"))
            for ti in [*await _earlier_tries(client, tis, events), *tis]:
                if ti.start_date:
                    what = f"task {_task_name(ti)} try {ti.try_number}/{ti.max_tries + 1} {ti.state}"
                    events.append(_event(iso(ti.end_date or ti.start_date), what, "airflow"))
            if run.end_date:
                events.append(_event(iso(run.end_date), f"run {run_id} ended {run.state}", "airflow"))
    events += await asyncio.to_thread(_audit_events, rt, incident)
    if incident.verdict:
        events.append(
            _event(incident.verdict.get("checked_at"), f"verification: {incident.verdict.get('verdict')}", "verify")
        )
    events.sort(key=lambda e: _sort_key(e["at"]))
    return {"incident": incident.summary(), "durations": incident.durations(), "events": events[-80:]}


def _task_name(ti: TaskInstance) -> str:
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"


async def _earlier_tries(
    client: AirflowClient, tis: list[TaskInstance], events: list[dict[str, Any]]
) -> list[TaskInstance]:
    """The tries before each task's current one: a retry or a clear reuses the task's row, so a failed
    first try is visible only through Airflow's try history. Read for at most MAX_TRIES_READ tasks per run,
    most-retried first; an event says how many were left unread."""
    retried = sorted((t for t in tis if t.try_number > 1), key=lambda t: -t.try_number)
    gate = asyncio.Semaphore(4)

    async def one(ti: TaskInstance) -> list[TaskInstance] | None:
        async with gate:
            try:
                tries = await client.task_tries(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
            except PipelineSreError as err:
                what = f"task {_task_name(ti)}: earlier tries not readable ({err.code})"
                events.append(_event(None, what, "airflow"))
                return []
        return None if tries is None else [t for t in tries if t.try_number < ti.try_number]

    found = await asyncio.gather(*(one(t) for t in retried[:MAX_TRIES_READ]))
    if retried and any(tries is None for tries in found):
        what = f"run {retried[0].run_id}: Airflow found no try history (2.10 added it); earlier tries not shown"
        events.append(_event(None, what, "airflow"))
    if len(retried) > MAX_TRIES_READ:
        left = len(retried) - MAX_TRIES_READ
        what = f"run {retried[0].run_id}: earlier tries of {left} more retried tasks not read"
        events.append(_event(None, what, "airflow"))
    return [t for tries in found for t in tries or []]


def _sort_key(at: str | None) -> str:
    """Timestamps from different sources differ in format; compare them normalised to UTC seconds."""
    if not at:
        return "9999"
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC).isoformat()
    except ValueError:
        return at


async def _blast_radius(rt: Runtime, incident: Incident) -> dict[str, Any]:
    radius: dict[str, Any] = {"blocked_tasks": incident.facts.get("blocked_tasks", 0)}
    if incident.source != "airflow":
        return radius
    try:
        consumers = await rt.airflow(incident.environment).downstream_dags(incident.subject)
    except PipelineSreError:
        radius["downstream_dags"] = "unknown: the API did not tell"
        return radius
    radius["downstream_dags"] = consumers
    return radius


async def summarize_root_cause(rt: Runtime, incident_id: str) -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    facts = incident.facts
    history: dict[str, Any] = {}
    if incident.source == "airflow":
        try:
            freq = await diagnose.failure_frequency(rt, incident.subject, incident.task_id, 7, incident.environment)
            match = next((s for s in freq["signatures"] if s["signature"] == incident.signature), None)
            history = {k: match[k] for k in ("failures", "first_seen", "last_seen", "verdict")} if match else {}
            # Airflow shows a cleared run by its latest try: one that recovered no longer reads as failed.
            history["failed_runs_7d"] = max(freq["failed_runs"], incident.occurrences)
            history["failed_runs_in_incident"] = incident.occurrences
        except PipelineSreError as err:
            history = {"unavailable": err.code}
    return {
        "incident": incident.summary(),
        "category": incident.category,
        "signature": incident.signature,
        "task_id": incident.task_id,
        "exception": facts.get("exception"),
        "evidence": clip(rt.redact(str(facts.get("evidence") or "")), 400),
        "confidence": facts.get("confidence"),
        # a rule's answer or the learned model's guess: a reader weighs the category by it
        "basis": facts.get("basis"),
        "frequency": history,
        "blast_radius": await _blast_radius(rt, incident),
        "runbook": incident.runbook_id,
    }


PREVENTION_BY_CATEGORY = {
    "upstream_missing": "Add a pre-check (sensor with timeout) for the input before {task}; alert the upstream owner.",
    "permission_denied": "Add a permission probe task before {task} that fails fast with a clear owner.",
    "credentials": "Rotate credentials through the secrets backend and add an expiry alert.",
    "schema_mismatch": "Put a schema contract on the source table and test it in CI before deploy.",
    "data_quality": "Quarantine bad rows and alert the data owner instead of failing the whole DAG.",
    "oom": "Right-size memory for {task} (executor/driver memory or pod limits) and process in partitions.",
    "transient_network": "Give {task} retries with exponential backoff; keep reruns idempotent.",
    "throttled": "Rate-limit calls in {task} and back off on 429/SlowDown.",
    "timeout": "Set execution_timeout from observed p95 duration and alert before the SLA.",
    "code_bug": "Add a unit test reproducing the failing input; canary-deploy DAG changes.",
}


async def suggest_prevention(rt: Runtime, incident_id: str) -> dict[str, Any]:
    incident = rt.incidents.get(incident_id)
    task = incident.task_id or "the failing task"
    ideas: list[dict[str, str]] = []
    if incident.category in PREVENTION_BY_CATEGORY:
        ideas.append({"idea": PREVENTION_BY_CATEGORY[incident.category].format(task=task), "because": "category"})
    if incident.runbook_id:
        try:
            for text in rt.runbooks.get(incident.runbook_id).prevention:
                ideas.append({"idea": text, "because": f"runbook {incident.runbook_id}"})
        except PipelineSreError:
            pass
    tier, critical = incident.facts.get("tier"), incident.facts.get("business_critical")
    if tier == 1 or critical:
        ideas.append({"idea": "Route alerts for this tier-1/critical DAG to the paging rota.", "because": "tier"})
    if incident.action_id:
        ideas.append(
            {"idea": f"Keep {task} idempotent and document the approved safe-rerun playbook.", "because": "rerun used"}
        )
    if incident.occurrences > 1:
        ideas.append(
            {
                "idea": f"{incident.occurrences} failed runs share this error: fix the cause, not the runs.",
                "because": "recurrence",
            }
        )
    unique = list({i["idea"]: i for i in ideas}.values())
    return {"incident": incident.summary(), "actions": unique[:8]}


def _durations_text(durations: dict[str, float]) -> str:
    names = {
        "time_to_detect_s": "detect",
        "time_to_triage_s": "triage",
        "time_to_diagnose_s": "diagnose",
        "time_to_mitigate_s": "mitigate",
        "time_to_resolve_s": "resolve",
    }
    return ", ".join(f"{names.get(k, k)} {v:g} s" for k, v in durations.items()) or "n/a"


def _pairs_text(values: dict[str, Any]) -> str:
    def show(v: Any) -> str:
        return ", ".join(map(str, v)) or "none" if isinstance(v, list) else str(v)

    return "; ".join(f"{k.replace('_', ' ')}: {show(v)}" for k, v in values.items()) or "n/a"


def _verification_lines(verdict: dict[str, Any] | None) -> list[str]:
    if not verdict:
        return ["- Verification: not run"]
    marks = {True: "ok", False: "FAILED", None: "pending"}
    lines = [f"- Verification: **{verdict.get('verdict')}** (checked {verdict.get('checked_at')})"]
    lines += [
        f"  - {marks.get(c.get('ok'), '?')}: {c.get('rule')}: {c.get('detail')}" for c in verdict.get("checks") or []
    ]
    return lines


def _markdown(
    timeline: dict[str, Any], cause: dict[str, Any], prevention: dict[str, Any], inc: Incident, action: str
) -> str:
    lines = [
        f"# Postmortem: {inc.title}",
        "",
        f"- Incident: `{inc.id}` ({inc.environment}), severity {inc.severity}, state **{inc.state}**",
        f"- Subject: `{inc.subject}`, first failing run `{inc.run_id}`, failed runs joined: {inc.occurrences}",
        f"- Durations from the failure: {_durations_text(timeline['durations'])}",
        "",
        "## Root cause",
        "",
        f"- Category: **{cause['category']}** (signature `{cause['signature']}`, task `{cause['task_id']}`)",
        *([f"- Reached by: {cause['basis']}, confidence {cause['confidence']}"] if cause.get("basis") else []),
        f"- Exception: `{cause['exception']}`",
        f"- Evidence: `{cause['evidence']}`",
        f"- Frequency (7 days): {_pairs_text(cause['frequency'])}",
        f"- Blast radius: {_pairs_text(cause['blast_radius'])}",
        "",
        "## Timeline (UTC)",
        "",
        *[f"- {e['at'] or '?'} [{e['source']}] {e['what']}" for e in timeline["events"]],
        "",
        "## What was done",
        "",
        f"- Action: {action}; runbook `{inc.runbook_id or 'none'}`",
        *_verification_lines(inc.verdict),
    ]
    if inc.escalation_reason:
        lines.append(f"- Escalated: {inc.escalation_reason}")
    if inc.close_reason:
        lines.append(f"- Closed by hand: {inc.close_reason}")
    lines += ["", "## Prevention", "", *[f"- {a['idea']} _({a['because']})_" for a in prevention["actions"]], ""]
    return "\n".join(lines)


async def write_postmortem(rt: Runtime, incident_id: str) -> dict[str, Any]:
    timeline = await build_timeline(rt, incident_id)
    cause = await summarize_root_cause(rt, incident_id)
    prevention = await suggest_prevention(rt, incident_id)
    incident = rt.incidents.get(incident_id)
    seen = await asyncio.to_thread(incident_memory.seen_before, rt, incident)
    redactor = rt.new_redactor()
    markdown = redactor.redact(
        _markdown(timeline, cause, prevention, incident, await asyncio.to_thread(_action_text, rt, incident))
        + incident_memory.previous_occurrences(seen)
    )
    twin = redactor.redact(
        json.dumps(
            {
                "incident": incident.to_dict(),
                "timeline": timeline,
                "root_cause": cause,
                "prevention": prevention,
                "previous_occurrences": seen,
            },
            indent=2,
            default=str,
        )
    )
    folder = rt.settings.resolved_data_dir() / "postmortems"
    folder.mkdir(parents=True, exist_ok=True)
    md_path, json_path = folder / f"{incident_id}.md", folder / f"{incident_id}.json"
    await asyncio.to_thread(_write_private, md_path, markdown)
    await asyncio.to_thread(_write_private, json_path, twin)
    rt.incidents.mark(incident_id, postmortem_path=str(md_path))
    return {
        "incident_id": incident_id,
        "resource": f"postmortem://{incident_id}",
        "path": str(md_path),
        "json_path": str(json_path),
        "bytes": len(markdown),
        "markdown": markdown,
        "headline": _headline(incident, timeline, cause, prevention),
    }


def _headline(
    incident: Incident, timeline: dict[str, Any], cause: dict[str, Any], prevention: dict[str, Any]
) -> dict[str, Any]:
    """The document's headline facts, for a caller that reports the postmortem without reading all of it."""
    verdict = incident.verdict or {}
    return {
        "title": incident.title,
        "state": incident.state,
        "severity": incident.severity,
        "failed_runs": incident.occurrences,
        "durations": {k.removeprefix("time_to_"): v for k, v in timeline["durations"].items()},
        "root_cause": {k: cause.get(k) for k in ("category", "exception", "task_id")},
        "verdict": verdict.get("verdict"),
        "prevention": [a["idea"] for a in prevention["actions"][:2]],
    }


def _action_text(rt: Runtime, incident: Incident) -> str:
    if not incident.action_id:
        return "none"
    try:
        record = rt.governance.get_action(incident.action_id)
    except PipelineSreError:
        return f"`{incident.action_id}`"
    return f"`{record.action.kind}` `{record.id}` ({record.state}, requested by {record.action.requested_by})"


def read_postmortem(rt: Runtime, incident_id: str) -> str:
    """The written postmortem's Markdown (redacted when written, and once more as it is read)."""
    incident = rt.incidents.get(incident_id)
    path = rt.settings.resolved_data_dir() / "postmortems" / f"{incident.id}.md"
    if not path.is_file():
        raise NotFound(f"incident {incident.id} has no postmortem yet: call write_postmortem('{incident.id}')")
    return rt.new_redactor().redact(path.read_text(encoding="utf-8"))


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
