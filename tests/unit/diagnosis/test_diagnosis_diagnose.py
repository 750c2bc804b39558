from __future__ import annotations

import json

import pytest

from pipeline_sre.diagnosis import Redactor, diagnose_lines
from tests.unit.diagnosis.diag_testutil import model_reads, read_lines

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


def test_excerpt_shows_the_lines_around_the_block() -> None:
    # PostgreSQL states the cause on the DETAIL line after the FATAL one; wget its status on the line before
    pg = [
        '2020-07-03 11:43:19.358 GMT [196] FATAL:  password authentication failed for user "postgres"\n',
        '2020-07-03 11:43:19.358 GMT [196] DETAIL:  Password does not match for user "postgres".\n',
        '\tConnection matched pg_hba.conf line 95: "host all all all md5"\n',
    ]
    d = diagnose_lines(pg)
    assert "FATAL:  password authentication failed" in d.evidence
    assert "Password does not match for user" in d.excerpt and "pg_hba.conf line 95" in d.excerpt
    wget = [
        "Connecting to example.org (example.org)|93.184.216.34|:443... connected.\n",
        "HTTP request sent, awaiting response... 404 Not Found\n",
        "2019-01-01 13:07:41 ERROR 404: Not Found.\n",
        "\n",
    ]
    d = diagnose_lines(wget)
    assert "ERROR 404: Not Found." in d.excerpt and "awaiting response... 404 Not Found" in d.excerpt


def test_excerpt_reaches_a_cause_printed_several_lines_off_the_error() -> None:
    # pip relays the build's own output (the reason) seven lines above its closing error (logs from public threads,
    # trimmed); the kernel's OOM report sits under Spark's exit code 137 after other kernel lines
    pip = [
        "Collecting dbt\n",
        "  Preparing metadata (setup.py) ... error\n",
        "  error: subprocess-exited-with-error\n",
        "  × python setup.py egg_info did not run successfully.\n",
        "  │ exit code: 1\n",
        "  ╰─> [21 lines of output]\n",
        "\n",
        "      As of v1.0.0, `pip install dbt` is no longer supported.\n",
        "      Instead, please use one of the following.\n",
        "\n",
        "      **To use dbt with your specific database, platform, or query engine:**\n",
        "\n",
        "          pip install dbt-<adapter>\n",
        "...\n",
        "error: metadata-generation-failed\n",
    ]
    assert "pip install dbt` is no longer supported" in diagnose_lines(pip).excerpt
    spark = [
        'Exception in thread "main" org.apache.spark.SparkUserAppException: User application exited with 137\n',
        "\tat org.apache.spark.deploy.PythonRunner$.main(PythonRunner.scala:103)\n",
        "\n",
        "[6928402.630093] python invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=841\n",
        "...\n",
        "[61086.851530] Task in /docker/73792fab2937 killed as a result of limit of /docker/73792fab2937\n",
        "[61086.851531] memory: usage 11534336kB, limit 11534336kB, failcnt 361261\n",
        "...\n",
        "[61086.851599] Memory cgroup out of memory: Kill process 29052 (python) score 1920 or sacrifice child\n",
    ]
    assert "Memory cgroup out of memory: Kill process 29052" in diagnose_lines(spark).excerpt


def test_excerpt_of_last_words_keeps_the_lines_above_them() -> None:
    # Composer's first problem is the one that matters; its last words repeat the same floor for other packages
    lines = [
        "Your requirements could not be resolved to an installable set of packages.\n",
        " > Problem 1\n",
        "    - Root composer.json requires php ^8.2 but your php version (8.1.33) does not satisfy that requirement.\n",
        "  Problem 2\n",
        "    - Root composer.json requires pestphp/pest-plugin-laravel ^3.2 -> satisfiable by v3.2.0.\n",
        "    - pestphp/pest-plugin-laravel v3.2.0 requires php ^8.2.0 -> your php version (8.1.33) does not satisfy\n",
        "  Problem 3\n",
        "    - Root composer.json requires filament/forms ^4.0 -> satisfiable by filament/forms[v4.0.0-beta1].\n",
        "    - filament/forms[v4.0.0-beta1] require php ^8.2 -> your php version (8.1.33) does not satisfy that.\n",
    ]
    d = diagnose_lines(lines)
    assert "Root composer.json requires php ^8.2 but your php version" in d.excerpt


