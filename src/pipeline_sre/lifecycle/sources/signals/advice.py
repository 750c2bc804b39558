"""Signal advice (`suggest_conf`): the runbook plan for a metric problem, with Spark conf deltas computed
from the job's plan context (`conf_advice`) and the commands that confirm the diagnosis. Suggestions only:
a configuration change is a human's, through rollout_config."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline_sre.errors import InvalidInput, PipelineSreError
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.signals import conf_advice
from pipeline_sre.lifecycle.sources.signals.detectors import Signal
from pipeline_sre.models import CATEGORIES
from pipeline_sre.runbooks.loader import Runbook
from pipeline_sre.settings.backends import default_detectors


@dataclass(frozen=True, slots=True)
class ConfDelta:
    key: str
    value: str
    reason: str
    scale: float | None = None  # relative to the current value when plan_context gives one


_CONF_DELTAS: dict[str, tuple[ConfDelta, ...]] = {
    "spark_gc_pressure": (
        ConfDelta("spark.executor.memory", "+50%", "More heap per executor lowers collection frequency.", 1.5),
        ConfDelta(
            "spark.executor.cores",
            "-50%",
            "Fewer concurrent tasks share the heap, so each task's working set fits.",
            0.5,
        ),
        ConfDelta(
            "spark.sql.shuffle.partitions",
            "x2",
            "Smaller partitions keep per-task aggregation and sort buffers smaller.",
            2.0,
        ),
        ConfDelta(
            "spark.executor.extraJavaOptions",
            "-XX:+UseG1GC -XX:InitiatingHeapOccupancyPercent=35",
            "G1 with earlier concurrent marking avoids long full collections on large heaps.",
        ),
    ),
    "data_freshness": (),
}
_COMMANDS: dict[str, tuple[str, ...]] = {
    "spark_gc_pressure": ("Spark UI > Executors: GC Time column vs Task Time (red above 10%)",),
    "data_freshness": (
        "list_recent_failures for the producing DAG, then triage its latest failed run",
        "Check that the producing DAG is unpaused and its last run is not stuck in queued/running",
    ),
}
KINDS = (
    "spark_stage_skew",
    "spark_gc_pressure",
    "spark_oom",
    "kafka_consumer_lag",
    "kinesis_iterator_age",
    "data_freshness",
)
_KEYWORDS: tuple[tuple[str, str], ...] = (
    (r"skew|straggler|hot key|p95.*p50|shuffle read", "spark_stage_skew"),
    (r"out ?of ?memory|\boom\b|stopped unexpectedly|exit code 137|container killed", "spark_oom"),
    (r"\bgc\b|garbage|gc time|gc overhead|heap", "spark_gc_pressure"),
    (r"kinesis|iterator ?age|getrecords", "kinesis_iterator_age"),
    (r"lag|consumer ?group|offsets? behind|kafka|msk", "kafka_consumer_lag"),
    (r"fresh|stale|sla|last success|late data", "data_freshness"),
)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kmgt]?)b?$", re.IGNORECASE)


def _scaled(current: str, factor: float) -> str | None:
    """`4g` x1.5 -> `6g`; `200` x2 -> `400`; None when `current` is not a number or size."""
    m = _SIZE.match(current.strip())
    if not m:
        return None
    value = float(m.group(1)) * factor
    unit = m.group(2)
    if unit:
        return f"{max(1, round(value))}{unit.lower()}"
    return str(max(1, round(value)))


def _deltas(kind: str, rb: Runbook | None, current: Mapping[str, str], problem: str = "") -> list[dict[str, Any]]:
    configured = getattr(rb, "conf_deltas", None) if rb is not None else None
    computed = conf_advice.advice(kind, current, problem)
    if computed is not None and not configured:
        return conf_advice.entries(computed, current)
    base: Sequence[ConfDelta] = (
        [ConfDelta(str(d.key), str(d.value), str(getattr(d, "reason", ""))) for d in configured]
        if configured
        else _CONF_DELTAS.get(kind, ())
    )
    out: list[dict[str, Any]] = []
    for d in base:
        now = current.get(d.key)
        proposed = d.value
        if d.scale is not None and now is not None:
            proposed = _scaled(now, d.scale) or d.value
        if now is not None and now.lower() == proposed.lower():
            continue  # already set as proposed
        entry: dict[str, Any] = {"key": d.key, "proposed": proposed, "reason": d.reason}
        if now is not None:
            entry["current"] = now
        out.append(entry)
    return out


def suggest_conf(rt: Runtime, problem: str, plan_context: str = "") -> dict[str, Any]:
    """The runbook plan for a metric problem, with Spark conf deltas relative to `plan_context`'s values."""
    text = problem.strip()
    if not text:
        raise InvalidInput("problem must name the symptom, e.g. 'stage skew', 'GC time 60%', 'consumer lag rising'")
    if len(text) > 2000 or len(plan_context) > 8000:
        raise InvalidInput("problem must be at most 2000 characters and plan_context at most 8000")
    lowered = text.lower()
    kind = next((k for k in KINDS if k in lowered.replace(" ", "_")), None)
    kind = kind or _RUNBOOK_KINDS.get(lowered.replace(" ", "_"))
    if kind is None:
        kind = next((k for pattern, k in _KEYWORDS if re.search(pattern, lowered)), None)
    reasons: list[str] = []
    rb: Runbook | None = None
    if kind is not None:
        reasons.append(f"problem text reads as {kind}")
        rb_id = _runbook_for(rt, kind, lowered)
        if rb_id:
            try:
                rb = rt.runbooks.get(rb_id)
            except PipelineSreError:
                rb = None
    if rb is None:
        matches = rt.runbooks.match(signature_text=text, category=lowered if lowered in _categories() else None)
        if matches:
            rb = matches[0].runbook
            reasons += list(matches[0].reasons)
    if kind is None and rb is None:
        known = ", ".join(sorted(KINDS))
        raise InvalidInput(f"no runbook matches {clip(text, 80)!r}; describe the symptom or name one of: {known}")
    current = conf_advice.parse_context(plan_context)
    result: dict[str, Any] = {"problem": clip(text, 200), "kind": kind, "matched_because": reasons}
    result.update(_advice(rb, kind, current, text))
    if current:
        result["plan_context_conf"] = current
    result["note"] = "Suggestions only: a conf change is an owner change; use propose_action for anything that writes."
    return fit(result, rt.settings.server.max_result_bytes, "prevention", "commands", "steps", "conf_deltas")


