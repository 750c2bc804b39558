"""Checks added after batch 14's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines


def test_a_registry_refusing_a_publish_with_404_is_not_a_missing_input() -> None:
    line = "npm error 404 Not Found - PUT https://registry.npmjs.org/acme-tool - Not found\n"
    d = diagnose_lines([line], use_model=False)
    assert d.category != "upstream_missing"


def test_debug_chatter_mentioning_panic_mid_line_stays_debug() -> None:
    # only Go's header ("panic: " at the start or after a relay prefix) lifts a DEBUG line
    d = diagnose_lines(["2024-01-03T10:11:12Z [DEBUG] retry policy: will not panic on timeout\n"])
    assert d.category == "unknown"
