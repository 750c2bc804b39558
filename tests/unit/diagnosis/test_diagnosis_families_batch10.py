"""Families of phrasing and log shapes added after batch 10's misses were studied (issue 12).

Each excerpt is written in the shape a tool prints it, with names, numbers and neighbouring wording changed from the
thread that showed the gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.extract import ErrorExtractor


def test_a_traceback_cut_after_its_first_line_keeps_the_error_record_before_it() -> None:
    lines = [
        "[2022-03-01 02:10:11,201] {{discovery.py:867}} INFO - URL being requested: GET https://example.test/jobs/42\n",
        "[2022-03-01 02:10:11,204] {{taskinstance.py:1150}} ERROR - [Errno 104] Connection reset by peer\n",
        "Traceback (most recent call last):\n",
    ]
    ex = ErrorExtractor()
    ex.feed_many(lines)
    blocks = ex.blocks()
    assert blocks and "Connection reset by peer" in blocks[0].evidence
    noise = [f"[2022-03-01 02:11:{i % 60:02d},000] {{worker.py:7}} INFO - step {i} done\n" for i in range(300)]
    d = diagnose_lines([*noise, *lines, *noise], use_model=False)
    assert d.category == "transient_network"
    assert "Connection reset by peer" in d.excerpt


def test_a_compiler_killed_mid_build_is_not_read_as_an_external_kill() -> None:
    lines = [
        "[ 61%] Building CXX object src/CMakeFiles/core.dir/parser.cpp.o\n",
        "c++: internal compiler error: Killed (program cc1plus)\n",
        "Please submit a full bug report,\n",
        "make[2]: *** [src/CMakeFiles/core.dir/parser.cpp.o] Error 4\n",
    ]
    category, confidence = _rules(lines)
    assert category == "oom"
    assert confidence < 0.8  # the kernel's OOM killer in the common case: a guess


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("bamsort: couldn't allocate memory for sort buffer\n", "oom"),
        (
            "  <h1>403 Invalid or non-existent authentication information. See https://upload.example.test/help</h1>\n",
            "credentials",
        ),
        ("ERROR: UPDATE/MERGE must match at most one source row for each target row\n", "data_quality"),
        (
            "ERROR: Cannot add or update a child row: a foreign key constraint fails (`shop`.`items`, CONSTRAINT "
            "`fk_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`))\n",
            "data_quality",
        ),
        (
            "[ERROR]: Foreign key (FK_ITEM_PRODUCT) constraint fails. Orphan records id: 12,19 from `item`.`pid`\n",
            "data_quality",
        ),
        (
            'Could not index event. {"error"=>{"type"=>"mapper_parsing_exception", "reason"=>"object mapping for '
            '[source] tried to parse field [source] as object, but found a concrete value"}}\n',
            "schema_mismatch",
        ),
        ("ERROR: watcher failed: User limit of inotify watches reached\n", "resource_exhausted"),
        (
            "ERROR: At 2024-03-01T10:00:12Z instance i-0abc was selected for termination by the Auto Scaling group\n",
            "killed_external",
        ),
        (
            "ERROR: Cannot contact build-agent-17-x2k9f: hudson.remoting.RequestAbortedException: "
            "java.nio.channels.ClosedChannelException\n",
            "killed_external",
        ),
        (
            "ERROR: unable to join group session: INCONSISTENT_GROUP_PROTOCOL: The group member's supported "
            "protocols are incompatible with those of existing members\n",
            "kafka_consumer",
        ),
    ],
)
def test_batch10_family(line: str, category: str) -> None:
    assert _rules([line])[0] == category


def _rules(lines: list[str]) -> tuple[str, float]:
    d = diagnose_lines(lines, use_model=False)
    return d.category, d.confidence
