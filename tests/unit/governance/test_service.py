from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from pipeline_sre.errors import NotFound
from pipeline_sre.governance.actions import canonical_json, is_action_id
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.governance.service import ActionFailed, GovernanceService
from pipeline_sre.settings.governance import GovernanceConfig
from tests.unit.governance.conftest import ServiceFactory
from tests.unit.governance.fakes import Clock, Crash, FakeExecutor, run

CLEAR = {"dag_id": "etl_orders", "dag_run_id": "scheduled__2025-01-08T00:00:00+00:00"}


def refused_events(svc: GovernanceService) -> list[dict[str, Any]]:
    return [r.to_dict() for r in svc.audit.records() if r.event == "action.refused"]


def assert_refused(svc: GovernanceService, excinfo: pytest.ExceptionInfo[PolicyRefusal], rule: str) -> None:
    err = excinfo.value
    assert err.rule == rule, err.to_dict()
    assert err.code == "refused"
    last = refused_events(svc)[-1]
    assert last["result"] == rule
    assert last["detail"]["rule"] == rule
    assert last["detail"]["message"] == err.message


def approved(svc: GovernanceService, env: str = "dev", params: dict[str, Any] | None = None, **kw: Any) -> str:
    rec = svc.propose("clear_failed_tasks", env, params or CLEAR, requested_by="agent:claude", **kw)
    svc.request_approval(rec.id, "rerun after transient failure", "agent:claude")
    svc.approve(rec.id, "alice", "ok")
    if env == "prod":
        svc.approve(rec.id, "bob", "ok too")
    assert svc.get_action(rec.id).state == "approved"
    return rec.id


# -- happy path and exactly-once ---------------------------------------------------------------------


def test_propose_returns_exact_call_digest_and_decision(service: GovernanceService) -> None:
    rec = service.propose(
        "trigger_dag",
        "dev",
        {"dag_id": "etl_orders", "conf": {"batch_size": 10}},
        requested_by="agent:claude",
        incident_id="inc-1",
        plan={"step": 1},
    )
    assert is_action_id(rec.id) and rec.state == "proposed"
    assert rec.call == {
        "method": "POST",
        "path": "/api/v2/dags/etl_orders/dagRuns",
        "body": {
            "dag_run_id": f"pipeline_sre__{rec.id}",
            "logical_date": None,
            "conf": {"batch_size": 10},
            "note": None,
        },
    }
    assert len(rec.digest) == 64
    assert rec.decision is not None and rec.decision.rule == "approvals.required"
    assert rec.to_dict()["plan"] == {"step": 1}
    events = [r.event for r in service.audit.records()]
    assert events == ["action.proposed"]


def test_live_execution_happens_exactly_once(service: GovernanceService, executors: dict[str, FakeExecutor]) -> None:
    action_id = approved(service)
    out = run(service.execute(action_id, "agent:claude", expected_kind="clear_failed_tasks", environment="dev"))
    assert out.sent and out.record.state == "succeeded"
    assert executors["clear_failed_tasks"].execute_calls == 1
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent:claude"))
    assert_refused(service, excinfo, "action.already_executed")
    assert executors["clear_failed_tasks"].execute_calls == 1
    events = [r.event for r in service.audit.records()]
    assert events[:5] == [
        "action.proposed",
        "approval.requested",
        "approval.granted",
        "action.executing",
        "action.succeeded",
    ]


def test_failed_execution_is_recorded(service: GovernanceService, executors: dict[str, FakeExecutor]) -> None:
    action_id = approved(service)
    executors["clear_failed_tasks"].fail_with = RuntimeError("400 Bad Request")
    with pytest.raises(ActionFailed, match="400 Bad Request"):
        run(service.execute(action_id, "agent:claude"))
    rec = service.get_action(action_id)
    assert rec.state == "failed" and rec.error and "400" in rec.error
    assert [r.event for r in service.audit.records()][-1] == "action.failed"


