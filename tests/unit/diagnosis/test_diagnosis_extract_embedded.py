"""Error payloads inside INFO records, WARNING records wrapped over several lines, padded level columns."""

from __future__ import annotations

from pipeline_sre.diagnosis import ErrorExtractor, classify, diagnose_lines, extract_errors
from pipeline_sre.diagnosis.extract import EVIDENCE_CAP, MSG_CONT_MAX
from tests.unit.diagnosis.diag_testutil import read_lines

_TS = "2024-06-18 22:41:{:02d},{:03d}"


def _rec(i: int, level: str, msg: str, logger: str = "[main] mapreduce.Job") -> str:
    """A Hadoop-style log4j line with the level padded to five columns ("%-5p")."""
    return f"{_TS.format(i % 60, i % 1000)} {level:<5} {logger} - {msg}"


def _noise(n: int) -> list[str]:
    return [_rec(i, "INFO", f" map {i % 100}% reduce 0%") for i in range(n)]


# --- an error payload inside a record of any level ---------------------------------------------


def test_diagnostics_payload_in_info_line_becomes_a_block() -> None:
    log = [
        *_noise(3),
        _rec(
            4,
            "INFO",
            "Job job_1718700000000_0007 failed with state FAILED due to: Application application_1718700000000_0007 "
            "failed 2 times due to AM Container exited with  exitCode: 1 Failing this attempt.Diagnostics: "
            "[2024-06-18 22:41:03.120]Container launch failed: No space left on device",
        ),
        _rec(5, "INFO", "Counters: 0"),
    ]
    top = extract_errors(log)[0]
    assert top.message.endswith("Container launch failed: No space left on device")
    assert "Diagnostics:" in top.evidence and top.evidence in top.text
    assert top.line_start == top.line_end == 4
    assert classify([top]).category == "resource_exhausted"


def test_innermost_payload_is_taken() -> None:
    line = _rec(1, "INFO", "Final state FAILED, reason: step failed, cause: java.net.UnknownHostException: db-07.corp")
    top = extract_errors([line])[0]
    assert top.exception == "java.net.UnknownHostException"
    assert top.message == "db-07.corp"


def test_untyped_payload_reads_its_continuation_lines() -> None:
    log = [
        _rec(1, "INFO", "Application report for application_1718700000000_0009 (state: FAILED)"),
        _rec(2, "INFO", "Diagnostics: Permission denied: user=etl, access=WRITE,"),
        '    inode="/warehouse/sales/dt=2024-06-18":hive:hive:drwxr-xr-x',
        _rec(3, "INFO", "Deleted staging directory"),
    ]
    top = extract_errors(log)[0]
    assert top.line_start == 2 and top.line_end == 3
    assert 'inode="/warehouse/sales/dt=2024-06-18"' in top.message
    assert classify([top]).category == "permission_denied"


def test_info_lines_without_an_error_payload_stay_quiet() -> None:
    log = [
        _rec(1, "INFO", "Diagnostics: none"),
        _rec(2, "INFO", "reason: scheduled run, cause: cron"),
        _rec(3, "INFO", "retry policy: on exception: back off 30 s"),
        _rec(4, "INFO", "Task exited with return code 0"),
    ]
    assert extract_errors(log) == []


def test_debug_payload_is_ignored() -> None:
    line = _rec(1, "DEBUG", "probe failed, cause: java.net.ConnectException: Connection refused")
    assert extract_errors([line]) == []


def test_payload_ranks_below_a_real_error_block() -> None:
    payload = _rec(9, "INFO", "Job failed, Diagnostics: java.io.FileNotFoundException: File does not exist: /in/x")
    error = [
        _rec(2, "ERROR", "Job setup failed", logger="[main] mapred.ClientServiceDelegate"),
        "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=WRITE",
        "\tat org.apache.hadoop.hdfs.server.namenode.FSPermissionChecker.check(FSPermissionChecker.java:399)",
    ]
    for log in ([*error, payload], [payload, *error]):
        blocks = extract_errors(log)
        assert blocks[0].exception == "org.apache.hadoop.security.AccessControlException", log
        assert any("FileNotFoundException" in (b.exception or "") for b in blocks[1:])


def test_untyped_payload_ranks_below_an_error_record_but_above_exit_codes() -> None:
    payload = _rec(3, "INFO", "Diagnostics: Container launch failed: Too many open files")
    assert extract_errors([payload, _rec(4, "ERROR", "loader crashed")])[0].evidence.endswith("loader crashed")
    top = extract_errors([payload, "Container exited with a non-zero exit code 1"])
    assert top[0].evidence.endswith("Too many open files")


def test_long_payload_line_keeps_the_payload_in_the_evidence() -> None:
    head = "Application application_1718700000000_0011 failed 2 times due to AM Container; " * 12
    line = _rec(1, "INFO", head + "Diagnostics: org.apache.hadoop.fs.ChecksumException: Checksum error: /in/b.gz")
    top = extract_errors([line])[0]
    assert len(top.evidence) <= EVIDENCE_CAP
    assert "ChecksumException: Checksum error" in top.evidence
    assert top.evidence in top.text


# --- padded level columns ------------------------------------------------------------------------


