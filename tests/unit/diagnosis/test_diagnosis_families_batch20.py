"""Checks added after batch 20's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    "lines",
    [
        # ordinary lines that share a word with the families above
        ["INFO superseded by a newer configuration; reloading\n"],
        ["INFO the maintenance window starts at 02:00 UTC\n"],
        ["Copied 3 artifacts from upstream build number 66\n"],
    ],
)
def test_batch20_family_words_alone_are_not_failures(lines: list[str]) -> None:
    assert diagnose_lines(lines, use_model=False).category == "unknown"