def test_prod_needs_two_distinct_approvers(service: GovernanceService) -> None:
    rec = service.propose("clear_failed_tasks", "prod", CLEAR, requested_by="agent:claude")
    service.request_approval(rec.id, "why", "agent:claude")
    assert service.approve(rec.id, "alice").state == "awaiting_approval"
    with pytest.raises(PolicyRefusal) as excinfo:
        service.approve(rec.id, "alice")
    assert_refused(service, excinfo, "approvals.distinct")
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(rec.id, "agent:claude"))
    assert_refused(service, excinfo, "approvals.required")
    assert service.approve(rec.id, "bob").state == "approved"


def test_zero_required_approvals_goes_straight_to_approved_outside_live(make_service: ServiceFactory) -> None:
    svc = make_service(
        mode="dry_run", environments={"dev": {"allow_dags": ["*"], "required_approvals": 0}}, approvers=["alice"]
    )
    rec = svc.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    assert svc.request_approval(rec.id, "sandbox", "agent").state == "approved"


def test_live_mode_refuses_zero_required_approvals() -> None:
    with pytest.raises(ValidationError, match="required_approvals of 1 or more; environments with 0: dev"):
        GovernanceConfig(mode="live", environments={"dev": {"allow_dags": ["*"], "required_approvals": 0}})


# -- refusals ---------------------------------------------------------------------------------------


def test_not_allowlisted(service: GovernanceService) -> None:
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("clear_failed_tasks", "dev", {**CLEAR, "dag_id": "billing_close"}, requested_by="a")
    assert_refused(service, excinfo, "allowlist.dags")
    assert "allow_dags" in (excinfo.value.allow_hint or "")
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("clear_failed_tasks", "staging", CLEAR, requested_by="a")
    assert_refused(service, excinfo, "allowlist.environment")


@pytest.mark.parametrize(
    ("conf", "pointer"),
    [
        ({"batch_size": 5000}, "/batch_size"),
        ({"batch_size": "10"}, "/batch_size"),
        ({"surprise": 1}, "/surprise"),
        ({"options": {"full_refresh": "yes"}}, "/options/full_refresh"),
        ({"options": {"unknown": True}}, "/options/unknown"),
        ({"date": "08.01.2025"}, "/date"),
    ],
)
def test_bad_conf_is_refused_with_pointer(service: GovernanceService, conf: dict[str, Any], pointer: str) -> None:
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("trigger_dag", "dev", {"dag_id": "etl_orders", "conf": conf}, requested_by="a")
    assert_refused(service, excinfo, "conf.schema")
    assert excinfo.value.details["pointer"] == pointer
    assert pointer in excinfo.value.message


def test_conf_without_schema_must_be_empty(service: GovernanceService) -> None:
    ok = service.propose("trigger_dag", "dev", {"dag_id": "reports.daily"}, requested_by="a")
    assert ok.state == "proposed"
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("trigger_dag", "dev", {"dag_id": "reports.daily", "conf": {"x": 1}}, requested_by="a")
    assert_refused(service, excinfo, "conf.schema")


def test_invalid_params_and_unknown_environment(service: GovernanceService) -> None:
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("clear_failed_tasks", "dev", {"dag_id": "etl_orders"}, requested_by="a")
    assert_refused(service, excinfo, "params.invalid")
    assert "dag_run_id" in excinfo.value.message
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("clear_failed_tasks", "qa", CLEAR, requested_by="a")
    assert_refused(service, excinfo, "environment.unknown")
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("drop_table", "dev", {}, requested_by="a")
    assert_refused(service, excinfo, "params.invalid")


def test_self_approval_refused(service: GovernanceService) -> None:
    rec = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="alice")
    with pytest.raises(PolicyRefusal) as excinfo:
        service.approve(rec.id, "alice")
    assert_refused(service, excinfo, "approvals.self_approval")
    assert service.get_action(rec.id).approvals == ()


def test_unknown_approver_refused(service: GovernanceService) -> None:
    rec = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    with pytest.raises(PolicyRefusal) as excinfo:
        service.approve(rec.id, "mallory")
    assert_refused(service, excinfo, "approvals.approver_not_configured")
    assert "alice" in (excinfo.value.allow_hint or "")
    with pytest.raises(PolicyRefusal) as excinfo:
        service.deny(rec.id, "mallory")
    assert_refused(service, excinfo, "approvals.approver_not_configured")


