"""Signal detectors: Prometheus conditions (and Kinesis iterator age from CloudWatch) evaluated per subject,
a `Signal` for each subject that fires, and the incident a signal opens or joins.

A detector's condition (and each `also` condition) is an instant PromQL query grouped by the detector's
subject labels; a subject fires when every condition holds for it. `detect_signals` answers with the
runbooks whose metric conditions hold for each signal's subject, as measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import operator
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline_sre.connectors.prometheus import PrometheusClient
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.lifecycle.compact import clip, fit
from pipeline_sre.lifecycle.metrics import num, prometheus_of
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.base import Opening
from pipeline_sre.lifecycle.sources.signals import kinesis, runbook_metrics
from pipeline_sre.settings.backends import DetectorConfig, SignalCondition

SEVERITY = "SEV3"  # a condition holding, not a failed run: it has no tier or failure history to classify it by
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    environment: str
    subject: str
    value: float
    threshold: float
    evidence: str
    runbook_id: str | None
    detector: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    category: str = "unknown"

    @property
    def source(self) -> str:
        return f"signal:{self.detector or self.kind}"

    @property
    def signature(self) -> str:
        return f"{self.kind}:{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detector": self.detector,
            "environment": self.environment,
            "subject": self.subject,
            "value": num(self.value),
            "threshold": num(self.threshold),
            "evidence": self.evidence,
            "runbook_id": self.runbook_id,
        }


def _subjects(data: Mapping[str, Any], labels: Sequence[str]) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    if data.get("resultType") == "scalar":
        return {tuple("" for _ in labels): float(data["result"][1])}
    for s in data.get("result") or []:
        metric = s.get("metric") or {}
        key = tuple(str(metric.get(name, "")) for name in labels)
        value = float((s.get("value") or [0, "NaN"])[1])
        if key not in out or value > out[key]:
            out[key] = value
    return out


def _holds(cond: SignalCondition, value: float) -> bool:
    return math.isfinite(value) and bool(_OPS[cond.op](value, cond.threshold))


def _describe(cond: SignalCondition, value: float) -> str:
    return f"{cond.label or 'value'} = {num(value)} (threshold {cond.op} {num(cond.threshold)})"


async def _measure(client: PrometheusClient, det: DetectorConfig, at: float) -> list[dict[tuple[str, ...], float]]:
    """Per-subject values of the detector's condition and of each `also` condition, in that order."""
    answers = await asyncio.gather(*(client.query(c.query, at) for c in (det.condition, *det.also)))
    return [_subjects(a, det.subject_labels) for a in answers]


def _reading(det: DetectorConfig, values: list[dict[tuple[str, ...], float]], key: tuple[str, ...]) -> tuple[bool, str]:
    """Whether every condition holds for one subject, and the values measured for it."""
    value = values[0][key]
    extra = [(c, v.get(key)) for c, v in zip(det.also, values[1:], strict=True)]
    fires = _holds(det.condition, value) and all(v is not None and _holds(c, v) for c, v in extra)
    return fires, "; ".join([_describe(det.condition, value)] + [_describe(c, v) for c, v in extra if v is not None])