def _advice(rb: Runbook | None, kind: str | None, current: Mapping[str, str], problem: str = "") -> dict[str, Any]:
    """The runbook's plan, the Spark conf deltas (relative to `current`) and the diagnostic commands for a kind."""
    out: dict[str, Any] = {}
    if rb is not None:
        out.update(
            runbook_id=rb.id,
            title=rb.title,
            why=" ".join(rb.why.split()),
            plan=[{"title": s.title, "action": s.action, "reversible": s.reversible} for s in rb.plan],
            risk=rb.risk.level,
            rollback=rb.rollback,
            verify=[v.description or v.check for v in rb.verify],
            prevention=rb.prevention,
        )
    out["conf_deltas"] = _deltas(kind or "", rb, current, problem) if kind else []
    computed = conf_advice.advice(kind or "", current, problem)
    if computed is not None:
        out["steps"] = computed.steps
    configured_cmds = getattr(rb, "commands", None) if rb is not None else None
    default_cmds = computed.commands if computed is not None else _COMMANDS.get(kind or "", ())
    out["commands"] = list(configured_cmds) if configured_cmds else list(default_cmds)
    return out


def signal_advice(rt: Runtime, sig: Signal) -> dict[str, Any]:
    """What suggest_conf says for a signal, from the runbook its detector names. Blocking (runbook files)."""
    rb: Runbook | None = None
    if sig.runbook_id:
        try:
            rb = rt.runbooks.get(sig.runbook_id)
        except PipelineSreError:
            rb = None  # a detector naming a runbook that is gone still gets its kind's deltas and commands
    advice = {"kind": sig.kind, **_advice(rb, sig.kind, {}, sig.evidence)}
    advice["note"] = "Suggestions only: a configuration change goes through rollout_config, approved by a human."
    return advice


_RUNBOOK_KINDS = {"databricks_job_oom": "spark_oom", "oom": "spark_oom", "kafka_consumer": "kafka_consumer_lag"}


def _runbook_for(rt: Runtime, kind: str, problem: str = "") -> str | None:
    """The runbook a configured detector of this kind names, else the default detector's; OOM by its wording."""
    if kind == "spark_oom":
        return "databricks_job_oom" if re.search(r"databricks|driver", problem) else "oom"
    for env in rt.settings.environments.values():
        for det in env.prometheus.detectors if env.prometheus else []:
            if det.kind == kind and det.runbook_id:
                return det.runbook_id
    return next((d.runbook_id for d in default_detectors() if d.kind == kind), None)


def _categories() -> frozenset[str]:
    return frozenset(CATEGORIES)
