from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline_sre.connectors.clients import Clients
from pipeline_sre.governance.kinds import executors
from pipeline_sre.governance.service import GovernanceService
from pipeline_sre.settings.config import load_settings
from pipeline_sre.store.db import open_database
from pipeline_sre.store.users import UserStore
from pipeline_sre.surfaces.cli.governance import approvals_app, audit_app, runbooks_app

runner = CliRunner()
CLEAR = {"dag_id": "etl_orders", "dag_run_id": "manual__1"}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    path = tmp_path / "pipeline-sre.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "environments": {"dev": {"airflow": {"url": "http://localhost:8080", "version": "3"}}},
                "data_dir": str(tmp_path / "data"),
                "governance": {
                    "mode": "dry_run",
                    "approvers": ["alice", "bob"],
                    "environments": {"dev": {"allow_dags": ["etl_*"]}},
                },
            }
        ),
        encoding="utf-8",
    )
    return path


def proposal(config: Path) -> str:
    settings = load_settings(config)
    svc = GovernanceService.from_settings(settings, executors=executors(Clients(settings)))
    try:
        rec = svc.propose("clear_failed_tasks", "dev", CLEAR, requested_by="agent:claude")
        svc.request_approval(rec.id, "transient network error", "agent:claude")
        return rec.id
    finally:
        svc.close()


PASSWORDS = {"alice": "alice-long-password-1", "bob": "bob-long-password-22"}


def add_users(config: Path) -> None:
    db = open_database(load_settings(config))
    try:
        for name, password in PASSWORDS.items():
            UserStore(db).add(name, "approver", password)
    finally:
        db.dispose()


def cli(app: Any, *args: str, password: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=f"{password}\n" if password is not None else None)


def decide(config: Path, verb: str, action_id: str, name: str, *extra: str, password: str | None = None) -> Any:
    """An approver deciding at the CLI, proving who they are with their console password on stdin."""
    given = PASSWORDS.get(name, "x" * 12) if password is None else password
    args = (verb, action_id, "--as", name, "--password-stdin", *extra, "--config", str(config))
    return cli(approvals_app, *args, password=given)


def test_list_show_approve(config: Path) -> None:
    action_id = proposal(config)
    res = cli(approvals_app, "list", "--config", str(config))
    assert res.exit_code == 0 and action_id in res.stdout
    res = cli(approvals_app, "list", "--json", "--config", str(config))
    assert [a["id"] for a in json.loads(res.stdout)] == [action_id]
    res = cli(approvals_app, "show", action_id, "--config", str(config))
    assert res.exit_code == 0 and "clearTaskInstances" in res.stdout and "approvals.required" in res.stdout
    add_users(config)
    res = decide(config, "approve", action_id, "alice", "--comment", "go", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["state"] == "approved"


def test_errors_are_one_line_exit_2(config: Path) -> None:
    action_id = proposal(config)
    add_users(config)
    res = decide(config, "approve", action_id, "agent:claude")
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: ")
    assert "wrong password" in res.stderr
    res = cli(approvals_app, "show", "act_nope", "--config", str(config))
    assert res.exit_code == 2 and "unknown action id" in res.stderr
    res = cli(approvals_app, "list", "--config", str(config.parent / "missing.yaml"))
    assert res.exit_code == 2 and "cannot read configuration" in res.stderr
    assert "Traceback" not in res.output


def test_deny(config: Path) -> None:
    action_id = proposal(config)
    add_users(config)
    res = decide(config, "deny", action_id, "bob", "-m", "no")
    assert res.exit_code == 0 and "denied" in res.stdout
    res = decide(config, "approve", action_id, "alice")
    assert res.exit_code == 2 and "denied" in res.stderr


def test_a_name_alone_proves_nothing(config: Path) -> None:
    """`--as NAME` without NAME's password (or a token) is refused: one OS user cannot be alice, then bob."""
    action_id = proposal(config)
    add_users(config)
    res = cli(approvals_app, "approve", action_id, "--config", str(config))
    assert res.exit_code == 2 and "PIPELINE_SRE_TOKEN" in res.stderr
    res = decide(config, "approve", action_id, "alice", password="not-alices-password")
    assert res.exit_code == 2 and "wrong password" in res.stderr
    res = cli(approvals_app, "approve", action_id, "--as", "alice", "--config", str(config))  # no terminal
    assert res.exit_code == 2 and "password" in res.stderr
    assert (
        json.loads(cli(approvals_app, "show", action_id, "--json", "--config", str(config)).stdout)["approvals"] == []
    )


def test_token_identifies_the_approver(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline_sre.surfaces.cli.console import users_app

    action_id = proposal(config)
    add_users(config)
    res = runner.invoke(
        users_app, ["token", "bob", "--password-stdin", "--config", str(config)], input=PASSWORDS["bob"] + "\n"
    )
    assert res.exit_code == 0, res.output
    monkeypatch.setenv("PIPELINE_SRE_TOKEN", res.stdout.strip())
    res = cli(approvals_app, "approve", action_id, "--as", "alice", "--config", str(config))
    assert res.exit_code == 2 and "belongs to 'bob'" in res.stderr
    res = cli(approvals_app, "approve", action_id, "--json", "--config", str(config))
    assert res.exit_code == 0, res.output
    assert [a["approver"] for a in json.loads(res.stdout)["approvals"]] == ["bob"]
    monkeypatch.setenv("PIPELINE_SRE_TOKEN", "forged")
    res = cli(approvals_app, "approve", action_id, "--config", str(config))
    assert res.exit_code == 2 and "not a valid token" in res.stderr


def test_audit_verify_checkpoint_export(config: Path, tmp_path: Path) -> None:
    proposal(config)
    cp = tmp_path / "cp.json"
    res = cli(audit_app, "checkpoint", "--out", str(cp), "--config", str(config))
    assert res.exit_code == 0 and json.loads(res.stdout)["seq"] == 2
    res = cli(audit_app, "verify", "--checkpoint", str(cp), "--config", str(config))
    assert res.exit_code == 0 and "OK" in res.stdout
    res = cli(audit_app, "export", "--format", "jsonl", "--config", str(config))
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["event"] for r in lines] == ["action.proposed", "approval.requested"]
    res = cli(audit_app, "export", "--format", "csv", "--config", str(config))
    assert res.exit_code == 2
    # Tamper and verify again: exit 1 with the problem listed.
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "pipeline-sre.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 1")
    res = cli(audit_app, "verify", "--json", "--config", str(config))
    assert res.exit_code == 1 and json.loads(res.stdout)["first_bad_seq"] == 1


def test_runbooks(config: Path) -> None:
    res = cli(runbooks_app, "list", "--json", "--config", str(config))
    assert res.exit_code == 0 and len(json.loads(res.stdout)) == 19
    res = cli(runbooks_app, "show", "code_bug", "--config", str(config))
    assert res.exit_code == 0 and "escalate" in res.stdout
    res = cli(runbooks_app, "show", "nope", "--config", str(config))
    assert res.exit_code == 2


def test_builtin_runbooks_need_no_config_and_brackets_survive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPELINE_SRE_CONFIG", raising=False)
    res = cli(runbooks_app, "show", "transient_network")
    assert res.exit_code == 0, res.output
    assert "[clear_failed_tasks, reversible]" in res.stdout  # shown as text, not eaten as rich markup
