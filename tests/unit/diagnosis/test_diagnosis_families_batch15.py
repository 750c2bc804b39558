"""Checks added after batch 15's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import ErrorExtractor


def test_the_weak_line_taken_as_a_last_resort_keeps_its_neighbours() -> None:
    lines = ["publishing acme-cli 1.2.0\n", "error 'acme-cli@1.2.0' is not in this registry.\n", "\n", "No token set\n"]
    ex = ErrorExtractor()
    ex.feed_many(lines)
    block = ex.blocks(1)[0]
    assert block.before == ("publishing acme-cli 1.2.0",) and block.after == ("No token set",)