def _subject(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


async def evaluate_detector(client: PrometheusClient, env: str, det: DetectorConfig, at: float) -> list[Signal]:
    values = await _measure(client, det, at)
    signals: list[Signal] = []
    for key, value in values[0].items():
        fires, evidence = _reading(det, values, key)
        if not fires:
            continue
        labels = dict(zip(det.subject_labels, key, strict=True))
        signals.append(
            Signal(
                kind=det.kind,
                environment=env,
                subject=_subject(labels),
                value=value,
                threshold=det.condition.threshold,
                evidence=evidence,
                runbook_id=det.runbook_id,
                detector=det.name,
                labels=labels,
                category=det.category,
            )
        )
    signals.sort(key=lambda s: -s.value)
    return signals


async def recheck_signal(rt: Runtime, env: str, detector: str, subject: str) -> tuple[bool | None, str]:
    """A fresh evaluation of one detector for the subject of a signal it raised: (fires, what was measured).
    `fires` is None when that cannot be told: the detector is gone or the subject has no finite value."""
    _, conn = prometheus_of(rt, env)
    det = next((d for d in conn.detectors if d.name == detector and d.enabled), None)
    if det is None:
        return None, f"detector {detector!r} is no longer configured (or enabled) in environment {env!r}"
    async with rt.clients.prometheus(env) as client:
        values = await _measure(client, det, time.time())
    key = next((k for k in values[0] if _subject(dict(zip(det.subject_labels, k, strict=True))) == subject), None)
    if key is None or not math.isfinite(values[0][key]):
        return None, f"no data for {subject} from: {clip(det.condition.query, 200)}"
    return _reading(det, values, key)


async def kinesis_signals(rt: Runtime, env: str) -> list[Signal]:
    """Streams whose latest CloudWatch iterator age is over the environment's kinesis.threshold_ms."""
    threshold = kinesis.connection(rt, env).threshold_ms
    out: list[Signal] = []
    for stream, series in (await kinesis.stream_ages(rt, env)).items():
        if not series or series[-1][1] <= threshold:
            continue
        growth = kinesis.slope(series[-10:])
        trend_text = f"; growth {num(growth)} ms/s" if growth is not None else ""
        out.append(
            Signal(
                kind=kinesis.KIND,
                environment=env,
                subject=f"stream_name={stream}",
                value=series[-1][1],
                threshold=threshold,
                evidence=f"iterator age (ms) = {num(series[-1][1])} (threshold > {num(threshold)}){trend_text}",
                runbook_id=kinesis.RUNBOOK,
                detector=kinesis.CLOUDWATCH_DETECTOR,
                labels={"stream_name": stream},
                category=kinesis.CATEGORY,
            )
        )
    return out


async def signals_for(rt: Runtime, env: str) -> tuple[list[Signal], list[dict[str, str]], list[str]]:
    """(signals, detector errors, detectors evaluated) for one environment with Prometheus or Kinesis configured."""
    conf = rt.settings.environments.get(env)
    if conf is not None and conf.kinesis is not None:
        try:
            found = await kinesis_signals(rt, env)
            failed: list[dict[str, str]] = []
        except PipelineSreError as err:
            found, failed = [], [{"detector": kinesis.CLOUDWATCH_DETECTOR, "error": err.code, "message": err.message}]
        if conf.prometheus is None:
            return found, failed, [kinesis.CLOUDWATCH_DETECTOR]
        more, errors, names = await signals_for_prometheus(rt, env)
        return (
            sorted([*found, *more], key=lambda s: -s.value),
            [*failed, *errors],
            [*names, kinesis.CLOUDWATCH_DETECTOR],
        )
    return await signals_for_prometheus(rt, env)


async def signals_for_prometheus(rt: Runtime, env: str) -> tuple[list[Signal], list[dict[str, str]], list[str]]:
    _, conn = prometheus_of(rt, env)
    detectors = [d for d in conn.detectors if d.enabled]
    at = time.time()
    async with rt.clients.prometheus(env) as client:
        outcomes = await asyncio.gather(
            *(evaluate_detector(client, env, d, at) for d in detectors), return_exceptions=True
        )
    signals: list[Signal] = []
    errors: list[dict[str, str]] = []
    for det, outcome in zip(detectors, outcomes, strict=True):
        if isinstance(outcome, PipelineSreError):
            errors.append({"detector": det.name, "error": outcome.code, "message": clip(outcome.message, 300) or ""})
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            signals += outcome
    return signals, errors, [d.name for d in detectors]


async def detect_signals(rt: Runtime, environment: str | None = None) -> dict[str, Any]:
    """Evaluate the configured detectors in one environment or every environment with Prometheus."""
    if environment is not None:
        name, conf = rt.environment(environment)
        names = [name if conf.kinesis is not None else prometheus_of(rt, environment)[0]]
    else:
        names = [n for n, e in rt.settings.environments.items() if e.prometheus is not None or e.kinesis is not None]
    skipped = [n for n in rt.selected(environment) if n not in names]
    results = await rt.each_environment(names, lambda env: signals_for(rt, env))
    signals: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    evaluated: dict[str, list[str]] = {}
    for env, outcome in results:
        if isinstance(outcome, PipelineSreError):
            errors.append({"environment": env, "error": outcome.code, "message": clip(outcome.message, 300) or ""})
            continue
        found, det_errors, dets = outcome
        signals += await _with_runbook_matches(rt, env, found)
        errors += [{"environment": env, **e} for e in det_errors]
        evaluated[env] = dets
    result: dict[str, Any] = {"count": len(signals), "signals": signals, "evaluated": evaluated}
    if errors:
        result["errors"] = errors
    if skipped:
        result["without_prometheus"] = skipped
    if not names:
        result["message"] = "no environment has a prometheus section in its configuration"
    return fit(result, rt.settings.server.max_result_bytes, "signals")


MAX_MATCHED_SIGNALS = 20  # runbook conditions are measured for at most this many signals per environment


async def _with_runbook_matches(rt: Runtime, env: str, found: Sequence[Signal]) -> list[dict[str, Any]]:
    """Each signal's dict, with the runbooks whose metric match conditions hold for its subject, as measured."""
    out = [s.to_dict() for s in found]
    runbooks = [rb for rb in rt.runbooks.all() if rb.match.metrics]
    if not out or not runbooks or env not in rt.settings.environments:
        return out
    conn = rt.settings.environments[env].prometheus
    at = time.time()
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(rt.clients.prometheus(env)) if conn is not None else None
        queries = runbook_metrics.catalog(conn) if conn is not None else {}
        for sig, entry in zip(found[:MAX_MATCHED_SIGNALS], out, strict=False):
            if sig.detector == kinesis.CLOUDWATCH_DETECTOR:
                read = kinesis.cloudwatch_reader(rt, env, sig.labels)
            elif client is not None:
                read = runbook_metrics.prometheus_reader(client, queries, sig.labels)
            else:
                continue
            try:
                entry["runbook_matches"] = await runbook_metrics.match_runbooks(read, runbooks, at)
            except PipelineSreError as err:
                entry["runbook_matches_error"] = clip(err.message, 200)
    return out


def opening(sig: Signal, advice: dict[str, Any]) -> Opening:
    """The incident a signal opens, or joins while its condition holds; `advice` is what suggest_conf says
    for it (the runbook's plan and conf deltas), announced with a new incident since nothing is proposed."""
    facts = {"signal": sig.to_dict()}
    return Opening(
        environment=sig.environment,
        source=sig.source,
        subject=sig.subject,
        signature=sig.signature,
        category=sig.category,
        severity=SEVERITY,
        title=f"{sig.kind.replace('_', ' ')} on {sig.subject}: {sig.evidence}",
        run_id=None,
        task_id=None,
        facts=facts,
        diagnosed=False,
        runbook_id=advice.get("runbook_id"),
        announce={**facts, "plan": advice},
    )
