"""Checks added after batch 26's misses were studied (issue 12): a one-line failure amid ordinary lines stays in the
excerpt, and a JSON record that states its failure only in an ``error`` field is read as an error.

Its families of phrasing are in test_diagnosis_families_by_batch.py.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis.extract import ErrorExtractor


def _chatter(n: int, start: int = 0) -> list[str]:
    stamp = "[2024-03-01, 09:{:02d}:{:02d} UTC]"
    return [f"{stamp.format(i // 60 % 60, i % 60)} {{w.py:1}} INFO - batch {i}\n" for i in range(start, n)]


@pytest.mark.parametrize(
    "line",
    [
        # no error word, no level, no rule that knows them (the rules alone: the model may name a cause for them)
        "Signal received: 'hangup', shutting down",
        "Cannot connect to the Docker daemon. Is the docker daemon running on this host?",
    ],
)
def test_unexplained_one_line_failure_amid_ordinary_lines_is_in_the_excerpt(line: str) -> None:
    d = diagnose_lines([*_chatter(3000), line + "\n", *_chatter(3200, 3000)], use_model=False)
    assert d.category == "unknown"
    assert line in d.excerpt
    assert len(d.excerpt.encode()) <= 2000


@pytest.mark.parametrize(
    ("line", "category"),
    [
        # a server out of connections, Kafka's code for a topic the broker does not have: error lines now
        ("SQLSTATE[HY000] [1040] Too many connections (SQL: select * from `jobs`)", "resource_exhausted"),
        ("UNKNOWN_TOPIC_OR_PARTITION: this server does not host this topic-partition", "upstream_missing"),
    ],
)
def test_stated_failure_amid_ordinary_lines_is_found(line: str, category: str) -> None:
    d = diagnose_lines([*_chatter(3000), line + "\n", *_chatter(3200, 3000)], use_model=False)
    assert d.category == category
    assert line in d.excerpt


def test_excerpt_of_a_log_without_any_failure_is_still_its_last_words() -> None:
    d = diagnose_lines(_chatter(500))
    assert d.category == "unknown"
    assert "INFO - batch 499" in d.excerpt


def test_json_record_with_only_an_error_field_is_an_error_block() -> None:
    # Docker's JSON progress stream: no message, no level, the failure in "error" and "errorDetail"
    record = (
        '{"errorDetail":{"message":"toomanyrequests: You have reached your pull rate limit."},'
        '"error":"toomanyrequests: You have reached your pull rate limit."}\n'
    )
    ex = ErrorExtractor()
    ex.feed_many([*_chatter(2000), record, *_chatter(2100, 2000)])
    blocks = ex.blocks()
    assert blocks and "You have reached your pull rate limit" in blocks[0].evidence
    assert diagnose_lines([*_chatter(2000), record, *_chatter(2100, 2000)]).category == "throttled"


def test_json_record_with_a_message_keeps_reading_the_message() -> None:
    record = '{"level": "info", "message": "pulled layer 3 of 7", "error": ""}\n'
    ex = ErrorExtractor()
    ex.feed_many([record])
    assert ex.blocks() == []
