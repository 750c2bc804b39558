"""Diagnose: the decisive error of a failed task, redacted and fenced, and how often it happens."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from pipeline_sre.connectors.cloudwatch import mwaa_log_lines, mwaa_log_tail
from pipeline_sre.diagnosis import Diagnosis, build_excerpt, diagnose_lines, fence_untrusted, strip_control
from pipeline_sre.errors import InvalidInput, NotFound
from pipeline_sre.lifecycle.compact import clip, fit, size
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow.triage import check_ids, cleared_failures, ordered_failures
from pipeline_sre.models import iso

MAX_TAIL_LINES = 2000
TASK_LOG_BYTES = 24_000
PER_TASK_BYTES = 2000
SPOOL_IN_MEMORY = 4 * 1024 * 1024
FREQUENCY_MAX_RUNS = 30


def display_line(raw: str) -> str:
    """Airflow 3 serves structured JSON records; show them as the familiar Airflow 2 text line."""
    if not raw.startswith("{"):
        return raw
    try:
        rec = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(rec, dict):
        return raw
    where = f"{{{rec['filename']}:{rec.get('lineno', '')}}} " if rec.get("filename") else ""
    level = f"{str(rec['level']).upper()} - " if rec.get("level") else ""
    text = f"[{rec.get('timestamp') or ''}] {where}{level}{rec.get('event', '')}"
    for detail in rec.get("error_detail") or []:
        if not isinstance(detail, dict):
            continue
        frames = [f for f in detail.get("frames") or [] if isinstance(f, dict)][-3:]
        text += "\nTraceback (most recent call last):"
        text += "".join(f'\n  File "{f.get("filename")}", line {f.get("lineno")}, in {f.get("name")}' for f in frames)
        text += f"\n{detail.get('exc_type', 'Error')}: {detail.get('exc_value', '')}"
    return text


def _lines_of(spool: IO[str]) -> Iterator[str]:
    spool.seek(0)
    for line in spool:
        yield line.rstrip("\n")


def _log_lines(rt: Runtime, env: str, dag_id: str, run_id: str, task_id: str, tries: int) -> AsyncIterator[str]:
    """Task logs come from Airflow's API, or from CloudWatch Logs for an MWAA environment."""
    if rt.environment(env)[1].mwaa is not None:
        return mwaa_log_lines(rt.clients.task_logs(env), dag_id, run_id, task_id, tries)
    return rt.airflow(env).stream_task_log(dag_id, run_id, task_id, tries)


async def _log_tail(
    rt: Runtime, env: str, dag_id: str, run_id: str, task_id: str, tries: int, lines: int
) -> tuple[list[str], int | None]:
    if rt.environment(env)[1].mwaa is not None:
        return await mwaa_log_tail(rt.clients.task_logs(env), dag_id, run_id, task_id, tries, lines)
    return await rt.airflow(env).task_log_tail(dag_id, run_id, task_id, tries, lines)


async def _latest_try(rt: Runtime, env: str, dag_id: str, run_id: str, task_id: str) -> int:
    ti = await rt.airflow(env).get_task_instance(dag_id, run_id, task_id)
    if ti.try_number < 1:
        raise NotFound(f"task {task_id!r} in run {run_id!r} of DAG {dag_id!r} has not run, so it has no log")
    return ti.try_number


async def task_log(
    rt: Runtime,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None = None,
    lines: int = 200,
    environment: str | None = None,
) -> dict[str, Any]:
    check_ids(dag_id=dag_id, run_id=run_id, task_id=task_id)
    if not 1 <= lines <= MAX_TAIL_LINES:
        raise InvalidInput(f"lines must be between 1 and {MAX_TAIL_LINES}; got {lines}")
    if try_number is not None and try_number < 1:
        raise InvalidInput(f"try_number must be 1 or more; got {try_number}")
    env = rt.environment(environment)[0]
    tries = try_number or await _latest_try(rt, env, dag_id, run_id, task_id)
    raw, seen = await _log_tail(rt, env, dag_id, run_id, task_id, tries, lines)
    result: dict[str, Any] = {
        "env": env,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "try_number": tries,
    }
    if not raw:
        result["log"] = None
        result["message"] = f"no log for try {tries} (the log is empty or was not written)"
        return result
    redactor = rt.new_redactor()
    # one redactor fed line by line keeps multi-line state (a key printed one line per event)
    text_lines = [strip_control(redactor.redact_line(display_line(line))) for line in raw]
    body, cut = _tail_within("\n".join(text_lines), TASK_LOG_BYTES)
    result.update(
        lines_returned=body.count("\n") + 1,
        lines_in_log=seen,
        bytes_cut=cut,
        log=fence_untrusted(body, source=f"task log {dag_id}/{run_id}/{task_id} try {tries}"),
    )
    return result


