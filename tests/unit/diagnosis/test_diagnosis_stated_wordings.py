"""A failure stated without an error word ("manifest unknown", "is not authorized to perform ...") is found in the
middle of a long log: the extractor looks for the literals of the rules that read a line alone, and a line a rule
accepts becomes a note. Before, such a line was found only among the log's last words, so ordinary lines after it
lost both the answer and the line (the buried decisive-line check of the benchmark)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pipeline_sre.diagnosis import diagnose_lines
from pipeline_sre.diagnosis._scan import LiteralScanner
from pipeline_sre.diagnosis.classify import load_rules, required_literals, stated_wordings
from pipeline_sre.diagnosis.extract import ErrorExtractor, StatedCheck, StatedWordings, holds_trigger

BENCH_DATA = Path(__file__).resolve().parents[3] / "bench" / "data"


def _ordinary(n: int, start: int = 0) -> list[str]:
    """Ordinary task lines, some holding words the rules' literals share ("offset", "partition")."""
    return [
        f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{worker.py:101}} INFO - "
        f"processed partition {i % 12} at offset {1000 + i} with {i % 97} items\n"
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        ("manifest unknown", {"manifest unknown"}),
        (r"is not authorized to perform:?\s", {"is not authorized to perform"}),
        (r"(?:Duplicate row|duplicate key value) detected", {"duplicate row", "duplicate key value"}),
        (r"\bpod (?:was )?deleted\b", {"deleted"}),
        (r"disk (?:is )?full", None),  # "disk " and "full" are too short to be worth a look
        (r"fail(?:ed|ure)", None),
        (r"(?<![\w.])\d+ errors? found", {" error"}),  # the first of two literals as long
        (r"(?:^|\n)\s*Could not resolve host", {"could not resolve host"}),
        (r"exceeded (?:the )?maximum allowed time", {"maximum allowed time"}),
        (r"(?:foo|x)bar", None),  # one branch has no literal of its own: nothing every match must hold
    ],
)
def test_a_pattern_gives_the_literals_every_match_holds(pattern: str, literals: set[str] | None) -> None:
    found = required_literals(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == literals


def test_every_literal_of_a_pattern_is_in_each_of_its_matches() -> None:
    samples = {
        r"is not authorized to perform:?\s": "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: s3:Get",
        r"(?:Duplicate row|duplicate key value) detected": "Duplicate row detected during DML action",
        r"exceeded (?:the )?maximum allowed time": "exceeded the maximum allowed time for your plan",
    }
    for pattern, text in samples.items():
        found = required_literals(re.compile(pattern, re.IGNORECASE))
        assert found
        assert any(literal in text.lower() for literal in found)


def test_only_rules_that_read_the_line_alone_give_wordings() -> None:
    wordings = stated_wordings()
    # kafka.context needs a rebalance elsewhere in the log: "offset" on a line is no failure of its own
    assert not wordings.states("Loaded 498 offset from stage")
    assert not wordings.states("processed partition 3 at offset 1003 with 3 items")
    assert wordings.states("manifest unknown")
    assert wordings.states(
        "User: arn:aws:sts::***:assumed-role/github-actions-plan/s is not authorized to perform: glue:GetConnection"
    )


def test_a_rule_veto_keeps_a_line_out() -> None:
    rules = [r for r in load_rules() if r.id == "oom.dask_killed_worker"]
    assert rules and rules[0].unless
    wordings = stated_wordings(rules)
    assert wordings.states("distributed.scheduler.KilledWorker: ('task-1', <WorkerState 'tcp://10.0.0.5:4001'>)")
    assert not wordings.states("KilledWorker after the spot instance was reclaimed")


def test_the_scan_skips_wordings_a_trigger_word_flags_anyway() -> None:
    wordings = stated_wordings()
    # "Partition .* not found" needs "not found", and "\\d+ errors? found" needs " error": words the extractor flags a
    # line for, so such a line is read without the scan; looking for "partition " flagged every ordinary line
    # naming a partition
    assert holds_trigger(" not found") and holds_trigger(" error")
    assert "partition " not in wordings.scanner.literals
    assert " error" not in wordings.scanner.literals
    assert "manifest unknown" in wordings.scanner.literals
    assert not any(holds_trigger(lit) for lit in wordings.scanner.literals)
    # a flagged line is still read with every wording: Terraform's provider logs its rate limit at DEBUG
    assert wordings.states("[DEBUG] Rate limit 60 reached, sleeping for 24m33s (until 13:41:59) before retrying")


def _bench_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(BENCH_DATA.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases = data.get("cases", []) if isinstance(data, dict) else data
        for case in cases if isinstance(cases, list) else []:
            if isinstance(case, dict) and isinstance(case.get("log"), str):
                lines.extend(case["log"].splitlines())
    return lines


def test_the_quick_test_turns_away_no_line_a_rule_accepts() -> None:
    # every line of the benchmark's real logs reads the same with and without the quick literal test
    wordings = stated_wordings()
    every = StatedWordings(
        {lit: [replace(c, needs=lambda _low: True) for c in cs] for lit, cs in wordings._by_literal.items()}
    )
    lines = _bench_lines()
    assert len(lines) > 10_000
    stated = [line for line in lines if every.states(line)]
    assert len(stated) > 300
    assert [line for line in lines if wordings.states(line)] == stated


# real one-line failures that state their cause with no error word (public threads of the fresh batches)
STATED = [
    (["latest: Pulling from dagu-org/dagu\n", "manifest unknown\n"], "upstream_missing", "manifest unknown"),
    (
        [
            "User: arn:aws:sts::***:assumed-role/github-actions-plan/githubactionsplanrolesession is not authorized "
            "to perform: glue:GetConnection\n"
        ],
        "permission_denied",
        "is not authorized to perform: glue:GetConnection",
    ),
    (["Duplicate row detected during DML action.\n"], "data_quality", "Duplicate row detected during DML action."),
]


@pytest.mark.parametrize(("log", "category", "line"), STATED)
def test_a_failure_stated_mid_log_is_found_with_ordinary_lines_after_it(
    log: list[str], category: str, line: str
) -> None:
    alone = diagnose_lines(log)
    assert alone.category == category
    buried = diagnose_lines([*_ordinary(3000), *log, *_ordinary(3000, 3000)])
    assert buried.category == category
    assert line in buried.excerpt
    assert line in buried.evidence


def test_lines_a_literal_flags_but_no_rule_accepts_do_not_push_the_failure_out() -> None:
    # every ordinary line after the failure holds "offset" and "partition", literals of rules that need more
    log = [*_ordinary(50), "manifest unknown\n", *_ordinary(5000, 50)]
    d = diagnose_lines(log)
    assert d.category == "upstream_missing"
    assert "manifest unknown" in d.excerpt


def test_feeding_line_by_line_finds_the_same_notes() -> None:
    log = [*_ordinary(200), "manifest unknown\n", *_ordinary(200, 200)]
    batch = ErrorExtractor(stated_wordings())
    batch.feed_many(log)
    single = ErrorExtractor(stated_wordings())
    for line in log:
        single.feed(line)
    assert [n.text for n in batch.notes()] == [n.text for n in single.notes()] == ["manifest unknown"]


def test_without_wordings_the_extractor_finds_no_such_note() -> None:
    ex = ErrorExtractor()
    ex.feed_many([*_ordinary(20), "manifest unknown\n", *_ordinary(20, 20)])
    assert ex.notes() == []


def test_a_429_response_logged_at_info_is_found_mid_log() -> None:
    # a Slack webhook's answer as requests prints it, in a Cloud Logging record at INFO (batch 34)
    line = (
        'textPayload: "[forseti-security][2.23.0] google.cloud.forseti.notifier.notifiers.slack_webhook(_send): '
        '<Response [429]>"\n'
    )
    buried = diagnose_lines([*_ordinary(3000), line, *_ordinary(3000, 3000)])
    assert buried.category == "throttled"
    assert "<Response [429]>" in buried.excerpt


def test_a_trigger_word_inside_a_literal_found_first_still_flags_its_line() -> None:
    # one automaton reports non-overlapping matches: "fooexcep" starts first and hides "exception" after it, so the
    # line is read again for trigger words and goes down the error path, not the note path
    wordings = StatedWordings({"fooexcep": [StatedCheck(needs=lambda _low: True, accepts=lambda _text: True)]})
    trig, lits = wordings.find("fooexception raised in step 3")
    assert trig == [] and lits == [0]
    log = ["processed 3 rows\n", "fooexception raised in step 3\n", "processed 4 rows\n"]
    with_wordings = ErrorExtractor(wordings)
    with_wordings.feed_many(log)
    plain = ErrorExtractor()
    plain.feed_many(log)
    assert [n.text for n in with_wordings.notes()] == [n.text for n in plain.notes()]
    assert [b.evidence for b in with_wordings.blocks()] == [b.evidence for b in plain.blocks()]


def test_a_full_filesystem_shown_by_df_is_found_mid_log() -> None:
    # df's row for a filesystem with no inode left holds no error word (batch 33)
    df = [
        "$ df -hi\n",
        "Filesystem     Inodes IUsed IFree IUse% Mounted on\n",
        "/dev/vda1        640K  640K     0  100% /\n",
        "tmpfs            126K   335  125K    1% /run\n",
    ]
    buried = diagnose_lines([*_ordinary(3000), *df, *_ordinary(3000, 3000)])
    assert buried.category == "resource_exhausted"
    assert "/dev/vda1        640K  640K     0  100% /" in buried.excerpt
    # a df row with room left is no failure
    assert diagnose_lines(["/dev/vda1        640K  600K   40K   94% /\n"]).category == "unknown"


def test_a_note_among_the_last_words_is_shown_once() -> None:
    # the note and the last words are the same line here: the excerpt keeps the lines in the log's order, each once
    lines = [
        "2026-12-05 10:00:01 INFO fetching refs\n",
        "$ git fetch origin +refs/pull/12/merge:\n",
        "fatal: Couldn't find remote ref refs/pull/12/merge\n",
    ]
    d = diagnose_lines(lines, use_model=False)
    assert d.category == "upstream_missing"
    assert d.excerpt.split("\n") == [line.rstrip("\n") for line in lines]


def test_a_non_ascii_literal_keeps_the_ascii_fast_path_and_every_hit() -> None:
    # one non-ASCII wording among the rules' literals (bash's German "Getötet") had sent every ASCII line of a large
    # log through the slower str automaton; the ASCII literals keep their bytes automaton and the hits are the same
    scanner = LiteralScanner(["getötet", "no space left", "killed"])
    if scanner.accelerated:  # ahocorasick_rs installed: the bytes automaton is built despite the non-ASCII literal
        assert scanner._bytes is not None
    ascii_text = "x killed; no space left"
    assert sorted(scanner.literals[i] for i, _ in scanner.hits(ascii_text)) == ["killed", "no space left"]
    assert sorted(scanner.starts(ascii_text)) == [2, 10]
    assert [scanner.literals[i] for i, _ in scanner.hits("ab getötet 3.7%")] == ["getötet"]
    assert scanner.hits("plain ascii words") == []
