"""Families of phrasing added after batch 21's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # a wildcard query over day-sharded tables when the day's table was never written
        (["BigQuery::Errors::BigQueryError: FROM clause with table wildcards matches no table\n"], "upstream_missing"),
        # Travis' job limit in two of its wordings (one with the service's own typo)
        (
            ["I'm sorry but your test run exceeded 50.0 minutes.\n", "\n", "One possible solution is to split it.\n"],
            "timeout",
        ),
        (["The job exceeded the maxmimum time limit for jobs, and has been terminated.\n"], "timeout"),
        # an input whose records repeat an identifier that must be unique
        (
            [
                "contigs.fa is either empty or contains multiple entries with the same identifier. Please check your "
                "input FASTA file and run the tool again.\n"
            ],
            "data_quality",
        ),
    ],
)
def test_batch21_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
