"""Families of phrasing added after batch 11's misses were studied (issue 12).

Each line is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        (
            [
                "[ERROR] Failed to execute goal on project etl-core: Could not resolve dependencies for project "
                "org.example:etl-core:jar:2.1.0-SNAPSHOT: The following artifacts could not be resolved: "
                "org.example:shared:jar:2.1.0-SNAPSHOT: Could not find artifact org.example:shared:jar:2.1.0-SNAPSHOT\n"
            ],
            "dependency",
        ),
        (
            [
                "[ERROR] Failed to execute goal on project etl-core: Could not resolve dependencies for project "
                "org.example:etl-core:jar:2.1.0: Could not transfer artifact org.slf4j:slf4j-api:jar:2.0.9 from/to "
                "central (https://repo.maven.apache.org/maven2): Connection reset -> [Help 1]\n"
            ],
            "transient_network",
        ),
        (["Error in library(affy) : there is no package called 'affy'\n"], "dependency"),
        (
            [
                "Failed to process file sample_R2.fastq.gz\n",
                "uk.ac.babraham.FastQC.Sequence.SequenceFormatException: Midline 'AAF' didn't start with '+' at 42\n",
            ],
            "data_quality",
        ),
        (
            [
                "Logging into registry.example.test...\n",
                'Error: Error response from daemon: Get "https://registry.example.test/v2/": denied: denied\n',
            ],
            "credentials",
        ),
        (
            [
                "WARN [Producer clientId=loader] Error while fetching metadata with correlation id 4 : "
                "{events-raw=UNKNOWN_TOPIC_OR_PARTITION}\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "org.apache.spark.SparkException: [FAILED_EXECUTE_UDF] Failed to execute user defined function "
                "(`parse_amount`: (string) => double).\n"
            ],
            "code_bug",
        ),
        (
            [
                '2024-02-01T10:00:01.000Z\tINFO\tcontroller.termination\tcordoned node\t{"node": "ip-10-0-1-7"}\n',
                '2024-02-01T10:00:02.000Z\tINFO\tcontroller.termination\tdeleted node\t{"node": "ip-10-0-1-7"}\n',
            ],
            "killed_external",
        ),
    ],
)
def test_batch11_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
