"""Ranking a plan's writes by how they fared before for the same failure (incident memory).

The runbook names the writes that may fix a failure; memory says which of them recovered it before. Each
candidate (the runbook's writes, and any Airflow write that recovered this failure before) scores
(recovered + 1) / (tries + 2): an untried kind 0.5, one recovery in one try 0.67, three failures in three
0.2, so a single bad try does not bury a kind and one lucky try does not crown one. The runbook's choice
is replaced only by a candidate that scores higher and that the policy would allow now; a caller who named
the action keeps it. A runbook that escalates is never overruled: memory only informs the human then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pipeline_sre.errors import PipelineSreError
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.lifecycle import incident_memory
from pipeline_sre.lifecycle.plans import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.airflow import remediate
from pipeline_sre.lifecycle.sources.airflow.remediate import WRITE_KINDS
from pipeline_sre.store.incident_memory import Recall
from pipeline_sre.store.incidents import Incident


@dataclass(frozen=True, slots=True)
class Candidate:
    plan: Plan
    tries: int
    recovered: int
    in_runbook: bool
    refused_by: str | None  # the policy rule that would refuse it now

    @property
    def kind(self) -> str:
        return str(self.plan.kind)

    @property
    def score(self) -> float:
        return (self.recovered + 1) / (self.tries + 2)

    def view(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tries": self.tries,
            "recovered": self.recovered,
            "score": round(self.score, 2),
            "in_runbook": self.in_runbook,
            "policy": self.refused_by or "allowed",
        }


def remembered_plan(
    rt: Runtime,
    env: str,
    summary: dict[str, Any],
    errors: dict[str, Any],
    plan: Plan,
    *,
    incident: Incident | None = None,
    requested: str | None = None,
) -> Plan:
    """The plan with the failure's memory shown (`memory`) and its write ranked by past success
    (`plan.ranking`). Blocking (store)."""
    if incident is not None:
        found = incident_memory.recall_incident(rt, incident)
    else:
        found = incident_memory.recall(rt, incident_memory.failure_of(env, summary["dag_id"], errors))
    seen = incident_memory.view(rt, found, incident_memory.PROPOSAL_INCIDENTS)
    if seen is None:
        return plan
    if plan.kind is not None and found.by_kind:
        replan = partial(remediate.plan_for, rt, env, summary, errors)
        plan = _ranked(rt, env, plan, found, requested, replan)
    plan.result["memory"] = seen
    return plan


def _ranked(
    rt: Runtime, env: str, plan: Plan, found: Recall, requested: str | None, replan: Callable[..., Plan]
) -> Plan:
    """`replan(action=, conf=)` is the same runbook's plan for another of its writes."""
    runbook_kinds = [s.action for s in rt.runbooks.get(plan.runbook_id).plan if s.action in WRITE_KINDS]
    proven = [r.kind for r in found.by_kind if r.recovered and r.kind in WRITE_KINDS]
    candidates = []
    for kind in dict.fromkeys([str(plan.kind), *runbook_kinds, *proven]):
        option = plan
        if kind != plan.kind:
            option = replan(action=kind, conf=_conf(found, kind))
        record = found.record(kind)
        candidates.append(
            Candidate(
                option,
                record.tries if record else 0,
                record.recovered if record else 0,
                kind in runbook_kinds,
                _refusal(rt, env, option),
            )
        )
    default = candidates[0]
    allowed = [c for c in candidates if c.refused_by is None and c.score > default.score]
    chosen = default if requested is not None or not allowed else max(allowed, key=lambda c: c.score)
    ranking = {
        "chosen": chosen.kind,
        "because": _because(chosen, default, candidates, found, requested),
        "basis": found.basis,
        "candidates": [c.view() for c in sorted(candidates, key=lambda c: -c.score)],
    }
    chosen.plan.result["plan"]["ranking"] = ranking
    return chosen.plan


def _conf(found: Recall, kind: str) -> dict[str, Any] | None:
    """The conf of the newest trigger_dag that recovered this failure: the delta that worked, proposed again
    (the policy's conf schema still judges it)."""
    if kind != "trigger_dag":
        return None
    for past in found.incidents:
        for action in reversed(past.actions):
            if action.kind == kind and action.outcome == "recovered" and isinstance(action.params.get("conf"), dict):
                return dict(action.params["conf"])
    return None


def _refusal(rt: Runtime, env: str, plan: Plan) -> str | None:
    """The rule that would refuse this write if proposed now by a human (mode, allowed kinds and DAGs, the
    conf schema); None when allowed."""
    try:
        spec = get_kind(str(plan.kind))
        parsed = spec.parse(plan.params)
    except PipelineSreError as err:
        return err.code
    decision = rt.governance.policy.propose_decision(
        environment=env,
        kind=spec.kind,
        resource=spec.resource(parsed),
        conf=spec.conf(parsed),
        automated=False,
        incident_id=None,
        is_rerun=spec.is_rerun,
        automated_reruns_for_incident=0,
    )
    return None if decision.allowed else decision.rule


def _record_text(c: Candidate, basis: str | None) -> str:
    if not c.tries:
        return f"{c.kind} was not tried for this {basis} before"
    return f"{c.kind} recovered {c.recovered} of {c.tries} past incidents with this {basis}"


def _because(
    chosen: Candidate, default: Candidate, candidates: list[Candidate], found: Recall, requested: str | None
) -> str:
    if requested is not None:
        return f"{requested} as requested; memory: {_record_text(default, found.basis)}"
    if chosen is not default:
        conf = chosen.plan.params.get("conf")
        with_conf = f", with the conf that worked ({', '.join(sorted(conf))})" if conf else ""
        return (
            f"ranked first by past success: {_record_text(chosen, found.basis)}{with_conf}; "
            f"the runbook's {_record_text(default, found.basis)}"
        )
    text = f"the runbook's choice: {_record_text(default, found.basis)}"
    for better in (c for c in candidates if c.refused_by is not None and c.score > default.score):
        text += f"; {_record_text(better, found.basis)} but the policy would refuse it now ({better.refused_by})"
    if default.tries >= 2 and not default.recovered:
        text += "; it never recovered this failure: consider escalating instead"
    return text
