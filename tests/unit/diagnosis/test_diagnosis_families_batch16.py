"""Checks added after batch 16's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


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
