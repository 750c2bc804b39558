from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from pipeline_sre.errors import ConfigError
from pipeline_sre.store import repository as repo
from pipeline_sre.store.db import Database, database_url, normalise_url
from pipeline_sre.store.models import ActionRow
from tests.unit.governance.fakes import make_settings

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_upgrade_empty_sqlite_to_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    db.upgrade()
    db.upgrade()  # idempotent
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "actions",
        "approvals",
        "audit_log",
        "audit_head",
        "incidents",
        "incident_runs",
        "alembic_version",
    } <= tables
    with db.connect(write=False) as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0008"
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one() == 0


def test_database_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    settings = make_settings(tmp_path)
    assert database_url(settings) == f"sqlite:///{tmp_path / 'pipeline-sre.db'}"
    monkeypatch.setenv("PIPELINE_SRE_DATABASE_URL", "postgresql://u@h/db")
    assert database_url(settings) == "postgresql+psycopg://u@h/db"
    with pytest.raises(ConfigError):
        normalise_url("mysql://u@h/db")


def row(action_id: str, state: str = "approved") -> ActionRow:
    return ActionRow(
        id=action_id,
        kind="clear_failed_tasks",
        environment="dev",
        resource="etl",
        params_json="{}",
        call_json="{}",
        digest="d" * 64,
        state=state,
        requested_by="a",
        incident_id=None,
        automated=False,
        is_rerun=True,
        runbook_id=None,
        plan_json="{}",
        created_at=T0,
        updated_at=T0,
    )


def test_compare_and_set_transition(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    with db.session(write=True) as s:
        repo.insert_action(s, row("act_1"))
    with db.session(write=True) as s:
        assert repo.transition(s, "act_1", "approved", "executing", executed_at=T0)
    with db.session(write=True) as s:
        assert not repo.transition(s, "act_1", "approved", "executing")  # lost the race
    with db.session(write=False) as s:
        got = repo.get_action(s, "act_1")
        assert got is not None and got.state == "executing" and got.executed_at == T0
        assert got.created_at.tzinfo is not None


def test_the_sqlite_store_is_private(tmp_path: Path) -> None:
    from pipeline_sre.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'data' / 'state.db'}")
    try:
        with db.session(write=True) as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
        for path in (tmp_path / "data").iterdir():
            assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"
    finally:
        db.dispose()
