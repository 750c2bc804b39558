"""Families of phrasing added after batch 25's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # Terraform's data source finding nothing to look up; BigQuery's wildcard table as dbt relays it
        (["│ Error: no matching EC2 Subnet found\n", "│   with data.aws_subnet.private,\n"], "upstream_missing"),
        (
            [
                "10:00:01  Database Error in model base_events (models/base_events.sql)\n",
                "  proj-1:analytics_42.events_intraday_* does not match any table.\n",
            ],
            "upstream_missing",
        ),
        # PostgreSQL's superuser-only operations
        (["ERROR: must be superuser to create FOR ALL TABLES publication\n"], "permission_denied"),
        # an expired TLS certificate: renewed, not retried
        (
            ["Unable to connect to the server: x509: certificate has expired or is not yet valid\n"],
            "credentials",
        ),
        # BigQuery's load job refusing a row's bytes or its size
        (
            [
                "google.api_core.exceptions.BadRequest: 400 Error while reading data, error message: Bad character "
                '(ASCII 0) encountered.; line_number: 12 column_index: 1 column_name: "body"\n'
            ],
            "data_quality",
        ),
        (
            [
                'Message: "Error while reading data, error message: Row size is larger than: 104857600. '
                'File: gs://bucket/day/part-0001.jsonl"; Reason: "invalid"\n'
            ],
            "data_quality",
        ),
        # conda's channels without the package; pip's legacy build failure of a dependency
        (
            [
                "PackageNotFoundError: Packages missing in current channels:\n",
                "  - sometool\n",
            ],
            "dependency",
        ),
        (
            [
                'Command "python setup.py egg_info" failed with error code 1 in /tmp/pip-build-x1/scipy/\n',
                "The command '/bin/sh -c pip install scipy' returned a non-zero code: 1\n",
            ],
            "dependency",
        ),
        # a CI host's disk check printed just above the job's failure line
        (
            [
                "  | Not enough inodes free, cutoff is 250000\n",
                "  | Disk health checks failed\n",
                "  | Error: Error setting up bootstrap: The global environment hook exited with status 1\n",
            ],
            "resource_exhausted",
        ),
    ],
)
def test_batch25_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
