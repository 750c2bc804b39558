"""Families of phrasing added after batch 24's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # an expired token refused as "Access Denied": the credential, not a missing grant
        (
            [
                '  "message": "Access Denied: The Personal Access Token used has expired.",\n',
                '  "typeKey": "AccessCheckException",\n',
            ],
            "credentials",
        ),
        # Databricks refusing a statement the job's code issued
        (
            [
                "[UNSUPPORTED_FEATURE.DESC_JSON_TABLE_TYPE] The feature is not supported: DESCRIBE AS JSON not "
                "supported for table type of [t_events]. Please try again without the AS JSON clause.\n"
            ],
            "code_bug",
        ),
    ],
)
def test_batch24_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category