def _tail_within(text: str, max_bytes: int) -> tuple[str, int]:
    data = text.encode()
    if len(data) <= max_bytes:
        return text, 0
    kept = data[-max_bytes:].decode("utf-8", "ignore")
    kept = kept.split("\n", 1)[1] if "\n" in kept else kept
    return kept, len(data) - len(kept.encode())


async def diagnose_task(rt: Runtime, env: str, dag_id: str, run_id: str, task_id: str, tries: int) -> Diagnosis:
    key = (env, dag_id, run_id, task_id, tries)
    cached = rt.diagnosis_cache.get(key)
    if cached is not None:
        return cached
    # The log is spooled (memory up to a few MB, then disk), never held whole, then read in a thread.
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as spool:
        async for line in _log_lines(rt, env, dag_id, run_id, task_id, tries):
            spool.write(line + "\n")
        diagnosis = await asyncio.to_thread(diagnose_lines, _lines_of(spool), rt.new_redactor())
    rt.diagnosis_cache[key] = diagnosis
    return diagnosis


def _task_report(task_id: str, tries: int, d: Diagnosis) -> dict[str, Any]:
    report: dict[str, Any] = {
        "task_id": task_id,
        "try_number": tries,
        "category": d.category,
        "confidence": round(d.confidence, 2),
        "basis": d.basis,
        "signature": d.signature,
        "exception": d.exception,
        "message": clip(d.message, 300),
        "evidence": clip(d.evidence, 300),
        "lines": [d.line_start, d.line_end] if d.line_start else None,
    }
    budget = PER_TASK_BYTES - size(report) - 320  # room for the fence around the excerpt
    while d.excerpt and budget > 0:
        # cut down around the evidence line, as the excerpt was built: a cut from the end would drop it first
        excerpt = build_excerpt(d.excerpt, d.evidence, budget, d.exception)
        fenced = {**report, "excerpt": fence_untrusted(excerpt, source=f"error excerpt of {task_id}")}
        over = size(fenced) - PER_TASK_BYTES
        if over <= 0:
            return fenced
        budget -= over  # JSON escaping (quotes, backslashes) made it longer than its bytes
    return report


async def extract_errors(
    rt: Runtime, dag_id: str, run_id: str, task_id: str | None = None, environment: str | None = None
) -> dict[str, Any]:
    check_ids(dag_id=dag_id, run_id=run_id)
    env = rt.environment(environment)[0]
    client = rt.airflow(env)
    if task_id is not None:
        check_ids(task_id=task_id)
        targets = [await client.get_task_instance(dag_id, run_id, task_id)]
    else:
        targets = [t for t in ordered_failures(await client.task_instances(dag_id, run_id)) if t.state == "failed"]
    targets = [t for t in targets if t.try_number >= 1][:5]
    diagnoses = await asyncio.gather(
        *(diagnose_task(rt, env, dag_id, run_id, t.task_id, t.try_number) for t in targets)
    )
    result: dict[str, Any] = {
        "env": env,
        "dag_id": dag_id,
        "run_id": run_id,
        "tasks": [_task_report(t.task_id, t.try_number, d) for t, d in zip(targets, diagnoses, strict=True)],
    }
    if not targets:
        result["message"] = "no failed task with a log in this run" if task_id is None else "the task has not run"
    return fit(result, PER_TASK_BYTES * 5 + 500, "tasks")


