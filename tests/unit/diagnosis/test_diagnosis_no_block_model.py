"""The learned model asked about a log in which no error block was found (its last words and notes)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pipeline_sre.diagnosis import diagnose_lines, learned
from pipeline_sre.diagnosis.classify import LEARNED_RULE_ID, NO_BLOCK_CAP, classify_without_blocks
from pipeline_sre.diagnosis.extract import ErrorBlock, ErrorExtractor
from tests.unit.diagnosis.diag_testutil import model_reads

# no ERROR word, no exception, no rule's wording: only the model could read it
_LOG = [
    "2024-05-02 03:00:00 loader started for partition 2024-05-01\n",
    "2024-05-02 03:00:05 reading 120 shards from the landing area\n",
    "bamsort: could not reserve the sort buffer for 64 threads, asked 640G on a 32G machine\n",
]
_ORDINARY = [f"2024-05-02 03:00:{i:02d} loader copied shard {i} (12 MB)\n" for i in range(40)]


@pytest.fixture
def eager_model(monkeypatch: pytest.MonkeyPatch) -> learned.Model:
    """The shipped model, made to answer without an error block whatever its probability."""
    model = replace(learned.load(), abstain_no_block=0.0)
    monkeypatch.setattr(learned, "load", lambda: model)
    return model


def test_the_shipped_threshold_keeps_ordinary_logs_unknown() -> None:
    assert learned.load().abstain_no_block >= 0.4
    d = diagnose_lines(_ORDINARY)
    assert d.category == "unknown"


def test_without_an_error_block_the_model_answers_from_a_line_of_the_log(eager_model: learned.Model) -> None:
    d = diagnose_lines(_LOG)
    probs = eager_model.probabilities(learned.model_text(_candidates(_LOG), []))
    assert d.category == eager_model.classes[max(range(len(probs)), key=probs.__getitem__)]
    assert d.rule_id == LEARNED_RULE_ID
    assert 0 < d.confidence <= NO_BLOCK_CAP  # wording alone, no error line: kept low
    assert any(d.evidence == line.strip() for line in _LOG)
    assert d.evidence in d.excerpt


def test_the_excerpt_of_that_answer_keeps_the_logs_last_words(eager_model: learned.Model) -> None:
    # the line the model reads as the failure may stand mid-log; the log's last words (where a labeller, or the
    # on-call reader, looks for how it ended) stay in the excerpt beside it, not only the lines around it
    last = "2024-05-02 03:01:00 loader gave up: 3 shards not sorted\n"
    d = diagnose_lines([*_ORDINARY[:30], _LOG[2], *_ORDINARY, last])
    assert d.rule_id == LEARNED_RULE_ID
    assert d.evidence == _LOG[2].strip()
    assert d.evidence in d.excerpt
    assert last.strip() in d.excerpt
    assert len(d.excerpt.encode()) <= 2000


def test_the_rules_alone_never_take_that_path(eager_model: learned.Model) -> None:
    assert diagnose_lines(_LOG, use_model=False).category == "unknown"


def test_nothing_to_read_gives_nothing(eager_model: learned.Model) -> None:
    assert classify_without_blocks([]) is None
    assert diagnose_lines([]).category == "unknown"


def test_no_answer_where_the_model_reads_no_cause(eager_model: learned.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    model_reads(monkeypatch, learned.NO_CAUSE, 1.0)
    assert classify_without_blocks(_candidates(_LOG)) is None
    assert diagnose_lines(_LOG).category == "unknown"


def test_a_model_file_without_the_threshold_never_answers_there() -> None:
    doc = json.loads(learned.encode(learned.load()))
    del doc["abstain_no_block"]
    assert learned.decode(json.dumps(doc)).abstain_no_block > 1.0


def _candidates(lines: list[str]) -> list[ErrorBlock]:
    ex = ErrorExtractor()
    ex.feed_many(lines)
    assert not ex.blocks(3)
    return ex.unexplained()
