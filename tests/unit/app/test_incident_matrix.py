"""One incident, one door: whichever surface proposes, asks, decides, executes or closes, the incident
keeps one set of books, and the four-eyes rule compares people across surfaces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pipeline_sre.app import operations
from pipeline_sre.governance.identity import Principal
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.store.incidents import Incident
from tests.fakes.airflow_api import FakeAirflow, FakeDag
from tests.unit.app.test_write_retries import runtime
from tests.unit.test_autopilot_webhooks import DAG, NETWORK_ERROR, TASKS, add_failed_run

pytestmark = pytest.mark.anyio
SURFACES = ("mcp", "cli", "web", "slack")
RUN = "manual__flood"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSRE_T_USER", "admin")
    monkeypatch.setenv("PSRE_T_PASS", "admin")


@pytest.fixture
def fake() -> FakeAirflow:
    fake = FakeAirflow("3")
    fake.add_dag(FakeDag(DAG, ["tier:2", "team:commerce"], "commerce", 3600, TASKS, max_tries=1))
    add_failed_run(fake, RUN, NETWORK_ERROR)
    return fake


@pytest.fixture
async def rt(tmp_path: Path, fake: FakeAirflow) -> AsyncIterator[Runtime]:
    rt = runtime(tmp_path, fake)
    yield rt
    await rt.aclose()


def who(kind: str, name: str) -> Principal:
    return Principal(kind, name)  # type: ignore[arg-type]  # kinds come from SURFACES, all valid


@pytest.mark.parametrize("requested_via", SURFACES)
@pytest.mark.parametrize("approved_via", ("cli", "web", "slack"))
async def test_nobody_approves_their_own_request_from_any_surface(
    rt: Runtime, requested_via: str, approved_via: str
) -> None:
    plan = await operations.propose(rt, who(requested_via, "Alice"), DAG, RUN, "prod")
    action_id = plan["action"]["id"]
    operations.request_approval(rt, who(requested_via, "Alice"), action_id, "rerun once")
    with pytest.raises(PolicyRefusal) as refused:
        operations.decide(rt, who(approved_via, "alice"), action_id, approve=True, comment=None)
    assert refused.value.rule == "approvals.self_approval"
    record = rt.governance.get_action(action_id)
    assert record.state == "awaiting_approval" and record.approvals == ()


@pytest.mark.parametrize("proposed_via", SURFACES)
@pytest.mark.parametrize("executed_via", ("mcp", "cli"))
async def test_the_incident_follows_the_action_across_surfaces(
    rt: Runtime, fake: FakeAirflow, proposed_via: str, executed_via: str
) -> None:
    bob = who(proposed_via, "bob")
    plan = await operations.propose(rt, bob, DAG, RUN, "prod")
    again = await operations.propose(rt, who("cli", "carol"), DAG, RUN, "prod")  # a second surface, same run
    assert again["action"]["id"] == plan["action"]["id"] and again["reused"] is True
    assert len(rt.governance.list_pending()) == 1
    incident = rt.incidents.get(plan["incident_id"])
    assert incident.state == "proposed" and incident.action_id == plan["action"]["id"]
    operations.request_approval(rt, who("cli", "carol"), plan["action"]["id"], "transient; rerun once")
    assert rt.incidents.get(incident.id).state == "awaiting_approval"
    operations.decide(rt, who("web", "alice"), plan["action"]["id"], approve=True, comment="ok")
    done = await operations.execute(rt, who(executed_via, "dave"), plan["action"]["id"])
    assert done["sent"] and done["incident_id"] == incident.id and len(fake.cleared) == 1
    incident = rt.incidents.get(incident.id)
    assert incident.state == "verifying" and incident.occurrences == 1
    moves = [(m.get("from"), m["to"], m["by"]) for m in incident.transitions]
    assert moves == [
        (None, "detected", bob.actor),
        ("detected", "triaged", bob.actor),
        ("triaged", "diagnosed", bob.actor),
        ("diagnosed", "proposed", bob.actor),
        ("proposed", "awaiting_approval", "cli:carol"),
        ("awaiting_approval", "executing", f"{executed_via}:dave"),
        ("executing", "verifying", f"{executed_via}:dave"),
    ]
    assert incident.durations()["time_to_detect_s"] >= 0  # measured from the failure, not the proposal
    assert incident.steps["failed"] < incident.steps["detected"]


async def test_a_different_write_supersedes_the_pending_one_audibly(rt: Runtime) -> None:
    first = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    operations.request_approval(rt, who("mcp", "bob"), first["action"]["id"], "rerun")
    refused = await operations.propose(rt, who("cli", "bob"), DAG, RUN, "prod", action="trigger_dag", conf={"x": 1})
    assert refused["decision"]["rule"] == "conf.schema" and "superseded" not in refused  # the pending one stays
    assert rt.governance.get_action(first["action"]["id"]).state == "awaiting_approval"
    second = await operations.propose(rt, who("cli", "bob"), DAG, RUN, "prod", action="trigger_dag")
    assert second["superseded"] == first["action"]["id"]
    assert rt.governance.get_action(first["action"]["id"]).state == "cancelled"
    incident = rt.incidents.get(second["incident_id"])
    assert "action" in second, second["decision"]
    assert incident.action_id == second["action"]["id"] and incident.state == "proposed"
    events = [r.event for r in rt.governance.audit.records(action_id=first["action"]["id"])]
    assert events[-1] == "action.cancelled"


@pytest.mark.parametrize("closed_via", SURFACES)
async def test_closing_by_hand_withdraws_the_pending_action(rt: Runtime, closed_via: str) -> None:
    plan = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    operations.request_approval(rt, who("mcp", "bob"), plan["action"]["id"], "rerun")
    out = await operations.close(rt, who(closed_via, "alice"), plan["incident_id"], "fixed by hand upstream")
    assert out["cancelled_action"] == plan["action"]["id"]
    incident: Incident = rt.incidents.get(plan["incident_id"])
    assert incident.state == "closed" and incident.close_reason == "fixed by hand upstream"
    with pytest.raises(PolicyRefusal):
        operations.decide(rt, who("web", "alice2"), plan["action"]["id"], approve=True, comment=None)
    with pytest.raises(Exception, match="reason"):
        await operations.close(rt, who("cli", "alice"), plan["incident_id"], "   ")


async def test_escalating_withdraws_the_pending_action(rt: Runtime) -> None:
    plan = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    out = await operations.escalate(rt, who("cli", "alice"), plan["incident_id"], "the partner API is down for a day")
    assert out["cancelled_action"] == plan["action"]["id"]
    assert rt.governance.get_action(plan["action"]["id"]).state == "cancelled"
    assert rt.incidents.get(plan["incident_id"]).state == "escalated"


async def test_a_denial_hands_the_incident_to_a_human(rt: Runtime) -> None:
    plan = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    operations.request_approval(rt, who("mcp", "bob"), plan["action"]["id"], "rerun")
    operations.decide(rt, who("slack", "alice"), plan["action"]["id"], approve=False, comment="not now")
    incident = rt.incidents.get(plan["incident_id"])
    assert incident.state == "escalated" and "denied by alice: not now" in (incident.escalation_reason or "")


async def test_the_approver_sees_the_plan_on_the_action(rt: Runtime) -> None:
    plan = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    view = operations.get_action(rt, plan["action"]["id"])
    stored = view["plan"]
    assert stored["runbook"] == "transient_network" and stored["steps"] and stored["rollback"] and stored["impact"]
    assert stored["risk"]["level"] and stored["verify"] and stored["diagnosis"]["category"] == "transient_network"
    pending = operations.list_pending(rt, None)
    assert pending["actions"][0]["plan"]["title"]


async def test_a_refused_proposal_does_not_block_the_next(tmp_path: Path, fake: FakeAirflow) -> None:
    """The newcomer's stuck incident: the first propose is refused (no write policy for the DAG yet); once a
    policy allows it, the next propose links its action to the same incident, which goes on as usual."""
    blocked = runtime(tmp_path, fake, allow=("nothing_*",))
    try:
        first = await operations.propose(blocked, who("cli", "bob"), DAG, RUN, "prod")
        assert first["decision"]["rule"] == "allowlist.dags" and "action" not in first
    finally:
        await blocked.aclose()
    allowed = runtime(tmp_path, fake)
    try:
        second = await operations.propose(allowed, who("mcp", "bob"), DAG, RUN, "prod")
        assert second["incident_id"] == first["incident_id"]
        incident = allowed.incidents.get(first["incident_id"])
        assert "action" in second, second["decision"]
        assert incident.action_id == second["action"]["id"] and incident.state == "proposed"
        operations.request_approval(allowed, who("mcp", "bob"), second["action"]["id"], "rerun")
        operations.decide(allowed, who("web", "alice"), second["action"]["id"], approve=True, comment=None)
        done = await operations.execute(allowed, who("cli", "bob"), second["action"]["id"])
        assert done["incident_id"] == incident.id and allowed.incidents.get(incident.id).state == "verifying"
    finally:
        await allowed.aclose()


async def test_an_agent_needs_few_calls(rt: Runtime, fake: FakeAirflow) -> None:
    """Triage brings the decisive error, the approval reason comes from the stored plan, and a pending
    verification says when to look again."""
    triaged = await operations.triage_with_error(rt, DAG, RUN, "prod")
    assert triaged["decisive_error"]["category"] == "transient_network" and len(str(triaged)) < 2500
    assert triaged["decisive_error"]["basis"].startswith("rule ")  # a rule's answer, not the model's guess
    plan = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    asked = operations.request_approval(rt, who("mcp", "bob"), plan["action"]["id"])
    reason = asked["action"]["approval_reason"]
    assert reason.startswith("transient_network in orders_daily") and "Rollback:" in reason
    operations.decide(rt, who("web", "alice"), plan["action"]["id"], approve=True, comment=None)
    await operations.execute(rt, who("mcp", "bob"), plan["action"]["id"])
    verdict = await operations.verify_recovery(rt, who("mcp", "bob"), plan["incident_id"])
    assert verdict["verdict"] == "pending" and verdict["next_check_at"] > verdict["checked_at"]


async def test_a_cleared_failure_still_counts_in_frequency_and_triage(rt: Runtime, fake: FakeAirflow) -> None:
    """After a clear Airflow keeps only the try that succeeded; the incident kept the failure, so
    failure_frequency and triage (which must agree) still count it."""
    from datetime import UTC, datetime

    from pipeline_sre.lifecycle.sources.airflow import diagnose, triage

    plan = await operations.propose(rt, who("mcp", "bob"), DAG, RUN, "prod")
    operations.request_approval(rt, who("mcp", "bob"), plan["action"]["id"], "transient; rerun once")
    operations.decide(rt, who("web", "alice"), plan["action"]["id"], approve=True, comment=None)
    await operations.execute(rt, who("cli", "bob"), plan["action"]["id"])
    fake.finish_run(DAG, RUN, "success", datetime.now(UTC))  # the rerun worked: Airflow shows no failure now
    frequency = await diagnose.failure_frequency(rt, DAG, environment="prod")
    assert frequency["failed_runs"] == 1 and frequency["cleared_failed_runs"] == 1
    [signature] = frequency["signatures"]
    assert signature["failures"] == 1 and signature["category"] == "transient_network"
    add_failed_run(fake, "manual__again", NETWORK_ERROR, minutes_ago=1)
    again = await triage.triage(rt, DAG, "manual__again", "prod")
    assert again["failures_in_lookback"] == 2 and again["persistence"] == "repeated"
    frequency = await diagnose.failure_frequency(rt, DAG, environment="prod")
    assert frequency["failed_runs"] == 2 and frequency["signatures"][0]["failures"] == 2
