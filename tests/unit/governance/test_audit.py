from __future__ import annotations

import io
import itertools
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline_sre.governance.audit import AuditEvent, AuditLog, Checkpoint
from pipeline_sre.store.db import Database


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    db.upgrade()
    return AuditLog(db)


def fill(log: AuditLog, n: int = 10) -> None:
    log.append_many(
        [AuditEvent(f"test.event{i}", f"user{i}", "cli", detail={"i": i, "note": f"n{i}"}) for i in range(n)]
    )


def sql(log: AuditLog, stmt: str, **params: object) -> None:
    with log.db.connect(write=True) as conn:
        conn.execute(text(stmt), params)


def test_chain_links_and_verifies(log: AuditLog) -> None:
    fill(log, 5)
    log.append(AuditEvent("one.more", "bob"))
    recs = list(log.records())
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5, 6]
    assert recs[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(recs))
    report = log.verify(Checkpoint(3, recs[2].hash))
    assert report.ok and report.records == 6
    assert log.head() == Checkpoint(6, recs[-1].hash)


def test_detects_edit(log: AuditLog) -> None:
    fill(log)
    sql(log, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 4
    assert any("edited" in p for p in report.problems)


def test_detects_edit_of_detail(log: AuditLog) -> None:
    fill(log)
    sql(log, "UPDATE audit_log SET detail_json = :d WHERE seq = 2", d='{"i":99}')
    assert log.verify().first_bad_seq == 2


def test_detects_delete(log: AuditLog) -> None:
    fill(log)
    sql(log, "DELETE FROM audit_log WHERE seq = 5")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 5
    assert any("missing" in p for p in report.problems)


def test_detects_reorder(log: AuditLog) -> None:
    fill(log)
    # Swap the contents of records 3 and 4 but keep their seq numbers.
    sql(log, "UPDATE audit_log SET seq = -1 WHERE seq = 3")
    sql(log, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    sql(log, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3


def test_detects_insert_in_the_middle(log: AuditLog) -> None:
    fill(log)
    # Renumber the tail up by one and slip a forged record in at seq 6.
    sql(log, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6")
    sql(log, "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
    row = next(r for r in log.records() if r.seq == 5)
    sql(
        log,
        "INSERT INTO audit_log (seq, ts, actor, actor_kind, event, action_id, digest, result, detail_json, "
        "prev_hash, hash) VALUES (6, :ts, 'mallory', 'cli', 'approval.granted', NULL, NULL, 'ok', '{}', "
        ":prev, :h)",
        ts=row.ts,
        prev=row.hash,
        h="f" * 64,
    )
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 6


def test_detects_append_outside_the_log(log: AuditLog) -> None:
    fill(log, 3)
    last = list(log.records())[-1]
    forged = {
        "seq": 4,
        "ts": last.ts,
        "actor": "x",
        "actor_kind": "cli",
        "event": "e",
        "action_id": None,
        "digest": None,
        "result": "ok",
        "detail": "{}",
        "prev_hash": last.hash,
    }
    from pipeline_sre.governance.actions import canonical_json, sha256_hex

    h = sha256_hex(canonical_json(forged))
    sql(
        log,
        "INSERT INTO audit_log (seq, ts, actor, actor_kind, event, result, detail_json, prev_hash, hash) "
        "VALUES (4, :ts, 'x', 'cli', 'e', 'ok', '{}', :p, :h)",
        ts=last.ts,
        p=last.hash,
        h=h,
    )
    report = log.verify()
    assert not report.ok and any("inserted" in p for p in report.problems)


def test_detects_cut_tail_against_checkpoint(log: AuditLog) -> None:
    fill(log)
    cp = log.head()
    # Cut the last three records and rewrite the head row to match, so the log looks consistent...
    sql(log, "DELETE FROM audit_log WHERE seq > 7")
    last = list(log.records())[-1]
    sql(log, "UPDATE audit_head SET seq = 7, hash = :h WHERE id = 1", h=last.hash)
    assert log.verify().ok  # ...which only an exported checkpoint can reveal
    report = log.verify(cp)
    assert not report.ok and "tail cut" in report.problems[0]


def test_detects_cut_tail_against_head(log: AuditLog) -> None:
    fill(log)
    sql(log, "DELETE FROM audit_log WHERE seq > 8")
    report = log.verify()
    assert not report.ok and any("tail cut" in p for p in report.problems)


def test_checkpoint_mismatch(log: AuditLog) -> None:
    fill(log)
    report = log.verify(Checkpoint(5, "a" * 64))
    assert not report.ok and report.first_bad_seq == 5


def test_redaction_hook_applies_to_detail(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.upgrade()
    log = AuditLog(db, redact=lambda s: s.replace("hunter2", "***"))
    log.append(AuditEvent("tool.call", "agent", "mcp", detail={"args": {"q": "password=hunter2"}, "n": ["hunter2"]}))
    text_ = next(iter(log.records())).detail_json
    assert "hunter2" not in text_ and "***" in text_
    long = log.append(AuditEvent("x", "a", detail={"blob": "y" * 10_000}))
    assert len(long.detail_json) < 2100


def test_tool_call_and_export(log: AuditLog) -> None:
    log.tool_call("get_task_log", "mcp:claude", arguments={"dag_id": "etl", "try": 1})
    buf = io.StringIO()
    assert log.export_jsonl(buf) == 1
    rec = json.loads(buf.getvalue())
    assert rec["event"] == "tool.call" and rec["detail"]["tool"] == "get_task_log"
    assert rec["seq"] == 1 and len(rec["hash"]) == 64


def test_concurrent_writers_never_fork(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    Database(url).upgrade()
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            log = AuditLog(Database(url))
            for i in range(25):
                log.append(AuditEvent("w", f"t{k}", detail={"i": i}))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = AuditLog(Database(url)).verify()
    assert report.ok and report.records == 100
