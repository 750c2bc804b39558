from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.diagnosis import Classification, ErrorBlock, classify, diagnose_lines, extract_errors, load_rules
from pipeline_sre.diagnosis.classify import classify_by_rules
from pipeline_sre.models import CATEGORIES
from tests.unit.diagnosis.diag_testutil import LOGS, load_expected, read_lines


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, Any]]:
    return load_expected()


def _block(exc: str | None, msg: str, text: str = "") -> ErrorBlock:
    ev = f"{exc}: {msg}" if exc else msg
    return ErrorBlock(exc, msg, [], 1, 1, ev, text or ev, "python_traceback", [exc] if exc else [])


def test_corpus_categories(expected: dict[str, dict[str, Any]]) -> None:
    for name, exp in expected.items():
        d = diagnose_lines(read_lines(name))
        assert 0.0 <= d.confidence <= 1.0
        if exp.get("states_no_cause"):
            # a crashed worker and its exit status: the rules give no cause, and whatever the model reads into the
            # words is a guess, never a confident answer
            assert diagnose_lines(read_lines(name), use_model=False).category == "unknown", name
            assert d.category == "unknown" or (d.rule_id == "learned.model" and d.confidence < 0.8), (name, d)
        else:
            assert d.category == exp["category"], (name, d.category, d.rule_id)


@pytest.mark.parametrize(
    ("exc", "msg", "category"),
    [
        ("java.lang.OutOfMemoryError", "GC overhead limit exceeded", "oom"),
        ("MemoryError", "", "oom"),
        (
            "botocore.errorfactory.NoSuchKey",
            "An error occurred (NoSuchKey) when calling the GetObject operation",
            "upstream_missing",
        ),
        ("PermissionError", "[Errno 13] Permission denied: '/x'", "permission_denied"),
        (
            "botocore.exceptions.ClientError",
            "An error occurred (InvalidAccessKeyId) when calling the ListObjects operation",
            "credentials",
        ),
        ("psycopg2.errors.UndefinedColumn", 'column "x" does not exist', "schema_mismatch"),
        ("great_expectations.exceptions.ValidationError", "expectation suite failed", "data_quality"),
        ("ModuleNotFoundError", "No module named 'pandas'", "dependency"),
        ("requests.exceptions.ConnectionError", "Max retries exceeded with url", "transient_network"),
        (
            "botocore.exceptions.ClientError",
            "An error occurred (ThrottlingException): Rate exceeded",
            "throttled",
        ),
        ("airflow.exceptions.AirflowTaskTimeout", "Timeout, PID: 1", "timeout"),
        ("OSError", "[Errno 24] Too many open files", "resource_exhausted"),
        ("airflow.exceptions.AirflowException", "Task received SIGTERM signal", "killed_external"),
        ("kafka.errors.CommitFailedError", "Commit cannot be completed", "kafka_consumer"),
        ("ZeroDivisionError", "division by zero", "code_bug"),
    ],
)
def test_each_category(exc: str, msg: str, category: str) -> None:
    c = classify([_block(exc, msg)])
    assert c.category == category, c
    assert c.rule_id


def test_wrapped_exception_classified_by_root() -> None:
    blocks = extract_errors(read_lines("pyspark_py4j_filenotfound.log"))
    assert classify(blocks).category == "upstream_missing"


def test_exit_137_needs_oom_evidence() -> None:
    b = _block(None, "Task exited with return code 137; exit code 137")
    assert classify_by_rules([b], []).category == "killed_external"
    # The learned model may read a bare 137 as the memory kill most public threads found behind one, but
    # without evidence in the log never confidently.
    assert classify([b]).category in ("killed_external", "oom") and classify([b]).confidence < 0.8
    assert classify([b], context_lines=["kernel: Memory cgroup out of memory: Killed process 12"]).category == "oom"


def test_weak_evidence_is_unknown() -> None:
    c = classify([_block(None, "something went wrong")])
    assert c.category == "unknown"
    assert classify([]) == Classification("unknown", 0.0, "", None)


def test_conflicting_evidence_lowers_confidence() -> None:
    clear = classify([_block("ModuleNotFoundError", "No module named 'x'")])
    mixed = classify([_block("ValueError", "Connection refused while reading config")])
    assert clear.confidence >= 0.8
    assert mixed.confidence < clear.confidence


def test_user_rules_extend_and_override(tmp_path: Path) -> None:
    extra = tmp_path / "rules.yaml"
    extra.write_text(
        "rules:\n"
        "  - id: acme.vendor_outage\n"
        "    category: upstream_missing\n"
        "    confidence: 0.9\n"
        "    match:\n"
        "      root: ['VendorFeedNotPublished']\n"
        "  - id: code.python_exception\n"
        "    category: code_bug\n"
        "    confidence: 0.3\n"
        "    match:\n"
        "      exception: ['^KeyError$']\n",
        encoding="utf-8",
    )
    rules = load_rules([extra])
    assert classify([_block("acme.VendorFeedNotPublished", "feed x")], rules=rules).category == "upstream_missing"
    # the rules alone: the learned model underneath would still name a bare KeyError
    assert classify([_block("KeyError", "'a'")], rules=rules, use_model=False).category == "unknown"