def test_unknown_action_id(service: GovernanceService) -> None:
    for call in (
        lambda: service.approve("act_doesnotexist0000000", "alice"),
        lambda: run(service.execute("act_aaaaaaaaaaaaaaaaaaaa", "agent")),
        lambda: service.request_approval("nope", "r", "agent"),
    ):
        with pytest.raises(PolicyRefusal) as excinfo:
            call()
        assert_refused(service, excinfo, "action.unknown")
    with pytest.raises(NotFound):
        service.get_action("act_aaaaaaaaaaaaaaaaaaaa")


def test_wrong_environment_and_kind(service: GovernanceService) -> None:
    action_id = approved(service)
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent", environment="prod"))
    assert_refused(service, excinfo, "action.wrong_environment")
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent", expected_kind="trigger_dag"))
    assert_refused(service, excinfo, "action.kind_mismatch")


def test_expired_approval(service: GovernanceService, clock: Clock, executors: dict[str, FakeExecutor]) -> None:
    action_id = approved(service)
    clock.advance(minutes=61)
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent"))
    assert_refused(service, excinfo, "approvals.expired")
    assert service.get_action(action_id).state == "expired"
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent"))
    assert_refused(service, excinfo, "action.state")
    assert executors["clear_failed_tasks"].execute_calls == 0


def test_expired_request_cannot_be_approved(service: GovernanceService, clock: Clock) -> None:
    rec = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    service.request_approval(rec.id, "why", "agent")
    clock.advance(hours=2)
    with pytest.raises(PolicyRefusal) as excinfo:
        service.approve(rec.id, "alice")
    assert_refused(service, excinfo, "approvals.request_expired")
    assert service.get_action(rec.id).state == "expired"


def test_denied_cannot_be_approved_or_executed(service: GovernanceService) -> None:
    rec = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    assert service.deny(rec.id, "bob", "not now").state == "denied"
    with pytest.raises(PolicyRefusal) as excinfo:
        service.approve(rec.id, "alice")
    assert_refused(service, excinfo, "action.state")
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(rec.id, "agent"))
    assert_refused(service, excinfo, "action.state")


def _tamper(svc: GovernanceService, action_id: str, params: dict[str, Any], *, fix_digest: bool) -> None:
    with svc.db.connect(write=True) as conn:
        conn.execute(
            text("UPDATE actions SET params_json = :p WHERE id = :i"),
            {"p": canonical_json(params), "i": action_id},
        )
        if fix_digest:  # a smarter attacker recomputes the action digest too
            row = svc.get_action(action_id)
            new = row.action.model_copy(update={"params": params})
            call = svc.executors.get("clear_failed_tasks").describe_call(new)  # type: ignore[union-attr]
            conn.execute(
                text("UPDATE actions SET digest = :d, call_json = :c WHERE id = :i"),
                {"d": new.digest(call), "c": canonical_json(call), "i": action_id},
            )


@pytest.mark.parametrize("fix_digest", [False, True])
def test_tampered_action_voids_approval(
    service: GovernanceService, executors: dict[str, FakeExecutor], fix_digest: bool
) -> None:
    action_id = approved(service)
    _tamper(service, action_id, {**CLEAR, "dag_run_id": "manual__other"}, fix_digest=fix_digest)
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent"))
    assert_refused(service, excinfo, "action.tampered")
    assert service.get_action(action_id).state == "refused"
    assert executors["clear_failed_tasks"].execute_calls == 0


def test_tampered_before_approval(service: GovernanceService) -> None:
    rec = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    _tamper(service, rec.id, {**CLEAR, "dag_id": "etl_payments"}, fix_digest=False)
    with pytest.raises(PolicyRefusal) as excinfo:
        service.approve(rec.id, "alice")
    assert_refused(service, excinfo, "action.tampered")