async def failure_frequency(
    rt: Runtime,
    dag_id: str,
    task_id: str | None = None,
    lookback_days: int = 7,
    environment: str | None = None,
) -> dict[str, Any]:
    check_ids(dag_id=dag_id)
    if task_id is not None:
        check_ids(task_id=task_id)
    if not 1 <= lookback_days <= 90:
        raise InvalidInput(f"lookback_days must be between 1 and 90; got {lookback_days}")
    env = rt.environment(environment)[0]
    client = rt.airflow(env)
    since = datetime.now(UTC) - timedelta(days=lookback_days)
    history = await client.list_dag_runs(dag_id=dag_id, states=(), end_gte=since, limit=100)
    runs = sorted(history.items, key=lambda r: r.end_date or since)  # oldest first
    failed = [r for r in runs if r.state == "failed"][-FREQUENCY_MAX_RUNS:]
    tasks = await client.failed_tasks_for_runs([(dag_id, r.run_id) for r in failed])
    jobs = [
        (run, ti)
        for run in failed
        for ti in tasks.get((dag_id, run.run_id), [])
        if (task_id is None or ti.task_id == task_id) and ti.try_number >= 1
    ]
    gate = asyncio.Semaphore(4)

    async def one(run_id: str, tid: str, tries: int) -> Diagnosis:
        async with gate:
            return await diagnose_task(rt, env, dag_id, run_id, tid, tries)

    diagnoses = await asyncio.gather(*(one(run.run_id, ti.task_id, ti.try_number) for run, ti in jobs))
    by_sig: dict[str, dict[str, Any]] = {}

    def count(signature: str | None, category: str, exception: str | None, evidence: str | None) -> dict[str, Any]:
        return by_sig.setdefault(
            signature or "no-error-found",
            {
                "signature": signature,
                "category": category,
                "exception": exception,
                "task_ids": set(),
                "runs": [],
                "example": clip(evidence, 200),
            },
        )

    def seen(entry: dict[str, Any], run_id: str, task: str | None, ended: datetime | None) -> None:
        if task:
            entry["task_ids"].add(task)
        if run_id not in entry["runs"]:
            entry["runs"].append(run_id)
        if ended is not None:
            entry["first_end"] = min(entry.get("first_end") or ended, ended)
            entry["last_end"] = max(entry.get("last_end") or ended, ended)

    for (run, ti), d in zip(jobs, diagnoses, strict=True):
        seen(count(d.signature, d.category, d.exception, d.evidence), run.run_id, ti.task_id, run.end_date)
    # A clear makes Airflow forget the failed try; the incident that took the run kept it.
    cleared = await cleared_failures(rt, env, dag_id, since, {r.run_id for r in failed}, task_id)
    for f in cleared:
        seen(count(f.signature, f.category, f.exception, f.evidence), f.run_id, f.task_id, f.failed_at)
    signatures = [_verdict(entry, runs) for entry in sorted(by_sig.values(), key=lambda e: -len(e["runs"]))]
    result = {
        "env": env,
        "dag_id": dag_id,
        "task_id": task_id,
        "lookback_days": lookback_days,
        "runs_in_lookback": history.total,
        "failed_runs": sum(1 for r in runs if r.state == "failed") + len({f.run_id for f in cleared}),
        "cleared_failed_runs": len({f.run_id for f in cleared}),
        "succeeded_runs": sum(1 for r in runs if r.state == "success"),
        "signatures": signatures,
    }
    return fit(result, rt.settings.server.max_result_bytes, "signatures")


def _verdict(entry: dict[str, Any], runs: list[Any]) -> dict[str, Any]:
    """transient: a one-off that later runs got past; persistent: the last three finished runs failed this
    way (triage's `persistent` too, so a DAG's first failure is `new` here and `first` there)."""
    sig_runs = set(entry["runs"])
    finished = [r for r in runs if r.state in ("success", "failed")]
    recent = finished[-3:]
    later = [r for r in finished if entry["last_end"] and r.end_date and r.end_date > entry["last_end"]]
    if len(recent) == 3 and all(r.run_id in sig_runs for r in recent):
        verdict = "persistent"
    elif len(sig_runs) == 1 and any(r.state == "success" for r in later):
        verdict = "transient"
    elif len(sig_runs) == 1:
        verdict = "new"
    else:
        verdict = "recurring"
    return {
        "signature": entry["signature"],
        "category": entry["category"],
        "exception": entry["exception"],
        "failures": len(entry["runs"]),
        "tasks": sorted(entry["task_ids"])[:5],
        "first_seen": iso(entry["first_end"]),
        "last_seen": iso(entry["last_end"]),
        "verdict": verdict,
        "evidence": entry["example"],
    }