def test_a_user_rule_names_a_bare_http_status_with_its_fences(tmp_path: Path) -> None:
    # '{status N}' is the built-in rules' bare HTTP status, for a user's file too: the number alone, not the
    # milliseconds of a timestamp nor a source file's line number
    extra = tmp_path / "teapot.yaml"
    extra.write_text(
        "rules:\n  - id: acme.teapot\n    category: throttled\n    confidence: 0.9\n"
        "    match:\n      root: ['{status 418|419}']\n",
        encoding="utf-8",
    )
    rules = load_rules([extra])
    assert classify([_block(None, "upstream answered 418 I'm a teapot")], rules=rules).category == "throttled"
    assert classify([_block(None, "upstream answered 419")], rules=rules).category == "throttled"
    for line in ("retrying at 14:50:01.418", 'level=error msg="bad frame" source="frames.go:418"'):
        assert classify([_block(None, line)], rules=rules, use_model=False).category != "throttled"


def test_bad_rule_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    category: nope\n    match: {root: 'a'}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown category"):
        load_rules([bad])


def test_rule_categories_are_known() -> None:
    assert {r.category for r in load_rules()} <= set(CATEGORIES)
    assert (LOGS / "expected.yaml").exists()


def test_free_text_only_evidence_is_capped_below_high_confidence() -> None:
    text_only = classify([_block(None, "An error occurred (NoSuchKey) when calling the GetObject operation")])
    assert text_only.category == "upstream_missing" and text_only.confidence < 0.8
    typed = classify([_block("botocore.errorfactory.NoSuchKey", "The specified key does not exist.")])
    assert typed.category == "upstream_missing" and typed.confidence >= 0.8


def test_server_error_with_throttling_body_is_throttled() -> None:
    # boto2 wraps a throttling response in a generic server error; the body decides
    msg = "400 Bad Request\n<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    assert classify([_block("boto.exception.BotoServerError", msg)]).category == "throttled"
    assert (
        classify([_block("boto.exception.BotoServerError", "500 Internal Server Error")]).category
        == "transient_network"
    )


@pytest.mark.parametrize(
    ("exc", "msg"),
    [
        (
            "io.grpc.StatusRuntimeException",
            "DEADLINE_EXCEEDED: deadline exceeded after 59.99s. Name resolution delay 0.000000000 seconds.",
        ),
        ("google.api_core.exceptions.RetryError", "Deadline of 60.0s exceeded while calling target function"),
        (None, "Error: 4 DEADLINE_EXCEEDED: Deadline Exceeded"),
    ],
)
def test_deadline_exceeded_is_transient_network(exc: str | None, msg: str) -> None:
    # a remote call's client-side deadline is the remote end not answering, not the task's own time limit
    c = classify([_block(exc, msg)])
    assert c.category == "transient_network", c
    assert c.rule_id == "network.deadline_exceeded"


def test_gax_deadline_exceeded_exception_is_transient_network() -> None:
    msg = "io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 59.999709386s."
    c = classify([_block("com.google.api.gax.rpc.DeadlineExceededException", msg)])
    assert c.category == "transient_network", c


@pytest.mark.parametrize(
    "line",
    [
        "kafka.coordinator - WARNING - Heartbeat session expired, marking coordinator dead",
        "WARNING:kafka.coordinator:Heartbeat failed for group etl because it is rebalancing",
        "[Consumer clientId=c-1, groupId=g] Attempt to heartbeat failed since group is rebalancing",
    ],
)
def test_kafka_coordinator_heartbeat_is_kafka_consumer(line: str) -> None:
    c = classify([_block(None, line)])
    assert c.category == "kafka_consumer", c


def test_lost_heartbeat_outside_kafka_stays_killed_external() -> None:
    c = classify([_block(None, "Executor heartbeat timed out after 350149 ms")])
    assert c.category == "killed_external", c


_S3_SLOW_DOWN = (
    "Slow Down (Service: Amazon S3; Status Code: 503; Error Code: 503 Slow Down; Request ID: 7ACF2A0A50D29E)"
)
_CONNECT_TIMEOUT = 'Connect timeout on endpoint URL: "https://my-bucket.s3.amazonaws.com/exports/part-0001.csv"'