def test_outside_change_window(service: GovernanceService, clock: Clock) -> None:
    clock.advance(hours=6, minutes=30)  # 16:30 Berlin
    action_id = approved(service, "prod")
    clock.advance(minutes=40)  # 17:10 Berlin: the window closed
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(action_id, "agent"))
    assert_refused(service, excinfo, "window")
    assert "2025-01-09T09:00" in (excinfo.value.allow_hint or "")
    assert service.get_action(action_id).state == "approved"  # not terminal: allowed when the window opens


def test_rate_limit_per_dag_per_hour(service: GovernanceService, clock: Clock) -> None:
    for i in range(2):
        action_id = approved(service, "prod", {**CLEAR, "dag_run_id": f"r{i}"})
        run(service.execute(action_id, "agent"))
    third = approved(service, "prod", {**CLEAR, "dag_run_id": "r3"})
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(third, "agent"))
    assert_refused(service, excinfo, "rate_limit.dag_per_hour")
    clock.advance(minutes=50)  # still inside TTL (60) and the window; the first two are now older than an hour
    clock.advance(minutes=11)
    with pytest.raises(PolicyRefusal) as excinfo:  # but the approvals expired meanwhile
        run(service.execute(third, "agent"))
    assert excinfo.value.rule == "approvals.expired"


def test_automated_rerun_limit_per_incident(service: GovernanceService) -> None:
    first = approved(service, automated=True, incident_id="inc-7")
    run(service.execute(first, "agent"))
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose(
            "clear_failed_tasks",
            "dev",
            {**CLEAR, "dag_run_id": "again"},
            requested_by="agent",
            automated=True,
            incident_id="inc-7",
        )
    assert_refused(service, excinfo, "rate_limit.automated_reruns_per_incident")
    assert "escalate" in excinfo.value.message
    human = service.propose(
        "clear_failed_tasks",
        "dev",
        {**CLEAR, "dag_run_id": "again"},
        requested_by="carol",
        automated=False,
        incident_id="inc-7",
    )
    assert human.state == "proposed"
    with pytest.raises(PolicyRefusal) as excinfo:
        service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent", automated=True)
    assert_refused(service, excinfo, "rate_limit.automated_reruns_per_incident")


def test_automated_limit_also_checked_at_execute(service: GovernanceService) -> None:
    a = approved(service, automated=True, incident_id="inc-9")
    b = approved(service, params={**CLEAR, "dag_run_id": "x"}, automated=False, incident_id="inc-9")
    # Pretend b was automated too (both pending at once is refused at propose; execute checks again).
    with service.db.connect(write=True) as conn:
        conn.execute(text("UPDATE actions SET automated = :t WHERE id = :i"), {"t": True, "i": b})
    run(service.execute(a, "agent"))
    with pytest.raises(PolicyRefusal) as excinfo:
        run(service.execute(b, "agent"))
    # b's digest covers `automated`, so flipping it behind the service's back is caught first.
    assert excinfo.value.rule == "action.tampered"


def test_read_only_mode_refuses(make_service: ServiceFactory, executors: dict[str, FakeExecutor]) -> None:
    svc = make_service(mode="read_only")
    with pytest.raises(PolicyRefusal) as excinfo:
        svc.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    assert_refused(svc, excinfo, "mode.read_only")


def test_read_only_refuses_execute_of_earlier_approval(
    tmp_path: Any, make_service: ServiceFactory, executors: dict[str, FakeExecutor]
) -> None:
    live = make_service()
    action_id = approved(live)
    ro = make_service(mode="read_only")
    with pytest.raises(PolicyRefusal) as excinfo:
        run(ro.execute(action_id, "agent"))
    assert_refused(ro, excinfo, "mode.read_only")
    assert executors["clear_failed_tasks"].execute_calls == 0


