"""The audit trail anchored outside the store: whoever rewrites the database consistently (edit and
rehash, cut the tail and fix the head, wipe it) is caught by an anchor, and an approval signed with a key
outside the store is void once the action it approved is rewritten with its hashes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pipeline_sre.app import operations
from pipeline_sre.governance.actions import canonical_json
from pipeline_sre.governance.audit import AuditEvent
from pipeline_sre.governance.policy import PolicyRefusal
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.settings.config import parse_settings

CLEAR = {"dag_id": "etl_orders", "dag_run_id": "scheduled__2026-12-01"}


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("PIPELINE_SRE_AUDIT_KEY", "anchor-and-approval-key-outside-the-store")
    settings = parse_settings(
        {
            "environments": {"dev": {"airflow": {"url": "http://127.0.0.1:9", "version": "3"}}},
            "data_dir": str(tmp_path / "data"),
            "governance": {
                "mode": "dry_run",
                "approvers": ["alice"],
                "environments": {"dev": {"allow_dags": ["etl_*"]}},
            },
        },
        "test",
    )
    runtime = Runtime(settings)
    yield runtime
    asyncio.run(runtime.aclose())


def fill(rt: Runtime, n: int) -> None:
    for i in range(n):
        rt.governance.audit.append(AuditEvent("test.event", "system:test", detail={"i": i}))


def rehash_all(rt: Runtime) -> None:
    """What an attacker with the database does after an edit: recompute every hash and the head."""
    from pipeline_sre.governance.audit import AuditRecord
    from pipeline_sre.store.models import GENESIS_HASH

    prev = GENESIS_HASH
    with rt.governance.db.session(write=True) as s:
        columns = "seq, ts, actor, actor_kind, event, action_id, digest, result, detail_json"
        rows = s.execute(text(f"SELECT {columns} FROM audit_log ORDER BY seq")).all()
        for row in rows:
            seq, ts, actor, kind, event, action_id, digest_, result, detail = row
            rec = AuditRecord(seq, ts, actor, kind, event, action_id, digest_, result, detail, prev, "")
            digest = rec.compute_hash()
            s.execute(
                text("UPDATE audit_log SET prev_hash=:p, hash=:h WHERE seq=:s"), {"p": prev, "h": digest, "s": row[0]}
            )
            prev = digest
        s.execute(
            text("UPDATE audit_head SET seq=:s, hash=:h WHERE id=1"), {"s": rows[-1][0] if rows else 0, "h": prev}
        )


@pytest.mark.parametrize("attack", ["edit_and_rehash", "cut_tail_and_fix_head", "delete_and_rechain", "wipe"])
def test_consistent_rewrites_are_caught_only_with_an_anchor(rt: Runtime, attack: str) -> None:
    fill(rt, 10)
    operations.anchor_audit(rt)
    fill(rt, 3)
    with rt.governance.db.session(write=True) as s:
        if attack == "edit_and_rehash":
            s.execute(text("UPDATE audit_log SET detail_json=:d WHERE seq=4"), {"d": '{"i":999}'})
        elif attack == "cut_tail_and_fix_head":
            s.execute(text("DELETE FROM audit_log WHERE seq > 6"))
        elif attack == "delete_and_rechain":
            s.execute(text("DELETE FROM audit_log WHERE seq = 5"))
            s.execute(text("UPDATE audit_log SET seq = seq - 1 WHERE seq > 5"))
        else:
            s.execute(text("DELETE FROM audit_log"))
    rehash_all(rt)
    assert rt.governance.audit.verify().ok  # the chain alone is consistent again: the rewrite is invisible
    report = operations.verify_audit(rt)
    assert not report.ok, report.to_dict()
    assert report.last_anchor is not None and report.last_anchor["seq"] == 10 and report.last_anchor["signed"]


def test_a_forged_anchor_does_not_verify(rt: Runtime) -> None:
    fill(rt, 3)
    operations.anchor_audit(rt)
    log = operations.anchor_log(rt)
    with log.path.open("a") as f:
        f.write(json.dumps({"seq": 3, "hash": "f" * 64, "at": "2026-12-03T08:00:00+00:00", "mac": "0" * 64}) + "\n")
    report = operations.verify_audit(rt)
    assert not report.ok and any("does not verify" in p for p in report.problems)
    assert log.path.stat().st_mode & 0o077 == 0


def test_a_rewritten_approved_action_loses_its_approval(rt: Runtime) -> None:
    rec = rt.governance.propose("clear_failed_tasks", "dev", CLEAR, "cli:bob")
    rt.governance.request_approval(rec.id, "rerun", "cli:bob")
    assert rt.governance.approve(rec.id, "alice").state == "approved"
    # rewrite params, call and digest together, and the approval's digest, all consistently
    forged_params: dict[str, Any] = {**rec.action.params, "dag_run_id": "scheduled__2026-01-01"}
    call = {**rec.call, "body": {**rec.call["body"], "dag_run_id": "scheduled__2026-01-01"}}
    digest = rec.action.model_copy(update={"params": forged_params}).digest(call)
    with rt.governance.db.session(write=True) as s:
        s.execute(
            text("UPDATE actions SET params_json=:p, call_json=:c, digest=:d WHERE id=:i"),
            {"p": canonical_json(forged_params), "c": canonical_json(call), "d": digest, "i": rec.id},
        )
        s.execute(text("UPDATE approvals SET digest=:d WHERE action_id=:i"), {"d": digest, "i": rec.id})
    with pytest.raises(PolicyRefusal):
        asyncio.run(rt.governance.execute(rec.id, "cli:bob"))
    view = rt.governance.get_action(rec.id)
    assert [a.why_not for a in view.approvals] == [
        "its signature does not match (the action or the approval was rewritten in the store)"
    ]
