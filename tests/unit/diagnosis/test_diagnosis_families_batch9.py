"""Families of phrasing and log shapes added after batch 9's misses were studied (issue 12).

Each excerpt is written in the shape a tool prints it, with names, numbers and neighbouring wording changed from the
thread that showed the gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.extract import ErrorExtractor


def _rules(lines: list[str]) -> tuple[str, float]:
    d = diagnose_lines(lines, use_model=False)
    return d.category, d.confidence


def _noise(n: int) -> list[str]:
    return [
        f"2024-05-02 03:{i // 60 % 60:02d}:{i % 60:02d} INFO worker - processed batch {i} in {i % 97} ms\n"
        for i in range(n)
    ]


def test_a_failure_line_without_an_error_word_mid_log_is_found_as_a_note() -> None:
    failure = 'pods "loader-7f9c" is forbidden: User "system:serviceaccount:etl:runner" cannot create resource "pods"\n'
    d = diagnose_lines([*_noise(200), failure, *_noise(300)], use_model=False)
    assert d.category == "permission_denied"
    assert d.kind == "note"
    assert "is forbidden" in d.evidence and "is forbidden" in d.excerpt
    assert d.confidence <= 0.7  # a line outside every error block is weaker evidence


def test_notes_do_not_invent_a_failure_in_an_ordinary_log() -> None:
    lines = [*_noise(100), "2024-05-02 04:00:00 INFO worker - cache missing for key users/42, computing it\n"]
    assert _rules(lines)[0] == "unknown"


_KLOG = [
    "I0611 08:12:01.004211      12 request.go:655] Throttling request took 1.18s, request: GET:https://10.0.0.1/api\n",
    'E0611 08:12:02.771900      12 deploy.go:88] namespaces is forbidden: User "system:serviceaccount:ci:deployer" '
    'cannot create resource "namespaces" in API group "" at the cluster scope\n',
]


def test_klog_prefix_gives_the_level() -> None:
    # client-go's own throttling notice is an INFO record, not a rate limit the server answered
    ex = ErrorExtractor()
    ex.feed_many(_KLOG)
    blocks = ex.blocks()
    assert blocks and "is forbidden" in blocks[0].evidence
    assert _rules(_KLOG)[0] == "permission_denied"


def test_bash_operator_output_is_read_as_the_commands_own_lines() -> None:
    p = "[2021-04-02 01:10:56,446] {subprocess.py:89} INFO - "
    lines = [
        f"{p}2021-04-02 01:10:23,816 loader INFO Sending rows to the warehouse\n",
        f'{p}ERROR:  missing data for column "speed_p95"\n',
        f'{p}CONTEXT:  COPY segments, line 2: "10007,2021-03-25 09:55,119,208"\n',
        f"{p}2021-04-02 01:10:56,445 loader CRITICAL Fatal error in loading data\n",
        "[2021-04-02 01:10:56,447] {subprocess.py:97} INFO - Command exited with return code 1\n",
        "[2021-04-02 01:10:56,450] {taskinstance.py:3311} ERROR - Task failed with exception\n",
        "airflow.exceptions.AirflowException: Bash command failed. The command returned a non-zero exit code 1.\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "schema_mismatch"
    # neither Airflow's wrapper nor the vaguer error after it: the line the answer rests on is shown
    assert "missing data for column" in d.evidence
    assert "missing data for column" in d.excerpt


def test_terraform_detail_after_a_blank_line_belongs_to_the_error() -> None:
    lines = [
        "Initializing provider plugins...\n",
        "\n",
        "Error: Failed to query available provider packages\n",
        "\n",
        "Could not retrieve the list of available versions for provider hashicorp/google:\n",
        "no available releases match the given constraints 4.1.0, ~> 3.90\n",
    ]
    assert _rules(lines)[0] == "dependency"


def test_nextflow_cause_after_a_blank_line_belongs_to_the_error() -> None:
    lines = [
        "Error executing process > 'PIPE:ALIGN (sample_3)'\n",
        "\n",
        "Caused by:\n",
        "  Process exceeded running time limit (8h)\n",
        "\n",
        "Command executed:\n",
    ]
    assert _rules(lines)[0] == "timeout"


def test_a_specific_reason_outranks_the_exit_code_beside_it() -> None:
    lines = [
        "TERM_RUNLIMIT: job killed after reaching LSF run time limit.\n",
        "Exited with exit code 140.\n",
        "Resource usage summary:\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "timeout"
    assert d.evidence.startswith("TERM_RUNLIMIT")


def test_runner_wrappers_are_not_the_evidence() -> None:
    lines = [
        "#9 31.02 npm error code ECONNRESET\n",
        "#9 31.03 npm error network read ECONNRESET\n",
        '#9 ERROR: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1\n',
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "transient_network"
    assert "ECONNRESET" in d.evidence
    d = diagnose_lines(["unauthorized: authentication required\n", "##[error]Process completed with exit code 1.\n"])
    assert d.category == "credentials"


def test_a_line_number_in_a_traceback_is_not_an_http_status() -> None:
    lines = [
        "ValueError: time data '17:30' does not match format '%I:%M %p'\n",
        '  File "scrapers/events.py", line 503, in parse_start\n',
        "    start = time.strptime(text, '%I:%M %p')\n",
    ]
    assert _rules(lines)[0] == "data_quality"


def test_azure_storage_server_busy_is_throttling_not_a_network_error() -> None:
    lines = [
        " StatusMessage:Ingress is over the account limit.\n",
        " ErrorCode:ServerBusy\n",
        " The remote server returned an error: (503) Server Unavailable.\n",
    ]
    assert _rules(lines)[0] == "throttled"


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("Memory cgroup stats for /docker/4be1c2: killed as a result of limit of /docker/4be1c2", "oom"),
        ("g++: fatal error: Killed signal terminated program cc1plus", "oom"),
        ("ERROR: failed to solve: failed to fetch oauth token: unexpected status: 401 Unauthorized", "credentials"),
        ("Could not find a version that matches requests<2.0,>=2.25", "dependency"),
        ("error: package `clap v4.5.0` cannot be built because it requires rustc 1.74.0 or newer", "dependency"),
        (
            "3 errors: infer schema from 'data/part-0.parquet', but get diff schema in file 'data/part-9.parquet'",
            "schema_mismatch",
        ),
        ("ERROR: extra data after last expected column", "schema_mismatch"),
        ("Runtime Error\n  Got a state selector method, but no comparison manifest", "upstream_missing"),
        ("requests.exceptions.HTTPError: HTTPError: 404", "upstream_missing"),
        (
            "RemoteException: The directory item limit of /logs is exceeded: limit=1048576 items=1048576",
            "resource_exhausted",
        ),
        (
            "fatal: unable to access 'https://example.org/r.git/': Couldn't resolve host 'example.org'",
            "transient_network",
        ),
        ("dial tcp: lookup proxy.internal on 127.0.0.53:53: server misbehaving", "transient_network"),
        ("Build timed out (after 90 minutes). Marking the build as aborted.", "timeout"),
        ("##[error]The job exceeded the maximum allowed time of 01:00:00 and was stopped.", "timeout"),
        ("Too long with no output (exceeded 10m0s): context deadline exceeded", "timeout"),
        ("Error: UPGRADE FAILED: pre-install hooks failed: timed out waiting for the condition", "timeout"),
        ("Canceling since a higher priority waiting request for 'ci-tests-main' exists", "killed_external"),
        (
            "Offsets not available on leader: OffsetRange(topic: 'events', partition: 3, range: [10 -> 20])",
            "kafka_consumer",
        ),
        ("##[error]Cannot read property 'payload' of undefined", "code_bug"),
    ],
)
def test_batch9_families(line: str, category: str) -> None:
    assert _rules([x + "\n" for x in line.split("\n")])[0] == category
