from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.errors import ConfigError
from pipeline_sre.governance import windows
from pipeline_sre.governance.policy import ExecuteFacts, PolicyEngine
from pipeline_sre.settings.config import parse_settings
from pipeline_sre.settings.governance import ChangeWindow, GovernanceConfig, parse_days
from tests.unit.governance.fakes import CONF_SCHEMA, make_settings


def engine(tmp_path: Path, **kw: object) -> PolicyEngine:
    return PolicyEngine(make_settings(tmp_path, **kw).governance)


def facts(**kw: object) -> ExecuteFacts:
    base: dict[str, object] = dict(
        environment="prod",
        kind="clear_failed_tasks",
        resource="etl_orders",
        conf=None,
        automated=False,
        incident_id=None,
        valid_approvers=("alice", "bob"),
        expired_approvals=0,
        live_actions_last_hour=0,
        automated_reruns_for_incident=0,
        is_rerun=True,
        now=datetime(2025, 1, 8, 9, 0, tzinfo=UTC),
    )
    base.update(kw)
    return ExecuteFacts(**base)  # type: ignore[arg-type]


def test_execute_allowed_and_every_rule_named(tmp_path: Path) -> None:
    pe = engine(tmp_path)
    d = pe.execute_decision(facts())
    assert d.allowed and d.rule == "allowed"
    rules = {c.rule for c in d.checks}
    assert {"mode.live", "allowlist.dags", "approvals.required", "window", "rate_limit.dag_per_hour"} <= rules


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"valid_approvers": ("alice",)}, "approvals.required"),
        ({"valid_approvers": ("alice",), "expired_approvals": 1}, "approvals.expired"),
        ({"resource": "billing"}, "allowlist.dags"),
        ({"environment": "staging"}, "allowlist.environment"),
        ({"now": datetime(2025, 1, 11, 10, 0, tzinfo=UTC)}, "window"),  # Saturday
        ({"live_actions_last_hour": 2}, "rate_limit.dag_per_hour"),
        (
            {"automated": True, "incident_id": "i", "automated_reruns_for_incident": 1},
            "rate_limit.automated_reruns_per_incident",
        ),
    ],
)
def test_execute_refusals(tmp_path: Path, change: dict[str, object], rule: str) -> None:
    d = engine(tmp_path).execute_decision(facts(**change))
    assert not d.allowed and d.rule == rule
    assert d.refusal().allow_hint


def test_mode_read_only(tmp_path: Path) -> None:
    d = engine(tmp_path, mode="read_only").execute_decision(facts())
    assert d.rule == "mode.read_only"


def test_allow_actions(tmp_path: Path) -> None:
    pe = engine(tmp_path, environments={"dev": {"allow_dags": ["*"], "allow_actions": ["trigger_dag"]}})
    checks = pe.check_target("dev", "clear_failed_tasks", "x", None)
    assert [c.rule for c in checks if not c.ok] == ["allowlist.actions"]


def test_schema_pointer_for_nested_and_strictness(tmp_path: Path) -> None:
    pe = engine(tmp_path)
    bad = pe.check_target("dev", "trigger_dag", "etl_x", {"options": {"full_refresh": 1}})[-1]
    assert bad.details["pointer"] == "/options/full_refresh"
    loose_schema = {**CONF_SCHEMA, "additionalProperties": True}
    pe2 = engine(
        tmp_path,
        environments={"dev": {"allow_dags": ["*"], "conf_schemas": [{"match": "*", "schema": loose_schema}]}},
    )
    assert pe2.check_target("dev", "trigger_dag", "x", {"extra": 1})[-1].ok


def test_invalid_schema_is_rejected_at_start(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="is not valid"):
        engine(
            tmp_path,
            environments={
                "dev": {
                    "allow_dags": ["*"],
                    "conf_schemas": [{"match": "*", "schema": {"type": "no-such-type"}}],
                }
            },
        )