def test_dry_run_records_the_call_and_sends_nothing(
    make_service: ServiceFactory, executors: dict[str, FakeExecutor]
) -> None:
    svc = make_service(mode="dry_run")
    action_id = approved(svc)
    out = run(svc.execute(action_id, "agent"))
    assert out.sent is False and out.mode == "dry_run"
    assert out.call["path"] == "/api/v2/dags/etl_orders/clearTaskInstances"
    assert executors["clear_failed_tasks"].execute_calls == 0
    last = list(svc.audit.records())[-1].to_dict()
    assert last["event"] == "action.dry_run" and last["detail"]["call"] == out.call
    assert svc.get_action(action_id).state == "approved"  # switching to live may still execute it


def test_refusals_leave_the_chain_valid(service: GovernanceService) -> None:
    with pytest.raises(PolicyRefusal):
        service.propose("clear_failed_tasks", "dev", {**CLEAR, "dag_id": "nope"}, requested_by="a")
    action_id = approved(service)
    run(service.execute(action_id, "agent"))
    report = service.audit.verify()
    assert report.ok, report.problems
    assert report.records == 6


# -- crash recovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("crash", ["after_send", "before_send"])
def test_recover_executing_without_second_side_effect(
    make_service: ServiceFactory, executors: dict[str, FakeExecutor], clock: Clock, crash: str
) -> None:
    svc = make_service(execution_lease_seconds=30)
    action_id = approved(svc)
    ex = executors["clear_failed_tasks"]
    setattr(ex, f"crash_{crash}", True)
    with pytest.raises(Crash):
        run(svc.execute(action_id, "agent"))
    assert svc.get_action(action_id).state == "executing"
    setattr(ex, f"crash_{crash}", False)
    restarted = make_service(execution_lease_seconds=30)
    assert run(restarted.recover_executing()) == []  # lease not run out: the first process may be alive
    clock.advance(seconds=31)
    recovered = run(restarted.recover_executing())
    assert [r.state for r in recovered] == ["succeeded"]
    assert len(ex.sent) == 1
    assert ex.find_calls >= 1
    assert ex.execute_calls == (1 if crash == "after_send" else 2)
    events = [r.event for r in restarted.audit.records(action_id=action_id)]
    assert events[-2:] == ["action.recovering", "action.succeeded"]
    detail = json.loads(list(restarted.audit.records(action_id=action_id))[-1].detail_json)
    assert detail["recovered"] is True


def test_list_pending_and_show(service: GovernanceService) -> None:
    a = service.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent")
    b = service.propose("clear_failed_tasks", "prod", CLEAR, requested_by="agent")
    service.request_approval(b.id, "needed", "agent")
    assert {r.id for r in service.list_pending()} == {a.id, b.id}
    assert [r.id for r in service.list_pending(environment="prod")] == [b.id]
    shown = service.get_action(b.id).to_dict()
    assert shown["state"] == "awaiting_approval" and shown["approval_reason"] == "needed"
    assert shown["required_approvals"] == 2


def test_a_slow_call_keeps_its_lease_so_no_replica_sends_it_again(
    tmp_path: Any, executors: dict[str, FakeExecutor]
) -> None:
    """The backend takes longer than the lease: the executor renews it while the call is in flight, so a
    second replica's recovery finds nothing stale and the write is sent once."""
    import asyncio

    from tests.unit.governance.fakes import make_settings

    settings = make_settings(tmp_path, execution_lease_seconds=1)
    slow = executors["clear_failed_tasks"]
    original = slow.execute

    async def takes_its_time(action: Any) -> dict[str, Any]:
        await asyncio.sleep(2.5)
        return await original(action)

    slow.execute = takes_its_time  # type: ignore[method-assign]  # a backend that answers slowly
    first = GovernanceService.from_settings(settings, executors=list(executors.values()))
    second = GovernanceService.from_settings(settings, executors=list(executors.values()))
    try:
        action_id = approved(first)

        async def race() -> list[Any]:
            running = asyncio.create_task(first.execute(action_id, "agent:claude"))
            await asyncio.sleep(1.6)  # past the 1 s lease, the call still in flight
            recovered = await second.recover_executing()
            await running
            return recovered

        assert asyncio.run(race()) == []
        assert slow.execute_calls == 1 and first.get_action(action_id).state == "succeeded"
    finally:
        first.close()
        second.close()
