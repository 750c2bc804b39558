"""Families of phrasing added after batch 7's misses were studied (issue 12), read through the whole diagnose path.

Each excerpt is written in the shape a tool prints it, with names, numbers and neighbouring wording changed from the
thread that showed the gap, so a rule that matched one log's exact text would fail here. ``use_model=False``: these
are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


def _rules(lines: list[str]) -> tuple[str, float]:
    d = diagnose_lines(lines, use_model=False)
    return d.category, d.confidence


@pytest.mark.parametrize(
    "lines",
    [
        [
            "2024-03-02 10:01:12 start-worker GCP Metadata Service says termination is imminent\n",
            "2024-03-02 10:01:12 start-worker Got graceful-termination request with finish-tasks=true\n",
        ],
        ["2023-05-01 02:11:09.101: (SpotTerminationNotice Severity.CRITICAL) node=loader-3 action=terminate\n"],
        ["WARN  instance i-0abc123 received a spot interruption notice, draining\n"],
        [
            "Error message:\n",
            "The job was stopped before the command finished. PAPI error code 14. Execution failed: worker was "
            "terminated.\n",
        ],
    ],
)
def test_machine_taken_away_is_killed_external(lines: list[str]) -> None:
    assert _rules(lines)[0] == "killed_external"


def test_ipython_rendered_memory_error_is_oom() -> None:
    # a notebook traceback cut before its closing "MemoryError:" line
    lines = [
        "---------------------------------------------------------------------------\n",
        "MemoryError                               Traceback (most recent call last)\n",
        "<ipython-input-4-0a1b2c3d> in <module>\n",
        "----> 1 frame = pd.read_parquet('events.parquet')\n",
        "...\n",
    ]
    assert _rules(lines)[0] == "oom"


def test_dask_killed_worker_is_a_guess_at_oom_unless_the_node_was_preempted() -> None:
    lines = [
        "ERROR - flow_runner | Unexpected error: KilledWorker('sum-4f2a', <Worker 'tcp://10.0.0.5:4011', memory: 0>)\n",
    ]
    cat, conf = _rules(lines)
    assert cat == "oom" and conf < 0.8
    assert _rules([*lines, "WARNING - node pool-2 was preempted\n"])[0] != "oom"


@pytest.mark.parametrize(
    "lines",
    [
        ["Because pkg-a (2.1.0) depends on lib-b (>=3.0) and pkg-c depends on lib-b (<3), version solving failed.\n"],
        [
            "  Preparing metadata (pyproject.toml) ... error\n",
            "  error: subprocess-exited-with-error\n",
            "error: metadata-generation-failed\n",
        ],
        ["  ERROR: Failed building wheel for psycopg2\n", "ERROR: Could not build wheels for psycopg2\n"],
        ["  x No solution found when resolving dependencies:\n"],
        ["npm ERR! code ERESOLVE\n", "npm ERR! ERESOLVE unable to resolve dependency tree\n"],
    ],
)
def test_installers_and_resolvers_failing_are_dependency(lines: list[str]) -> None:
    assert _rules(lines)[0] == "dependency"


@pytest.mark.parametrize(
    "lines",
    [
        [
            "Database Error in model stg_orders (models/stg_orders.sql)\n",
            "  ('08S01', '[08S01] [Microsoft][ODBC Driver 18 for SQL Server]Communication link failure (0) "
            "(SQLExecDirectW)')\n",
        ],
        ["ERROR: [Microsoft][ODBC Driver 17 for SQL Server]TCP Provider: Error code 0x2746 (10054)\n"],
    ],
)
def test_sqlstate_08_connection_errors_are_transient_network(lines: list[str]) -> None:
    assert _rules(lines)[0] == "transient_network"


def test_dbt_message_without_its_indent_is_read_with_its_header() -> None:
    lines = [
        "3 of 9 ERROR creating sql table model analytics.fct_sales  [ERROR in 2.10s]\n",
        "\n",
        "Runtime Error in model fct_sales (models/fct_sales.sql)\n",
        "502 POST https://bigquery.googleapis.com/bigquery/v2/projects/p1/jobs?prettyPrint=false:\n",
        "The service is currently unavailable.\n",
    ]
    assert _rules(lines)[0] == "transient_network"


@pytest.mark.parametrize(
    ("line", "category"),
    [
        # MySQL 1045 is a wrong password; 1044 ("to database") is a missing grant
        ("java.sql.SQLException: Access denied for user 'etl'@'10.1.2.3'\n", "credentials"),
        ("Error: ER_ACCESS_DENIED_ERROR: Access denied for user 'app'@'172.17.0.1'\n", "credentials"),
        ("ERROR 1044 (42000): Access denied for user 'etl'@'%' to database 'sales'\n", "permission_denied"),
        ("cx_Oracle.DatabaseError: ORA-01017: invalid username/password; logon denied\n", "credentials"),
    ],
)
def test_database_logins_refused_are_credentials_and_grants_are_permission(line: str, category: str) -> None:
    assert _rules([line])[0] == category


@pytest.mark.parametrize(
    "lines",
    [
        [
            "Workflow failed. Causes: Error: Message:\n",
            "Exceeded limit 'QUOTA_FOR_CPUS' on resource 'job-harness-7'. Limit: 24.0\n",
            "HTTP Code: 403\n",
        ],
        [
            "$ df -h /data\n",
            "Filesystem      Size  Used Avail Use% Mounted on\n",
            "/dev/sdb1       500G  500G     0 100% /data\n",
        ],
    ],
)
def test_named_quotas_and_full_filesystems_are_resource_exhausted(lines: list[str]) -> None:
    assert _rules(lines)[0] == "resource_exhausted"


@pytest.mark.parametrize(
    "line",
    [
        'Exception in thread "main" java.lang.IllegalArgumentException: Cannot write incompatible dataset to table '
        "with schema:\n",
        "java.lang.IllegalArgumentException: Cannot write nullable values to non-null column 'id'\n",
        "org.apache.spark.sql.AnalysisException: Parquet type not supported: INT64 (UINT_64);\n",
    ],
)
def test_table_formats_refusing_a_write_or_a_type_are_schema_mismatch(line: str) -> None:
    assert _rules([line])[0] == "schema_mismatch"


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("100090 (42P18): Duplicate row detected during DML action\n", "data_quality"),
        ("ERROR: 12 duplicate records found in staging.orders\n", "data_quality"),
        (
            "botocore.errorfactory.EntityNotFoundException: An error occurred (EntityNotFoundException) when calling "
            "the GetTable operation: Table daily_events not found.\n",
            "upstream_missing",
        ),
        (
            "ERROR An error occurred (ResourceNotFoundException) when calling the DescribeJob operation: Job nightly "
            "does not exist\n",
            "upstream_missing",
        ),
        ("✖ nightly-etl-7hx2k   load-step   Max duration limit exceeded\n", "timeout"),
        (
            "kafka server: The requested offset is outside the range of offsets maintained by the server for the "
            "given topic/partition\n",
            "kafka_consumer",
        ),
    ],
)
def test_other_families(line: str, category: str) -> None:
    assert _rules([line])[0] == category
