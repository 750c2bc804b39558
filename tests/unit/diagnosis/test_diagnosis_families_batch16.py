"""Families of phrasing added after batch 16's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # R's allocator
        (["Error: cannot allocate vector of size 12.5 Gb\n"], "oom"),
        # a build step killed under the builder's memory cap, by the legacy builder and by BuildKit
        (
            [
                "$ webpack --config webpack.prod.config.js\n",
                "The command '/bin/sh -c /opt/app/build.sh' returned a non-zero code: 137\n",
            ],
            "oom",
        ),
        (
            [
                "failed to solve: rpc error: code = Unknown desc = executor failed running [/bin/sh -c pip install -r "
                "requirements.txt]: exit code: 137\n"
            ],
            "oom",
        ),
        # DuckDB reading a Parquet file whose footer was never written
        (["Invalid Input Error: No magic bytes found at end of file 'gs://bucket/tree.parquet'\n"], "data_quality"),
        # dbt's Fusion engine resolved where a Python adapter needs dbt-core 1.x
        (
            ["[error] [InvalidConfig (dbt1005)]: The 'duckdb' adapter is not yet supported by dbt Fusion.\n"],
            "dependency",
        ),
        # golang-migrate giving up on the migration lock, inside a "connecting" message
        (
            [
                "2024/05/24 16:06:09 Fatal error connecting to Postgres DB: Failed to migrate the DB: timeout: "
                "can\u2019t acquire database lock\n"
            ],
            "timeout",
        ),
        # Travis' no-output limit in its older wording
        (
            [
                "No output has been received in the last 10 minutes, this potentially indicates a stalled build or "
                "something wrong with the build itself.\n"
            ],
            "timeout",
        ),
        # a consumer's commit refused for a partition the broker no longer hosts
        (
            [
                "[WARN ][org.apache.kafka.clients.consumer.internals.Fetcher] [Consumer clientId=c-0, groupId=g] "
                "Received unknown topic or partition error in fetch for partition events-0\n",
                "[ERROR][org.apache.kafka.clients.consumer.internals.ConsumerCoordinator] [Consumer clientId=c-0, "
                "groupId=g] Offset commit failed on partition events-0 at offset 1475: This server does not host this "
                "topic-partition.\n",
            ],
            "kafka_consumer",
        ),
    ],
)
def test_batch16_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


def test_a_killed_build_step_is_not_read_as_an_outside_kill() -> None:
    got = diagnose_lines(["The command '/bin/sh -c make' returned a non-zero code: 137\n"], use_model=False)
    assert got.category == "oom" and got.confidence < 0.8  # a guess: the log names no memory


_ORDINARY = [f"[2024-05-02, 03:00:{i % 60:02d} UTC] {{worker.py:101}} INFO - processed batch {i}\n" for i in range(300)]


@pytest.mark.parametrize(
    ("line", "category"),
    [
        # a rule with a close rival of another category (here the network's "unavailable") still names the line
        ("fork: Resource temporarily unavailable\n", "resource_exhausted"),
        # no error word at all
        (
            "No output has been received in the last 10 minutes, this potentially indicates a stalled build.\n",
            "timeout",
        ),
    ],
)
def test_a_failure_line_without_an_error_word_is_found_among_ordinary_lines(line: str, category: str) -> None:
    got = diagnose_lines([*_ORDINARY, line, *_ORDINARY], use_model=False)
    assert got.category == category and got.evidence == line.strip() and got.evidence in got.excerpt
