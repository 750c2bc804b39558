"""Families of real-world phrasing each category accepts (issue 12), read through the whole diagnose path.

Each excerpt is written in the shape a tool prints it (names and numbers changed), so a rule that only matched one
thread's exact text would fail the variants here. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines, extract_errors
from pipeline_sre.diagnosis.extract import ErrorExtractor


def _rules(lines: list[str]) -> tuple[str, float]:
    d = diagnose_lines(lines, use_model=False)
    return d.category, d.confidence


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # one-line failures with no error word: the log's last lines are still classified
        (["Insufficient privileges to operate on schema ANALYTICS.RAW\n"], "permission_denied"),
        (["Lost connection to MySQL server during query\n"], "transient_network"),
        # SQLSTATE 22001, a data exception like the rest of class 22: the value does not fit its column
        (["value too long for type character varying(32)\n"], "data_quality"),
        (["[Errno 2] No such file or directory: 'exports/2024-06-01.csv'\n"], "upstream_missing"),
    ],
)
def test_last_words_are_classified_when_no_error_line_is_found(lines: list[str], category: str) -> None:
    assert extract_errors(lines) == []  # extraction itself is unchanged: no error line
    cat, conf = _rules(["INFO loading batch 7\n", *lines])
    assert cat == category
    assert conf < 0.8  # free text only


def test_last_words_skip_noise_and_a_clean_log_stays_unknown() -> None:
    ok = [
        "[2024-01-01, 00:00:02 UTC] {python.py:201} INFO - Done. Returned value was: None\n",
        "[2024-01-01, 00:00:02 UTC] {taskinstance.py:1149} INFO - Marking task as SUCCESS. dag_id=a, task_id=b\n",
        "[2024-01-01, 00:00:02 UTC] {local_task_job_runner.py:234} INFO - Task exited with return code 0\n",
    ]
    d = diagnose_lines(ok)
    assert d.category == "unknown" and "No error found in 3 log lines" in d.message
    ex = ErrorExtractor()
    ex.feed_many(ok)
    assert [b.evidence for b in ex.last_words()] == [ok[0].strip()]  # success lines dropped


def _fed_both_ways(lines: list[str]) -> tuple[ErrorExtractor, ErrorExtractor]:
    """Extractors fed ``lines`` one at a time and in batches."""
    one = ErrorExtractor()
    for ln in lines:
        one.feed(ln)
    many = ErrorExtractor()
    many.feed_many(lines)
    return one, many


def test_last_words_streamed_line_by_line_match_batch_feeding() -> None:
    lines = ["INFO a\n", "\n", "Quota 'N2_CPUS' exceeded.  Limit: 24.0 in region europe-west1.\n", "  \n"]
    one, many = _fed_both_ways(lines)
    assert one.last_words() == many.last_words()
    assert one.last_words()[0].line_end == 3


@pytest.mark.parametrize(
    "line",
    [
        "Query exceeded per-node memory limit of 12.00GB [Allocated: 11.99GB, Delta: 1.2MB]",
        "com.facebook.presto.ExceededMemoryLimitException: Query exceeded distributed user memory limit of 40GB",
        "distributed.nanny - WARNING - Worker exceeded 95% memory budget. Restarting",
        "Container [pid=811,containerID=container_1_0002_01_000004] is running 912M beyond the 'PHYSICAL' memory "
        "limit. Current usage: 2.9 GB of 2 GB physical memory used. Killing container.",
    ],
)
def test_engine_and_nanny_memory_caps_are_oom(line: str) -> None:
    assert _rules(["INFO step 3\n", line + "\n"])[0] == "oom"


@pytest.mark.parametrize(
    "lines",
    [
        ["CommandException: No URLs matched: gs://landing/2024-06-01/*.json\n"],
        ["java.io.IOException: Unable to match files in bucket raw-events, prefix 2024/06/01/\n"],
        ["MissingInputException in line 12 of /work/Snakefile:\n", "Missing input files for rule align:\n"],
        ["pandas.errors.EmptyDataError: No columns to parse from file\n"],
        ["ERROR: line 3:1: Schema tpcds_sf100 does not exist\n"],
        [
            "pyspark.sql.utils.AnalysisException: "
            "'Unable to infer schema for Parquet. It must be specified manually.;'\n",
        ],
        [
            "io.debezium.DebeziumException: The connector is trying to read binlog starting at "
            "binlog.000412, but this is no longer available on the server.\n"
        ],
    ],
)
def test_missing_or_empty_inputs_are_upstream_missing(lines: list[str]) -> None:
    assert _rules(lines)[0] == "upstream_missing"


@pytest.mark.parametrize(
    "line",
    [
        "google.api_core.exceptions.Forbidden: 403 GET https://storage.googleapis.com/b/o: "
        "etl-sa@p.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage "
        "bucket.",
        'ERROR - {"kind":"Status","status":"Failure","message":"pods is forbidden: User '
        '\\"system:serviceaccount:etl:runner\\" cannot create resource \\"pods\\" in the namespace \\"etl\\""}',
    ],
)
def test_cloud_and_rbac_permission_phrasing(line: str) -> None:
    assert _rules([line + "\n"])[0] == "permission_denied"


def test_sigv4_mismatch_in_words_is_credentials() -> None:
    line = (
        "An error occurred: The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.\n"
    )
    assert _rules([line])[0] == "credentials"


@pytest.mark.parametrize(
    "lines",
    [
        [
            "HIVE_PARTITION_SCHEMA_MISMATCH: There is a mismatch between the table and partition schemas. "
            "The types are incompatible and cannot be coerced.\n"
        ],
        [
            "Caused by: org.apache.kafka.connect.errors.ConnectException: Cannot ALTER to add missing field "
            "SinkRecordField{schema=Schema{INT64}, name='__offset', isPrimaryKey=true}\n"
        ],
        ["dlt.common.schema.exceptions.CannotCoerceColumnException: Cannot coerce type in table orders column id\n"],
        ["ValueError: Length mismatch: Expected axis has 12 elements, new values have 11 elements\n"],
        ["Error: cannot resolve `order_total` in MERGE clause given columns src.id, src.amount\n"],
    ],
)
def test_schema_phrasings(lines: list[str]) -> None:
    assert _rules(lines)[0] == "schema_mismatch"


@pytest.mark.parametrize(
    "line",
    [
        'ERROR:  invalid input syntax for type timestamp: "N/A"',
        'ERROR:  date/time field value out of range: "2019-02-30 00:00:00"',
        'ERROR:  invalid byte sequence for encoding "UTF8": 0x00',
        "100035 (22007): Timestamp '30150-01-01' is not recognized",
        "pandas.errors.ParserError: Error tokenizing data. C error: Expected 5 fields in line 88, saw 7",
        "CSV::MalformedCSVError: Unclosed quoted field on line 4.",
        "Code: 27. DB::Exception: Cannot parse input: expected ',' before: 'x'",
        "ValueError: could not convert string to float: 'n/a'",
        "Missing newline: Unexpected character 0x2c found at location 12",
    ],
)
def test_values_the_target_rejects_are_data_quality(line: str) -> None:
    assert _rules([line + "\n"])[0] == "data_quality"


@pytest.mark.parametrize(
    "line",
    [
        "java.sql.SQLException: No suitable driver found for jdbc:postgresql://db:5432/x",
        "java.lang.RuntimeException: java.lang.ClassNotFoundException: Class org.apache.hadoop.fs.s3a.S3AFileSystem "
        "not found",
        "/lib64/libc.so.6: version `GLIBC_2.34' not found (required by /opt/tool/bin/tool)",
        "Exception: Java gateway process exited before sending its port number",
        "ERROR: Cannot install apache-airflow==2.9.1 because these package versions have conflicting dependencies.",
    ],
)
def test_missing_drivers_libraries_and_conflicts_are_dependency(line: str) -> None:
    assert _rules([line + "\n"])[0] == "dependency"


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("API Error: 529 Overloaded. Please retry.", "transient_network"),
        ("RESOURCE_EXHAUSTED: Quota exceeded for quota metric 'Queries' and limit 'Queries per day'", "throttled"),
        (
            "google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded for quota metric 'Write requests'",
            "throttled",
        ),
        ('{"error": "429 This endpoint has been requested too many times. Try again later."}', "throttled"),
        (
            "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, "
            "timeout 30.00",
            "resource_exhausted",
        ),
        ("Quota 'CPUS' exceeded.  Limit: 24.0 in region us-east1.", "resource_exhausted"),
        (
            "Workflow failed. Causes: Project acme-etl has insufficient quota(s) to execute this workflow with 1 "
            "instances in region us-central1.",
            "resource_exhausted",
        ),
        (
            "ERROR: (gcloud.dataproc.clusters.create) INVALID_ARGUMENT: Multiple validation errors: "
            "- Insufficient 'CPUS' quota. Requested 64.0, available 24.0.",
            "resource_exhausted",
        ),
    ],
)
def test_http_status_and_cloud_quota_families(line: str, category: str) -> None:
    assert _rules([line + "\n"])[0] == category


@pytest.mark.parametrize(
    "lines",
    [
        ["The job running on runner build-7 has exceeded the maximum execution time of 360 minutes.\n"],
        ["ERROR 3024 (HY000): Query execution was interrupted, maximum statement execution time exceeded\n"],
        ["slurmstepd: error: *** JOB 4411 ON node12 CANCELLED AT 2024-06-01T03:00:01 DUE TO TIME LIMIT ***\n"],
        ["  message: Pod was active on the node longer than the specified deadline\n", "  phase: Failed\n"],
        ["Warning  DeadlineExceeded  job-controller  Job was active longer than specified deadline\n"],
        ["[ERROR/ForkPoolWorker-2] Task etl.load[1f2e] raised unexpected: SoftTimeLimitExceeded()\n"],
    ],
)
def test_schedulers_own_time_limits_are_timeout(lines: list[str]) -> None:
    assert _rules(lines)[0] == "timeout"


@pytest.mark.parametrize(
    "lines",
    [
        ["├-⚠ transform(3)     wf-8k2x-1650539430  pod deleted\n"],
        ["I0601 03:02:11 scale_down.go:790] Scale-down: removing node ip-10-0-1-7.ec2.internal\n"],
        ['"message": "Pod was terminated in response to imminent node shutdown.",\n'],
        ['{"Description": "Spot ITN received. Instance will be interrupted at 2024-06-01T03:05:31Z"}\n'],
        ["slurmstepd: error: *** JOB 4411 ON node12 CANCELLED AT 2024-06-01T03:00:01 DUE TO PREEMPTION ***\n"],
        ['"StatusReason": "Host EC2 (instance i-0abc123def4567890) terminated."\n'],
        ["##[error]The runner has received a shutdown signal.\n", "##[error]The operation was canceled.\n"],
    ],
)
def test_platform_took_the_machine_is_killed_external(lines: list[str]) -> None:
    assert _rules(lines)[0] == "killed_external"


@pytest.mark.parametrize(
    "lines",
    [
        [
            "  message: 'The node was low on resource: ephemeral-storage. Container worker was using 7Gi, which "
            "exceeds its request of 0.'\n",
            "  phase: Failed\n",
            "  reason: Evicted\n",
        ],
        ["Warning  Evicted  kubelet  The node had condition: [DiskPressure].\n"],
    ],
)
def test_eviction_for_disk_pressure_is_resource_exhausted(lines: list[str]) -> None:
    assert _rules(lines)[0] == "resource_exhausted"


def test_eviction_for_memory_pressure_is_oom() -> None:
    lines = ["reason: Evicted\n", "message: The node was low on resource: memory. Container app was using 3Gi.\n"]
    assert _rules(lines)[0] == "oom"


@pytest.mark.parametrize(
    "line",
    [
        "kafka: error while consuming events/3: kafka server: The provided member is not known in the current "
        "generation.",
        "GroupCoordinator response error: Broker: Group coordinator not available",
        "kafka.errors.GroupCoordinatorNotAvailableError: [Error 15] GroupCoordinatorNotAvailableError",
        "java.lang.IllegalStateException: Cannot fetch offset 1200 (GroupId: spark-kafka-source-1, "
        "TopicPartition: t-0)",
        "Not polling on partition [clicks-2]. It has [500] uncommitted offsets, which exceeds the limit of [500]",
    ],
)
def test_consumer_group_errors_as_each_client_words_them(line: str) -> None:
    assert _rules([line + "\n"])[0] == "kafka_consumer"


def _progress(n: int) -> list[str]:
    return [
        f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{worker.py:104}} INFO - processed chunk {i} "
        f"with {i * 7 % 9973} rows in {i % 997} ms\n"
        for i in range(n)
    ]


def test_last_words_buried_under_routine_lines_are_the_lines_before_them() -> None:
    # a failure stated without an error word, then thousands of progress lines: the last lines are all one repeated
    # statement, so the last words are the last lines that are not
    stated = "Insufficient privileges to operate on schema ANALYTICS.RAW\n"
    lines = [*_progress(3000), stated, *_progress(5000)]
    buried = diagnose_lines(lines, use_model=False)
    assert buried.category == "permission_denied"
    assert stated.strip() in buried.excerpt
    one, many = _fed_both_ways(lines)
    assert one.last_words() == many.last_words()
    assert many.last_words()[0].line_end == 3001 and many.last_words_buried
    # a line the rules know as a failure statement, among such last words, is shown as that line (a note)
    assert (buried.kind, buried.line_start) == ("note", 3001)


def test_a_short_logs_repeated_last_lines_stay_its_last_words() -> None:
    # a log too short for any line to be routine keeps its last lines, repeated or not
    lines = ["starting export\n", *["Lost connection to MySQL server during query\n"] * 6]
    ex = ErrorExtractor()
    ex.feed_many(lines)
    assert ex.last_words()[0].line_end == 7 and not ex.last_words_buried


def test_postgres_detail_records_finish_the_error_above_them() -> None:
    # PostgreSQL prints DETAIL/HINT as records of their own under the same prefix: one failure, not two
    lines = [
        '2024-06-03 18:25:00.792 UTC [108] FATAL:  password authentication failed for user "etl"\n',
        '2024-06-03 18:25:00.792 UTC [108] DETAIL:  Role "etl" does not exist.\n',
        '\tConnection matched pg_hba.conf line 95: "host all all all md5"\n',
    ]
    blocks = extract_errors(lines)
    assert [(b.line_start, b.line_end) for b in blocks] == [(1, 3)]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "credentials" and got.confidence >= 0.79


def test_a_recipe_runners_exit_line_is_not_the_failure() -> None:
    # just reports that a recipe's command exited non-zero; the lines above it say why (here the tail of a paste
    # from Docker Compose, which makes the report a record of level "error" of its own)
    lines = [
        " sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) FATAL:  password authentication failed for "
        'user "loader"\n',
        "loader-1  |\n",
        "loader-1  | (Background on this error at: https://sqlalche.me/e/20/e3q8)\n",
        "loader-1  | error: Recipe `migrate` failed on line 12 with exit code 1\n",
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "credentials" and got.confidence >= 0.79
