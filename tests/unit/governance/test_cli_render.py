"""The CLI's readable views of a proposal, an action and an outcome: the decision-relevant lines, with
data escaped (a log-derived evidence line cannot inject rich markup)."""

from __future__ import annotations

from rich.console import Console

from pipeline_sre.governance.service import GovernanceService
from pipeline_sre.lifecycle.plans import action_view
from pipeline_sre.runbooks.loader import RunbookLibrary
from pipeline_sre.surfaces.cli.render import render_action, render_outcome, render_proposal
from tests.unit.governance.fakes import run

CLEAR = {"dag_id": "etl_orders", "dag_run_id": "scheduled__2025-01-08T00:00:00+00:00"}


def text_of(render: object, *args: object) -> str:
    console = Console(record=True, width=200, color_system=None)
    render(console, *args)  # type: ignore[operator]
    return console.export_text()


def test_action_and_outcome_show_the_exact_call_approvals_and_mode(service: GovernanceService) -> None:
    rec = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent:claude")
    service.request_approval(rec.id, "transient network", "agent:claude")
    service.approve(rec.id, "alice", "ok")
    shown = text_of(render_action, action_view(service.get_action(rec.id)))
    assert f"{rec.id}  clear_failed_tasks in dev: approved" in shown
    assert "Exact call  POST /api/v2/dags/etl_orders/clearTaskInstances" in shown
    assert "alice (approve)" in shown
    outcome = run(service.execute(rec.id, "agent:claude")).to_dict()
    done = text_of(render_outcome, outcome)
    assert rec.id in done and "clearTaskInstances" in done


def test_proposal_lists_plan_risk_rollback_verify_and_the_refusal() -> None:
    book = RunbookLibrary.load().get("transient_network")
    proposal = {
        "env": "prod",
        "dag_id": "etl_orders",
        "run_id": "manual__1",
        "severity": "SEV2",
        "incident_id": "inc_x",
        "diagnosis": {
            "task_id": "fetch",
            "category": "transient_network",
            "confidence": 0.89,
            "evidence": "[bold red]ConnectionRefusedError[/] connection refused",
        },
        "plan": {
            "runbook": book.id,
            "title": book.title,
            "why": book.why,
            "steps": [{"title": s.title, "action": s.action} for s in book.plan],
            "impact": book.impact,
            "risk": book.risk.model_dump(),
            "rollback": book.rollback,
            "verify": [{"check": "dag_run_state", "expect": "success"}],
        },
        "decision": {"allowed": False, "rule": "allowlist.dag", "message": "not listed", "allow_hint": "add it"},
        "next": "the policy refuses this action now",
    }
    shown = text_of(render_proposal, proposal)
    for expected in ("SEV2", "Rollback", "check=dag_run_state, expect=success", "refused by rule allowlist.dag"):
        assert expected in shown
    assert "to allow: add it" in shown and "[clear_failed_tasks]" in shown
    assert "[bold red]ConnectionRefusedError[/]" in shown  # markup in log text is shown as text, not applied
