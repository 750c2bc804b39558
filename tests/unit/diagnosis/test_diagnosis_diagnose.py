from __future__ import annotations

import json

from pipeline_sre.diagnosis import Redactor, diagnose_lines
from tests.unit.diagnosis.diag_testutil import read_lines

SECRET = "S3cr3t-Pa55w0rd!"


def test_credential_before_error_is_not_shown() -> None:
    d = diagnose_lines(read_lines("credential_before_error.log"))
    dumped = json.dumps(d.to_dict())
    assert SECRET not in dumped
    assert 'relation "sales" does not exist' in d.excerpt


def test_extra_values_redacted_everywhere() -> None:
    lines = ["ERROR - login failed for etl using Fake-Extra-Secret-1\n"]
    d = diagnose_lines(lines, redactor=Redactor(extra_values=["Fake-Extra-Secret-1"]))
    assert "Fake-Extra-Secret-1" not in json.dumps(d.to_dict())


def test_scale_airflow_log_with_credential_right_before_error() -> None:
    noise = [
        f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{etl.py:88}} INFO - copied chunk {i} "
        f"({i * 13 % 9973} rows) to staging.events_{i % 5}\n"
        for i in range(13_000)
    ]
    tail = [
        "[2024-05-02, 04:00:00 UTC] {etl.py:90} INFO - "
        "dsn=postgresql://etl:Fake-Dsn-Pass@db:5432/dw password=Fake-Dsn-Pass\n",
        "[2024-05-02, 04:00:01 UTC] {taskinstance.py:2731} ERROR - Task failed with exception\n",
        "Traceback (most recent call last):\n",
        '  File "/opt/airflow/dags/etl.py", line 91, in load\n',
        "    cur.execute(sql)\n",
        'psycopg2.errors.UndefinedColumn: column "event_ts" does not exist\n',
        "[2024-05-02, 04:00:01 UTC] {taskinstance.py:1149} INFO - Marking task as FAILED.\n",
        "[2024-05-02, 04:00:01 UTC] {local_task_job_runner.py:234} INFO - Task exited with return code 1\n",
    ]
    lines = noise + tail
    assert sum(len(x) for x in lines) > 1_200_000
    d = diagnose_lines(lines)
    out = json.dumps(
        {
            k: d.to_dict()[k]
            for k in ("category", "confidence", "signature", "exception", "message", "evidence", "excerpt")
        }
    )
    assert len(d.excerpt.encode()) <= 2000
    assert len(out.encode()) <= 4000
    assert 'column "event_ts" does not exist' in d.evidence and d.evidence in d.excerpt
    assert "Fake-Dsn-Pass" not in out
    assert d.category == "schema_mismatch"


def test_excerpt_limit_and_utf8() -> None:
    lines = ["Traceback (most recent call last):\n"]
    lines += [f'  File "/opt/é/ü/{i}.py", line {i}, in f{i}\n    call_{i}()\n' for i in range(300)]
    lines += ["ValueError: " + "ä" * 3000 + "\n"]
    d = diagnose_lines(lines, excerpt_bytes=2000)
    assert len(d.excerpt.encode("utf-8")) <= 2000
    assert d.excerpt.startswith("ValueError") or "ValueError" in d.excerpt
    d = diagnose_lines(lines, excerpt_bytes=300)
    assert len(d.excerpt.encode("utf-8")) <= 300


def test_no_error_and_empty() -> None:
    d = diagnose_lines([])
    assert d.category == "unknown" and "empty" in d.message and d.signature is None
    d = diagnose_lines(["INFO all good\n"] * 10)
    assert d.category == "unknown" and "No error found in 10 log lines" in d.message


def test_to_dict_fields() -> None:
    d = diagnose_lines(read_lines("boto3_access_denied.log"))
    keys = set(d.to_dict())
    assert {"category", "confidence", "signature", "exception", "message", "evidence", "excerpt"} <= keys
    assert {"line_start", "line_end", "kind", "rule_id"} <= keys
    assert d.kind == "botocore"