def test_an_answer_from_last_words_quotes_the_line_the_rule_read() -> None:
    # the last words are several lines; the one that states the failure, not the last of them, is the evidence
    lines = [
        "$ sudo docker events\n",
        "2015-10-12T21:56:50.000000000Z 34e0327e6a3f: (from gcr.io/google_containers/heapster:v0.16.1) oom\n",
        "2015-10-12T21:56:50.000000000Z 34e0327e6a3f: (from gcr.io/google_containers/heapster:v0.16.1) die\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "oom"
    assert d.evidence.endswith("(from gcr.io/google_containers/heapster:v0.16.1) oom")
    assert d.evidence in d.excerpt


def test_rules_read_only_the_nearest_lines_while_the_excerpt_shows_more() -> None:
    from pipeline_sre.diagnosis import ErrorExtractor
    from pipeline_sre.diagnosis.extract import SHOWN_AROUND, SURROUND

    lines = [f"INFO step {i}\n" for i in range(30)] + ["ERROR load failed\n"] + [f"INFO after {i}\n" for i in range(30)]
    ex = ErrorExtractor()
    ex.feed_many(lines)
    (block,) = ex.blocks(1)
    assert block.before == tuple(f"INFO step {i}" for i in range(30 - SURROUND, 30))
    assert block.after == tuple(f"INFO after {i}" for i in range(SURROUND))
    assert block.shown_before == tuple(f"INFO step {i}" for i in range(30 - SHOWN_AROUND, 30))
    assert block.shown_after == tuple(f"INFO after {i}" for i in range(SHOWN_AROUND))


def test_lines_around_the_block_are_redacted_and_budgeted() -> None:
    lines = [
        "[2024-05-02, 04:00:00 UTC] {etl.py:90} INFO - dsn=postgresql://etl:Fake-Near-Pass@db:5432/dw\n",
        "[2024-05-02, 04:00:01 UTC] {etl.py:91} ERROR - load failed: connection refused by db:5432\n",
        *(f"[2024-05-02, 04:00:02 UTC] {{etl.py:92}} INFO - {'x' * 900} {i}\n" for i in range(4)),
    ]
    d = diagnose_lines(lines)
    assert "connection refused by db:5432" in d.excerpt
    assert "Fake-Near-Pass" not in d.excerpt and "dsn=" in d.excerpt
    assert len(d.excerpt.encode()) <= 2000


def test_lines_around_the_block_are_the_same_fed_in_batches_or_one_by_one() -> None:
    from pipeline_sre.diagnosis import ErrorExtractor
    from pipeline_sre.diagnosis.extract import BATCH_LINES

    # the block straddles a batch boundary: the lines before it come from the previous batch
    filler = [f"INFO step {i} done\n" for i in range(BATCH_LINES - 3)]
    tail = ["INFO about to load\n", "Traceback (most recent call last):\n", '  File "a.py", line 1, in f\n']
    tail += ["KeyError: 'id'\n", "INFO cleaning up\n", "INFO bye\n"]
    batched, single = ErrorExtractor(), ErrorExtractor()
    batched.feed_many(filler + tail)
    for line in filler + tail:
        single.feed(line)
    a, b = batched.blocks(1)[0], single.blocks(1)[0]
    assert a.exception == "KeyError" and a.before == b.before and a.after == b.after
    assert a.before[-1] == "INFO about to load" and a.after == ("INFO cleaning up", "INFO bye")


def test_structured_records_beside_a_block_read_as_time_level_and_event() -> None:
    post = (
        '{"timestamp":"2026-12-04T07:19:43.391741Z","event":"::group::Post Execute","level":"info","map_index":-1,'
        '"task_id":"stage_orders","try_number":1,"logger":"task","filename":"task_runner.py","lineno":1677}\n'
    )
    lines = ["Traceback (most recent call last):\n", '  File "dag.py", line 48, in stage\n', "ValueError: bad\n", post]
    d = diagnose_lines(lines)
    assert "2026-12-04T07:19:43.391741Z info ::group::Post Execute" in d.excerpt
    assert "map_index" not in d.excerpt


def test_a_note_and_the_weak_line_keep_their_neighbours_in_a_long_log() -> None:
    from pipeline_sre.diagnosis import ErrorExtractor
    from pipeline_sre.diagnosis.extract import BATCH_LINES, RECENT_KEEP

    # lines around a failure stated without an error word, far from the end of the log: they were gone from memory
    # by the time the notes were read, so a short log and the same log with more lines after it read differently
    failure = [
        "+ kubectl apply -f job.yaml\n",
        'pods "etl-1" is forbidden: User "system:serviceaccount:ci:runner" cannot create resource "pods"\n',
        '  in the namespace "etl" (role etl-writer)\n',
    ]
    filler = [f"step {i} ok\n" for i in range(BATCH_LINES + RECENT_KEEP + 10)]
    short, long = ErrorExtractor(), ErrorExtractor()
    short.feed_many(failure + filler[:3])
    long.feed_many(failure + filler)
    (s_note, *_), (l_note, *_) = short.notes(), long.notes()
    assert s_note.evidence == l_note.evidence and "is forbidden" in l_note.evidence
    assert l_note.before == s_note.before == ("+ kubectl apply -f job.yaml",)
    assert l_note.after[0].strip().startswith('in the namespace "etl"')
    assert l_note.after == s_note.after[: len(l_note.after)]
    assert "in the namespace" in diagnose_lines(failure + filler).excerpt


def test_an_error_read_from_a_json_record_is_shown_as_the_record_was_written() -> None:
    # Confluent's REST proxy (confluentinc/schema-registry#1221): the code beside the message is what tells the
    # schema registry's error apart from others of the same words, so the excerpt keeps the record as written
    record = '{"error_code":40801,"message":"Schema registration or lookup failed"}'
    d = diagnose_lines(["POST /topics/orders -> 422\n", record + "\n"])
    assert d.message == "Schema registration or lookup failed"
    assert d.evidence == "Schema registration or lookup failed"
    assert record in d.excerpt
    assert d.excerpt.index(d.evidence) < d.excerpt.index(record)


def test_a_json_record_shown_as_written_is_redacted() -> None:
    record = '{"level":"error","msg":"login to the registry failed","password":"Sup3rS3cretPassw0rd!"}'
    d = diagnose_lines([record + "\n"])
    assert "login to the registry failed" in d.excerpt
    assert '"level":"error"' in d.excerpt
    assert "Sup3rS3cretPassw0rd!" not in d.excerpt


def test_a_structured_airflow_record_is_still_shown_rendered() -> None:
    # Airflow 3's task log: the record with the traceback in "error_detail" is rendered as one, not shown raw
    record = json.dumps(
        {
            "timestamp": "2026-12-01T03:00:01.000000Z",
            "level": "error",
            "event": "Task failed with exception",
            "logger": "task",
            "error_detail": [
                {
                    "exc_type": "KeyError",
                    "exc_value": "'customer_id'",
                    "frames": [{"filename": "/dags/etl.py", "lineno": 12, "name": "load"}],
                }
            ],
        }
    )
    d = diagnose_lines([record + "\n"])
    assert "KeyError: 'customer_id'" in d.excerpt
    assert '"error_detail"' not in d.excerpt


def test_basis_says_whether_a_rule_or_the_model_named_the_category(monkeypatch: pytest.MonkeyPatch) -> None:
    # the model answers from 0.4 when no rule is sure: a reader must be able to tell that guess from a rule's
    ruled = diagnose_lines(read_lines("boto3_access_denied.log"))
    assert ruled.basis == f"rule {ruled.rule_id}"
    model_reads(monkeypatch, "oom", 0.6)  # a crashed worker, no rule for it: the model's reading is the answer
    guessed = diagnose_lines(read_lines("fallback_exit_code.log"))
    assert guessed.rule_id == "learned.model" and guessed.basis == "learned model (no rule was sure)"
    assert diagnose_lines(["all good\n"]).basis == "none"
