"""Families of phrasing added after batch 15's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import ErrorExtractor, diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        (["Not Found\n", "The requested URL was not found on this server.\n"], "upstream_missing"),
        (
            [
                '🦋  info Publishing "acme-cli" at "1.2.0"\n',
                "🦋  error E404 Not Found - PUT https://registry.npmjs.org/acme-cli - Not found\n",
                "🦋  error 'acme-cli@1.2.0' is not in this registry.\n",
            ],
            "credentials",
        ),
        (['Invalid closing quote at line 1042; found "X" instead of delimiter ","\n'], "data_quality"),
    ],
)
def test_batch15_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


def test_the_weak_line_taken_as_a_last_resort_keeps_its_neighbours() -> None:
    lines = ["publishing acme-cli 1.2.0\n", "error 'acme-cli@1.2.0' is not in this registry.\n", "\n", "No token set\n"]
    ex = ErrorExtractor()
    ex.feed_many(lines)
    block = ex.blocks(1)[0]
    assert block.before == ("publishing acme-cli 1.2.0",) and block.after == ("No token set",)