def test_approve_checks(tmp_path: Path) -> None:
    pe = engine(tmp_path)
    kw: dict[str, Any] = {"environment": "dev", "kind": "clear_failed_tasks", "resource": "etl_a", "conf": None}
    assert pe.approve_decision(**kw, approver="alice", requested_by="agent", already_approved_by=()).allowed
    assert pe.approve_decision(**kw, approver="zed", requested_by="agent", already_approved_by=()).rule == (
        "approvals.approver_not_configured"
    )
    assert pe.approve_decision(**kw, approver="alice", requested_by="Alice", already_approved_by=()).rule == (
        "approvals.self_approval"
    )
    assert pe.approve_decision(**kw, approver="bob", requested_by="x", already_approved_by=("bob",)).rule == (
        "approvals.distinct"
    )


def test_per_environment_approvers(tmp_path: Path) -> None:
    pe = engine(tmp_path, environments={"dev": {"allow_dags": ["*"], "approvers": ["dana"]}})
    assert pe.approvers_for("dev") == frozenset({"dana"})
    assert pe.approvers_for("prod") == frozenset({"alice", "bob", "carol"})


# -- windows ------------------------------------------------------------------------------------------


def test_days_parsing() -> None:
    assert parse_days("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert parse_days("fri-mon") == ["mon", "fri", "sat", "sun"]
    assert parse_days(["sat", "mon,wed"]) == ["mon", "wed", "sat"]
    with pytest.raises(ValueError):
        parse_days("funday")


def test_window_in_time_zone_with_dst() -> None:
    w = [ChangeWindow(days="mon-fri", start="09:00", end="17:00", tz="Europe/Berlin")]
    assert windows.is_open(w, datetime(2025, 1, 8, 8, 0, tzinfo=UTC))  # 09:00 CET
    assert not windows.is_open(w, datetime(2025, 1, 8, 7, 59, tzinfo=UTC))
    assert windows.is_open(w, datetime(2025, 7, 9, 7, 0, tzinfo=UTC))  # 09:00 CEST
    assert not windows.is_open(w, datetime(2025, 7, 9, 15, 0, tzinfo=UTC))  # 17:00 CEST: end exclusive
    nxt = windows.next_open(w, datetime(2025, 1, 10, 17, 0, tzinfo=UTC))  # Friday evening
    assert nxt is not None and nxt.isoformat() == "2025-01-13T09:00:00+01:00"


def test_overnight_window() -> None:
    w = [ChangeWindow(days="fri", start="22:00", end="02:00", tz="UTC")]
    assert windows.is_open(w, datetime(2025, 1, 10, 23, 0, tzinfo=UTC))  # Fri 23:00
    assert windows.is_open(w, datetime(2025, 1, 11, 1, 59, tzinfo=UTC))  # Sat 01:59 belongs to Friday
    assert not windows.is_open(w, datetime(2025, 1, 11, 23, 0, tzinfo=UTC))  # Sat 23:00


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ChangeWindow(tz="Mars/Olympus")
    with pytest.raises(ValueError, match="HH:MM"):
        ChangeWindow(start="9am")


# -- settings -----------------------------------------------------------------------------------------


def test_governance_environment_must_exist(tmp_path: Path) -> None:
    data = {
        "environments": {"dev": {"airflow": {"url": "http://x"}}},
        "governance": {"environments": {"prd": {"allow_dags": ["*"]}}},
    }
    with pytest.raises(ConfigError, match=r"unknown environment.*prd"):
        parse_settings(data, "t.yaml")


def test_unknown_key_hint_in_nested_policy() -> None:
    data = {
        "environments": {"dev": {"airflow": {"url": "http://x"}}},
        "governance": {"environments": {"dev": {"allow_dag": ["*"]}}},
    }
    with pytest.raises(ConfigError, match="allowed keys: allow_dags"):
        parse_settings(data, "t.yaml")


def test_defaults_are_safe() -> None:
    g = GovernanceConfig()
    assert g.mode == "dry_run" and g.environments == {} and g.approvers == []