def test_padded_level_column_is_prefix_not_message() -> None:
    log = [
        _rec(1, "INFO", "load finished status=FAILED, cause: java.sql.SQLSyntaxErrorException: Unknown column 'qty'"),
        _rec(2, "INFO", "next run scheduled in 10 min"),
        _rec(3, "INFO", "shutting down"),
    ]
    top = extract_errors(log)[0]
    assert top.exception == "java.sql.SQLSyntaxErrorException"
    assert top.message == "Unknown column 'qty'"  # the following INFO records are not swallowed
    assert top.line_end == 1
    py = "2024-06-18 22:41:09,551 ERROR    etl.load: java.lang.IllegalStateException: writer closed"
    assert extract_errors([py])[0].exception == "java.lang.IllegalStateException"


# --- WARNING records and Python warnings wrapped over several lines --------------------------------


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def test_wrapped_warning_is_read_to_its_end() -> None:
    logical = (
        "2024-06-18 22:41:09,551 WARNING loader.plugins: Exception when importing 'loader.sinks.bigquery.BigQ"
        "uerySink' from package 'loader-sinks': No module named 'google.cloud.bigquery'"
    )
    log = ["2024-06-18 22:41:09,100 INFO loader: start", *_wrap(logical, 100), "2024-06-18 22:41:09,900 INFO x: y"]
    top = extract_errors(log)[0]
    assert top.line_start == 2 and top.line_end == 3
    assert "No module named 'google.cloud.bigquery'" in top.message
    assert classify([top]).category == "dependency"


def test_exception_named_on_a_continuation_line_is_the_root() -> None:
    log = [
        "2024-06-18 22:41:09,551 WARNING loader.plugins: plugin 'bq' disabled after an exception while loading",
        "(ImportError: cannot import name 'Client' from 'google.cloud.bigquery'); continuing without it",
    ]
    top = extract_errors(log)[0]
    assert top.exception == "ImportError"
    assert top.message.startswith("cannot import name 'Client'")
    assert top.evidence.startswith("2024-06-18 22:41:09,551 WARNING")


def test_python_warning_line_is_a_warning_with_its_continuation() -> None:
    log = [
        "/srv/jobs/venv/lib/python3.11/site-packages/reportlib/render.py:27: RuntimeWarning: chart backend failed",
        "to load (ImportError: libpng16.so.16: cannot open shared object file); charts are disabled",
        "  warnings.warn(",
    ]
    top = extract_errors(log)[0]
    assert top.exception == "RuntimeWarning"
    assert "cannot open shared object file" in top.message
    assert top.line_end == 3
    # a warning never outranks an error
    err = "2024-06-18 22:41:10,000 ERROR report: rendering failed"
    assert extract_errors([*log, err])[0].evidence == err
    assert extract_errors([err, *log])[0].evidence == err


def test_warning_ranks_below_error_and_traceback_but_above_noise() -> None:
    warn = "[2024-06-18, 22:41:09 UTC] {plugins.py:40} WARNING - Exception when loading plugin 'x': No module named 'y'"
    noise = "[2024-06-18, 22:41:10 UTC] {taskinstance.py:1138} INFO - Marking task as FAILED. dag_id=d, task_id=t"
    assert "Exception when loading plugin" in extract_errors([warn, noise])[0].evidence
    tb = ["Traceback (most recent call last):", '  File "/dags/d.py", line 3, in run', "KeyError: 'sku'"]
    assert extract_errors([*tb, warn])[0].exception == "KeyError"
    assert extract_errors([warn, *tb])[0].exception == "KeyError"  # the warning is not its header


def test_warning_without_an_exception_name_behaves_as_before() -> None:
    log = ["[2024-06-18, 22:41:09 UTC] {http.py:88} WARNING - slow response from upstream api (4s), retrying"]
    assert extract_errors(log) == []


def test_continuation_is_bounded() -> None:
    warn = "2024-06-18 22:41:09,551 WARNING loader: Exception while flushing batch, details follow"
    body = [f"row {i}: value out of range" for i in range(5000)]
    top = extract_errors([warn, *body])[0]
    assert top.line_end - top.line_start <= MSG_CONT_MAX + 1
    assert len(top.message) <= 2000


# --- streaming: the same result line by line, buried in noise, and in the corpus ------------------


def test_feed_and_feed_many_agree() -> None:
    lines = read_lines("hadoop_info_diagnostics.log") + read_lines("worker_wrapped_warning.log")
    a = ErrorExtractor()
    a.feed_many(lines)
    b = ErrorExtractor()
    for ln in lines:
        b.feed(ln)
    assert a.blocks() == b.blocks()


def test_buried_in_noise() -> None:
    for name, needle in (
        ("hadoop_info_diagnostics.log", "Permission denied: user=svc_etl"),
        ("java_service_padded_info_exception.log", "password authentication failed"),
        ("worker_wrapped_warning.log", "Exception while loading exporter plugin"),
    ):
        d = diagnose_lines([*(f"{x}\n" for x in _noise(20_000)), *read_lines(name), *(f"{x}\n" for x in _noise(500))])
        assert needle in d.excerpt, name
