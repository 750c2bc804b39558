from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from pipeline_sre.connectors.clients import Clients
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance import kinds
from pipeline_sre.governance.actions import (
    Action,
    ActionKind,
    canonical_json,
    is_action_id,
    new_action_id,
    run_id_for,
)
from pipeline_sre.governance.kinds import get_kind
from pipeline_sre.governance.service import GovernanceService
from tests.unit.governance.conftest import ServiceFactory
from tests.unit.governance.fakes import run

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def action(**kw: Any) -> Action:
    base: dict[str, Any] = dict(
        id="act_" + "a" * 20,
        kind="trigger_dag",
        environment="dev",
        params={"dag_id": "etl", "conf": {"b": 1, "a": [1, 2]}, "note": None},
        requested_by="agent",
        created_at=T0,
    )
    base.update(kw)
    return Action(**base)


def test_ids_and_run_ids() -> None:
    ids = {new_action_id() for _ in range(200)}
    assert len(ids) == 200 and all(is_action_id(i) for i in ids)
    assert not is_action_id("act_UPPERCASE000000000")
    assert run_id_for("act_x") == "pipeline_sre__act_x"


def test_canonical_json_and_digest() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    a = action()
    same = action(params={"note": None, "conf": {"a": [1, 2], "b": 1}, "dag_id": "etl"})
    assert a.digest() == same.digest()
    assert a.digest() != action(params={**a.params, "conf": {"b": 2, "a": [1, 2]}}).digest()
    assert a.digest() != action(automated=True).digest()
    call = {"method": "POST", "path": "/x", "body": {}}
    assert a.digest(call) != a.digest({**call, "path": "/y"})
    assert a.digest() == action(created_at=datetime(2030, 1, 1, tzinfo=UTC)).digest()


def test_params_validation() -> None:
    spec = get_kind("clear_failed_tasks")
    with pytest.raises(InvalidInput, match="dag_run_id"):
        spec.parse({"dag_id": "etl"})
    with pytest.raises(InvalidInput, match="DAG id"):
        spec.parse({"dag_id": "etl/../x", "dag_run_id": "r"})
    with pytest.raises(InvalidInput, match="Extra inputs"):
        spec.parse({"dag_id": "etl", "dag_run_id": "r", "only_failed": False})
    with pytest.raises(InvalidInput, match="known kinds"):
        get_kind("rm_rf")


class RepairParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    job_id: int
    run_id: int


class RepairExecutor:
    def __init__(self, spec: ActionKind, clients: Clients | None = None) -> None:
        self.kind = spec.kind
        self.resend_safe = spec.resend_safe
        self.done: list[str] = []

    def describe_call(self, a: Action) -> dict[str, Any]:
        return {
            "method": "POST",
            "path": "/api/2.1/jobs/runs/repair",
            "body": {"run_id": a.params["run_id"], "rerun_all_failed_tasks": True},
        }

    async def prepare(self, a: Action) -> None:
        """Nothing to learn."""

    async def execute(self, a: Action) -> dict[str, Any]:
        self.done.append(a.id)
        return {"repair_id": 1}

    async def find_existing(self, a: Action) -> dict[str, Any] | None:
        return None


def test_new_kind_plugs_in_without_changing_the_path(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ActionKind(
        kind="test_repair_run",
        params_model=RepairParams,
        description="Databricks repair (test)",
        resource=lambda p: f"job:{p.job_id}",  # type: ignore[attr-defined]
        executor=RepairExecutor,
        is_rerun=True,
    )
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, spec))  # a kind is added by listing it, nothing else
    assert "test_repair_run" in kinds.known_kinds()
    svc: GovernanceService = make_service(environments={"dev": {"allow_dags": ["job:42"]}})
    ex = RepairExecutor(spec)
    svc.executors.register(ex)
    rec = svc.propose("test_repair_run", "dev", {"job_id": 42, "run_id": 7}, requested_by="agent")
    assert rec.call["path"] == "/api/2.1/jobs/runs/repair"
    svc.request_approval(rec.id, "r", "agent")
    svc.approve(rec.id, "alice")
    out = run(svc.execute(rec.id, "agent", expected_kind="test_repair_run"))
    assert out.record.state == "succeeded" and ex.done == [rec.id]
