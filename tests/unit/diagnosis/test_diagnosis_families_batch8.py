"""Families of phrasing added after batch 8's misses were studied (issue 12), read through the whole diagnose path.

Each excerpt is written in the shape a tool prints it, with names, numbers and neighbouring wording changed from the
thread that showed the gap, so a rule that matched one log's exact text would fail here. The last group covers
families no batch has shown yet, phrased as the runtimes and tools print them. ``use_model=False``: these are the
rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


def _rules(lines: list[str]) -> tuple[str, float]:
    d = diagnose_lines(lines, use_model=False)
    return d.category, d.confidence


def test_go_panic_line_is_the_error() -> None:
    lines = [
        'panic: cronjobs.batch is forbidden: User "system:serviceaccount:etl:runner" cannot list cronjobs.batch in\n',
        'the namespace "etl"\n',
        "\n",
        "goroutine 17 [running]:\n",
        "main.mustList(0x11a2f60, 0xc420110e10)\n",
        "\t/src/provisioner/client.go:88 +0x1c4\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "permission_denied"
    assert d.evidence.startswith("panic: cronjobs.batch is forbidden")


def test_cpp_uncaught_bad_alloc_is_oom() -> None:
    lines = [
        "./build_graph -g28 -k12 -o out/graph.bin\n",
        "Read Time:           91.20711\n",
        "terminate called after throwing an instance of 'std::bad_alloc'\n",
        "  what():  std::bad_alloc\n",
    ]
    assert _rules(lines)[0] == "oom"


def test_a_shells_bare_killed_is_a_guess_at_oom() -> None:
    lines = [
        "Fetching https://example.org/dumps/links.v3.tsv.gz\n",
        "87% [==========>  ] 391202117 / 450100022Killed\n",
    ]
    cat, conf = _rules(lines)
    assert cat == "oom" and conf < 0.8
    # the same word with a reason beside it is not read as memory
    assert _rules(["worker-3 was preempted\n", "Killed\n"])[0] != "oom"


def test_kubernetes_pod_operator_relay_is_read_as_the_containers_own_line() -> None:
    prefix = "[2025-02-11, 04:12:09 UTC] {pod_manager.py:472} INFO - [dbt] "
    lines = [
        f"{prefix}Database Error in model int_orders (models/intermediate/int_orders.sql)\n",
        f"{prefix}  100090 (42P18): Duplicate row detected during DML action\n",
        f"{prefix}  Row Values: [12, 'x']\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "data_quality"
    assert d.kind == "dbt"
    assert "Duplicate row detected" in d.excerpt


def test_aws_credential_code_in_a_403_body_is_credentials() -> None:
    lines = [
        "AWS API Error: BotoServerError: 403 Forbidden\n",
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n',
        "  <Error>\n",
        "    <Type>Sender</Type>\n",
        "    <Code>ExpiredToken</Code>\n",
        "    <Message>The security token included in the request is expired</Message>\n",
        "  </Error>\n",
        "</ErrorResponse>\n",
    ]
    assert _rules(lines)[0] == "credentials"


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        (
            [
                "org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during "
                "authentication due to invalid credentials with SASL mechanism PLAIN\n"
            ],
            "credentials",
        ),
        (
            [
                "002108 (22000): SQL compilation error: cannot change column AMOUNT from type NUMBER(38,0) to "
                "VARCHAR(256)\n"
            ],
            "schema_mismatch",
        ),
        (
            ["DataSource.Error: Expression.Error: The column 'Region Name' of the table wasn't found.. Region Name.\n"],
            "schema_mismatch",
        ),
        (
            [
                'LoaderError: value "99999999999" is out of range for type integer\n',
                'CONTEXT: COPY trips, line 8812, column passenger_count: "99999999999"\n',
            ],
            "data_quality",
        ),
        (
            [
                "ERROR ReaderTask - com.fasterxml.jackson.core.JsonParseException: Unexpected character (']' "
                "(code 93)): expected a value\n",
                " at [Source: (StringReader); line: 1, column: 8841]\n",
                "\tat com.fasterxml.jackson.core.JsonParser._constructError(JsonParser.java:2337)\n",
            ],
            "data_quality",
        ),
        (
            [
                "store.errors.UploadError: failed 'gs://b/k': botocore.exceptions.SSLError('SSL validation failed for "
                "https://b.storage.example.com/k [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of "
                "protocol (_ssl.c:1006)')\n"
            ],
            "transient_network",
        ),
        (["Loading driver... TypeError: Class org.mariadb.jdbc.Driver is not found\n"], "dependency"),
        (["slurmstepd: error: *** STEP 99120.0 ON gpu-014 CANCELLED AT 2024-06-02T01:12:44 ***\n"], "killed_external"),
        (
            ["slurmstepd: error: *** JOB 99121 ON gpu-015 CANCELLED AT 2024-06-02T03:00:01 DUE TO TIME LIMIT ***\n"],
            "timeout",
        ),
        (
            [
                "##[error]The job running on agent Hosted Agent 12 ran longer than\n",
                "the maximum time of 90 minutes. For more information, see https://go.microsoft.com/fwlink/?linkid=1\n",
            ],
            "timeout",
        ),
        (
            ["reader error: the kafka reader is reading before the first offset for partition 3 of events\n"],
            "kafka_consumer",
        ),
        (["*** FATAL ERROR: missing input file /data/com/run/20250101/06/analysis.nc ***\n"], "upstream_missing"),
        (
            ["EMIS ERROR: Cannot find file for current simulation time: /ext/emis/2019/07/NOx.nc - check the config\n"],
            "upstream_missing",
        ),
    ],
)
def test_batch8_families(lines: list[str], category: str) -> None:
    assert _rules(lines)[0] == category


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/load.rs:41:18", "code_bug"),
        ("panic: runtime error: invalid memory address or nil pointer dereference", "code_bug"),
        ("ImportError: libgomp.so.1: cannot open shared object file: No such file or directory", "dependency"),
        ("Error: Cannot find module 'date-fns'", "dependency"),
        (
            "org.apache.kafka.common.errors.SerializationException: Error deserializing key/value for partition "
            "clicks-2 at offset 88120",
            "kafka_consumer",
        ),
        ("WorkerPoolError: cannot start a worker: the pool has reached its maximum size of 16", "resource_exhausted"),
        ("ResourceExhaustedError: OOM when allocating tensor with shape[4096,4096] on /gpu:0", "oom"),
        (
            "ERROR 1142 (42000): SELECT command denied to user 'report'@'10.2.0.7' for table 'payments'",
            "permission_denied",
        ),
        (
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x92 in position 2211: invalid start byte",
            "data_quality",
        ),
        ("Job 8812 was cancelled by the scheduler: a higher-priority job needed the node", "killed_external"),
        ("error: RPC failed; curl 18 transfer closed with outstanding read data remaining", "transient_network"),
        ("Error 403: You have exceeded your request quota for this API. Retry later.", "throttled"),
        ("Task load_orders is in state upstream_failed: an upstream task failed", "upstream_missing"),
    ],
)
def test_families_no_batch_has_shown(line: str, category: str) -> None:
    assert _rules([line + "\n"])[0] == category
