"""Checks added after batch 12's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each line is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines


def test_a_plain_value_error_stays_a_code_bug() -> None:
    # only a JSON document cut mid-way is the data; any other ValueError is still read as the code's
    lines = ["Traceback (most recent call last):\n", "ValueError: invalid literal for int() with base 10: 'x'\n"]
    assert diagnose_lines(lines, use_model=False).category == "code_bug"