@pytest.mark.parametrize(
    ("exc", "msg", "category"),
    [
        # java.io.FileNotFoundException names why open() failed in parentheses; that reason is the root cause
        (
            "java.io.FileNotFoundException",
            "/tmp/blockmgr-5e47/1e/temp_shuffle_71db (Too many open files)",
            "resource_exhausted",
        ),
        (
            "java.io.FileNotFoundException",
            "/tmp/blockmgr-5e47/1e/temp_shuffle_71db (No space left on device)",
            "resource_exhausted",
        ),
        ("java.io.FileNotFoundException", "/mnt/out/part-0000.parquet (Permission denied)", "permission_denied"),
        (
            "java.io.FileNotFoundException",
            "/data/in/2024-05-01/part-0000.csv (No such file or directory)",
            "upstream_missing",
        ),
        # S3 throttles with HTTP 503: reason phrase "Slow Down" (with a space), error code "SlowDown"
        ("com.amazonaws.services.s3.model.AmazonS3Exception", _S3_SLOW_DOWN, "throttled"),
        ("botocore.exceptions.ConnectTimeoutError", _CONNECT_TIMEOUT, "transient_network"),
        (None, f"[ERROR] ConnectionTimeOut: {_CONNECT_TIMEOUT}", "transient_network"),
        (
            None,
            "000630 (57014): Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.",
            "timeout",
        ),
        (None, "Operation did not complete within the designated timeout of 300 seconds.", "timeout"),
        (None, "3 of 12 (25.0%) expectations failed", "data_quality"),
        (
            "com.example.LoadException",
            "Incompatible Type: table type 'int' doesn't match parquet type 'long'",
            "schema_mismatch",
        ),
    ],
)
def test_general_signals(exc: str | None, msg: str, category: str) -> None:
    c = classify([_block(exc, msg)])
    assert c.category == category, c


def test_airflow3_state_changed_on_server_is_killed_external() -> None:
    line = (
        '{"timestamp": "2025-04-02T22:32:29.440322Z", "level": "error", "logger": "supervisor", "status_code": 409, '
        '"event": "Server indicated the task shouldn\'t be running anymore", "detail": {"detail": {"reason": '
        '"not_running", "message": "TI is no longer in the running state and task should terminate", '
        '"current_state": "failed"}}}\n'
    )
    d = diagnose_lines(["[2025-04-02T22:32:03.360+0000] {task_instances.py:481} DEBUG - heartbeated\n", line])
    assert d.category == "killed_external", d


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("AADSTS700082: The refresh token has expired due to inactivity.\n", "credentials"),
        ("The spark driver has stopped unexpectedly and is restarting. Your notebook will be reattached.\n", "oom"),
    ],
)
def test_failure_without_error_keyword_is_classified(line: str, category: str) -> None:
    d = diagnose_lines(["INFO starting run 42\n", line])
    assert d.category == category, d
    assert d.confidence < 0.8  # free text only


# the sandbox's example_orders_staging task as Airflow 3.1 logged it (the real task log, paths shortened)
_AIRFLOW3_DATA_QUALITY_LOG = """\
[2026-12-04T06:53:30.154424Z] {task_runner.py:2412} INFO - ::group::Pre Execute
[2026-12-04T06:53:30.161454Z] {manager.py:304} INFO - DAG bundles loaded: dags-folder
[2026-12-04T06:53:30.162356Z] {dagbag.py:460} INFO - Filling up the DagBag from /sandbox/dags/example_orders_staging.py
[2026-12-04T06:53:30.236550Z] {task_runner.py:1073} INFO - Worker startup parse complete
[2026-12-04T06:53:30.265173Z] {task_runner.py:2232} INFO - ::endgroup::
[2026-12-04T06:53:30.268146Z] {task_runner.py:1676} ERROR - Task failed with exception
Traceback (most recent call last):
  File "/sandbox/venv/lib/.../airflow/providers/standard/operators/python.py", line 254, in execute_callable
  File "/sandbox/venv/lib/.../airflow/sdk/execution_time/callback_runner.py", line 97, in run
  File "/sandbox/dags/example_orders_staging.py", line 48, in stage_orders
ValueError: Data quality check failed: negative quantity in orders ORD-2: refusing to stage the batch
[2026-12-04T06:53:30.269128Z] {task_runner.py:1677} INFO - ::group::Post Execute
[2026-12-04T06:53:30.273431Z] {task_runner.py:2379} INFO - ::endgroup::
"""


def test_a_type_default_is_no_rival_to_a_rule_that_explains_the_failure() -> None:
    # "a ValueError is the code's fault" is a prior: a message that names a data quality check wins outright, at the
    # confidence its own rule earns, so the model underneath is not asked to pick between them
    by_rules = classify_by_rules([_block("ValueError", "Data quality check failed: negative quantity")])
    assert by_rules.category == "data_quality" and by_rules.rule_id == "dq.message"
    assert by_rules.confidence == 0.79
    d = diagnose_lines(_AIRFLOW3_DATA_QUALITY_LOG.splitlines(keepends=True))
    assert (d.category, d.rule_id) == ("data_quality", "dq.message")
    # alone, the prior still answers
    assert classify_by_rules([_block("ValueError", "unexpected thing 42")]).category == "code_bug"


def test_a_reason_stated_beside_a_bare_status_is_read() -> None:
    # git prints the server's `remote:` lines above its own "returned error: 403"; the 403 alone reads as access
    # (https://github.com/hashicorp/field-workshops-terraform/issues/275, trimmed)
    lines = [
        "$ git push origin main\n",
        "remote: Support for password authentication was removed on August 13, 2021.\n",
        "fatal: unable to access 'https://github.com/acme/infra/': The requested URL returned error: 403\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "credentials"
    assert diagnose_lines(lines[-1:], use_model=False).category == "permission_denied"
    assert extract_errors(lines)[0].before[-1].startswith("remote: Support for password authentication")
