"""Classify a failure into one category with a calibrated confidence.

Rules are data (``rules/classification.yaml``; users add more files with ``load_rules``). A rule
names a category, a confidence, the fields it looks at and the patterns each must match (all fields
must match, any pattern within a field), plus optional ``unless`` patterns that veto it.

Fields a rule can test, per error block:

``exception``  the root cause's exception type (a wrapper is classified by its root cause)
``message``    the root cause's message
``evidence``   the decisive line
``chain``      every exception type in the chain, outermost to root, space separated
``root``       exception, message and evidence together (the usual choice)
``text``       the whole block text (frames, header, wrapped causes)
``near``       the log's lines just around the block (a cause stated above a bare status, a DETAIL under a FATAL)
``context``    notable lines from anywhere in the log (exit codes, signals, OOM killer ...)
``any``        all of the above

The engine scores each category by its best matching rule (the first block counts fully, the next
ones at half weight), adds a little for agreeing rules, and lowers the confidence when another
category comes close. Below ``min_confidence`` the answer is ``unknown``. A rule marked ``prior`` is
a default (a bare ``ValueError`` is the code's fault; a bare SIGKILL with no word of memory is an external
kill): it answers only when no other rule matches, so it never lowers the confidence of a rule that explains
the failure.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline_sre.diagnosis import learned
from pipeline_sre.diagnosis._yaml import safe_load
from pipeline_sre.diagnosis.extract import ErrorBlock, StatedCheck, StatedWordings, holds_trigger, without_carriers
from pipeline_sre.models import CATEGORIES

FIELDS = ("exception", "message", "evidence", "chain", "root", "text", "near", "context", "any")
MIN_CONFIDENCE = 0.4
# Free-text evidence alone (a phrase in the message) is capped below 0.8: a typed exception, or two rules
# of the same category agreeing, is needed for a high-confidence answer.
TEXT_ONLY_CAP = 0.79
_TYPED_FIELDS = ("exception", "chain")
_SECONDARY_WEIGHT = 0.5
_AGREE_BONUS = 0.03
_MAX_CONFIDENCE = 0.97
LEARNED_RULE_ID = "learned.model"


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    confidence: float
    evidence: str
    rule_id: str | None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str
    confidence: float
    match: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]
    unless: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = ()
    description: str = ""
    agrees: bool = True  # counts toward the agreement of several rules of one category
    # a default for its exception type ("a ValueError is the code's fault"): it answers only when no rule of another
    # category explains the failure, and is no rival to one that does
    prior: bool = False


# '{status 429}' in a rule's pattern: a bare HTTP status, the number as a word of its own that is neither part of a
# decimal, a time or a list ("14:50:01.401") nor a source file's line number ("collector.go:403")
_STATUS = re.compile(r"\{status ([^{}]+)\}")
_STATUS_BEFORE = r"(?<!\d[.:,])(?<!\.[a-z]:)(?<!\.[a-z]{2}:)(?<!\.[a-z]{3}:)(?<!\.[a-z]{4}:)(?<!\.[a-z]{5}:)\b(?:"
_STATUS_AFTER = r")\b(?![.:,]\d)"


def _expand(pattern: str) -> str:
    return _STATUS.sub(lambda m: _STATUS_BEFORE + m.group(1) + _STATUS_AFTER, pattern)


def _patterns(raw: Any, rule_id: str) -> tuple[re.Pattern[str], ...]:
    items = raw if isinstance(raw, list) else [raw]
    try:
        return tuple(re.compile(_expand(str(p)), re.IGNORECASE) for p in items)
    except re.error as exc:
        raise ValueError(f"classification rule {rule_id!r}: bad pattern: {exc}") from exc


def _fields(raw: Any, rule_id: str) -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    if not raw:
        return ()
    if not isinstance(raw, dict):
        raise ValueError(f"classification rule {rule_id!r}: match/unless must be a mapping")
    out = []
    for name, pats in raw.items():
        if name not in FIELDS:
            raise ValueError(f"classification rule {rule_id!r}: unknown field {name!r}; use one of {FIELDS}")
        out.append((str(name), _patterns(pats, rule_id)))
    return tuple(out)


def _compile(raw: dict[str, Any]) -> Rule:
    rid = str(raw.get("id") or "")
    if not rid:
        raise ValueError("classification rule without an id")
    category = str(raw.get("category") or "")
    if category not in CATEGORIES:
        raise ValueError(f"classification rule {rid!r}: unknown category {category!r}")
    conf = float(raw.get("confidence", raw.get("weight", 0.7)))
    if not 0.0 <= conf <= 1.0:
        raise ValueError(f"classification rule {rid!r}: confidence must be within 0..1")
    match = _fields(raw.get("match"), rid)
    if not match:
        raise ValueError(f"classification rule {rid!r}: needs at least one field under match")
    return Rule(
        rid,
        category,
        conf,
        match,
        _fields(raw.get("unless"), rid),
        str(raw.get("description", "")),
        bool(raw.get("agrees", True)),
        bool(raw.get("prior", False)),
    )


def _parse(doc: str) -> list[Rule]:
    data = safe_load(doc) or {}
    return [_compile(r) for r in data.get("rules", [])]


@lru_cache(maxsize=1)
def _builtin() -> tuple[Rule, ...]:
    text = resources.files("pipeline_sre.diagnosis").joinpath("rules/classification.yaml").read_text("utf-8")
    return tuple(_parse(text))


def load_rules(extra_paths: Iterable[str | Path] = ()) -> list[Rule]:
    """Built-in rules plus the rules in ``extra_paths``; a user rule with a built-in id replaces it."""
    rules = {r.id: r for r in _builtin()}
    for p in extra_paths:
        for r in _parse(Path(p).read_text(encoding="utf-8")):
            rules[r.id] = r
    return list(rules.values())


# The regex parser the re module compiles with, for the literals a pattern needs (``_required``). It is private, but
# the same in every CPython this package supports; test_diagnosis_stated_wordings.py pins what it gives.
_sre_parser: Any = importlib.import_module("re._parser")
_sre: Any = importlib.import_module("re._constants")
# the fields a rule reads on the failure line itself ("near" and "context" are other lines)
_LINE_FIELDS = ("message", "evidence", "root", "text", "any")
# shorter literals ("node ", "commit") are in too many ordinary lines to be worth a look
STATED_MIN = 6


def stated_wordings(rules: Sequence[Rule] | None = None) -> StatedWordings:
    """The wordings of ``rules`` (the built-in ones by default) that the extractor looks for on lines with no
    error word: for each line pattern, the literals one of which every line it matches holds."""
    return _stated_wordings(tuple(rules)) if rules is not None else _builtin_stated_wordings()


@lru_cache(maxsize=1)
def _builtin_stated_wordings() -> StatedWordings:
    # every diagnosis asks for these: looking them up by the rules' tuple would hash all the rules each time
    return _stated_wordings(_builtin())


@lru_cache(maxsize=8)
def _stated_wordings(rules: tuple[Rule, ...]) -> StatedWordings:
    by_literal: dict[str, list[StatedCheck]] = {}
    for rule in rules:
        # a rule that also needs an exception type, a chain or other lines cannot answer for a line alone
        if not rule.match or any(name not in _LINE_FIELDS for name, _ in rule.match):
            continue
        needed = [[_literal_sets(p) for p in patterns] for _, patterns in rule.match]
        # a rule with a field whose every pattern needs a word the extractor flags lines for ("error", "denied")
        # accepts only lines the extractor reads anyway: the scan need not look for them
        rule_flagged = any(all(any(map(_flagged_anyway, sets)) for sets in field) for field in needed)
        # any pattern with literals finds a line for the rule; the patterns of its field that could match such a line
        # (the one that gave the literal and those with none, "rate ?limit", that no literal finds) are tried first,
        # so an ordinary line holding "partition " is turned away by a search or two, not by the rule's every pattern
        for (_, patterns), field_sets in zip(rule.match, needed, strict=True):
            literals = [_best(sets) for sets in field_sets]
            unfound = [(p, sets) for p, sets, lits in zip(patterns, field_sets, literals, strict=True) if not lits]
            for pattern, sets, lits in zip(patterns, field_sets, literals, strict=True):
                if not lits:
                    continue
                tried = ((pattern, sets), *unfound)
                check = StatedCheck(
                    partial(_holds_any, tuple(_ascii(s) for _, s in tried)),
                    partial(_states_by, tuple(p for p, _ in tried), rule),
                    rule_flagged or any(map(_flagged_anyway, sets)),
                )
                for literal in lits:
                    by_literal.setdefault(literal, []).append(check)
    return StatedWordings(by_literal)


def _flagged_anyway(literals: frozenset[str]) -> bool:
    """Does every line holding one of ``literals`` hold a word the extractor flags?"""
    return all(holds_trigger(lit) for lit in literals)


def _ascii(sets: list[frozenset[str]]) -> tuple[frozenset[str], ...]:
    return tuple(s for s in sets if all(lit.isascii() for lit in s))


def _holds_any(alternatives: tuple[tuple[frozenset[str], ...], ...], low: str) -> bool:
    """Does ``low`` hold, for one of the patterns, one literal of each set that pattern requires?"""
    return any(all(any(lit in low for lit in s) for s in sets) for sets in alternatives)


def _states_by(patterns: tuple[re.Pattern[str], ...], rule: Rule, line: str) -> bool:
    return any(p.search(line) for p in patterns) and _states(rule, line)


def _states(rule: Rule, line: str) -> bool:
    """Does ``rule`` match ``line`` read as every one of its fields (and no veto)?"""
    return all(any(p.search(line) for p in patterns) for _, patterns in rule.match) and not any(
        p.search(line) for _, patterns in rule.unless for p in patterns
    )


def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Lowercase literals of at least STATED_MIN characters one of which every match of ``pattern`` holds, or
    ``None`` when the pattern has no such set ("fail(ed|ure)", "disk (is )?full")."""
    return _best(_literal_sets(pattern))


def _best(sets: list[frozenset[str]]) -> frozenset[str] | None:
    """The set to look for: the one whose shortest literal is longest (then the smallest; the first of equals), if
    that literal has STATED_MIN characters."""
    best = max(sets, key=_rank, default=None)
    return best if best is not None and min(map(len, best)) >= STATED_MIN else None


def _rank(literals: frozenset[str]) -> tuple[int, int]:
    """How good a set is to look for: its shortest literal the longer, the fewer literals the better."""
    return min(map(len, literals)), -len(literals)


def _literal_sets(pattern: re.Pattern[str]) -> list[frozenset[str]]:
    """Every set of lowercase literals one of which each match of ``pattern`` holds."""
    try:
        parsed = _sre_parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # a pattern the parser's private API reads otherwise: no literals, the line is not looked for
        return []
    return _sets(list(parsed))


def _sets(items: list[tuple[Any, Any]]) -> list[frozenset[str]]:
    """The literal sets of a parsed sequence, in order: its runs of plain characters, the sets of its groups and of
    repeats that must occur, and for an alternation the union of each branch's best set."""
    found: list[frozenset[str]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            found.append(frozenset({"".join(run).lower()}))
            run.clear()

    for op, arg in items:
        if op is _sre.LITERAL:
            run.append(chr(arg))
        elif op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            continue  # zero width: the characters on each side are next to each other in the match
        elif op is _sre.SUBPATTERN and all(o is _sre.LITERAL for o, _ in arg[3]):
            run.extend(chr(a) for _, a in arg[3])  # "(?:foo)" is foo
        else:
            end_run()
            if op is _sre.SUBPATTERN:
                found.extend(_sets(list(arg[3])))
            elif op is _sre.ATOMIC_GROUP:
                found.extend(_sets(list(arg)))
            elif op is _sre.BRANCH:
                branches = [max(_sets(list(b)), key=_rank, default=None) for b in arg[1]]
                if all(b is not None for b in branches):
                    found.append(frozenset().union(*(b for b in branches if b is not None)))
            elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and arg[0] >= 1:
                found.extend(_sets(list(arg[2])))
    end_run()
    return found


class _View:
    """Lazily built texts of one block for the rule fields."""

    def __init__(self, block: ErrorBlock, context: str) -> None:
        self.block = block
        self.context = context
        self._cache: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name in self._cache:
            return self._cache[name]
        b = self.block
        # the texts of log lines are read without what carried each line (see ``without_carriers``)
        if name == "exception":
            v = b.exception or ""
        elif name == "message":
            v = without_carriers(b.message)
        elif name == "evidence":
            v = without_carriers(b.evidence)
        elif name == "chain":
            v = " ".join(b.root_cause_chain)
        elif name == "root":
            # no ": " before a message without an exception type: a note's answer must quote the note itself
            message, evidence = self.get("message"), self.get("evidence")
            v = f"{b.exception}: {message}\n{evidence}" if b.exception else f"{message}\n{evidence}"
        elif name == "text":
            v = without_carriers(b.text)
        elif name == "near":
            v = without_carriers("\n".join((*b.before, *b.after)))
        elif name == "context":
            v = without_carriers(self.context)
        else:
            v = "\n".join(self.get(f) for f in ("root", "chain", "text", "near", "context"))
        self._cache[name] = v
        return v


def _matches(rule: Rule, view: _View) -> tuple[bool, str | None, str | None]:
    """(matched, field of the first match, the matched text)."""
    first_field: str | None = None
    first_text: str | None = None
    for name, pats in rule.match:
        text = view.get(name)
        hit = None
        for p in pats:
            hit = p.search(text)
            if hit:
                break
        if hit is None:
            return False, None, None
        if first_field is None:
            first_field, first_text = name, _line_of(text, hit.start())
    for name, pats in rule.unless:
        text = view.get(name)
        if any(p.search(text) for p in pats):
            return False, None, None
    return True, first_field, first_text


def _line_of(text: str, pos: int) -> str:
    s = text.rfind("\n", 0, pos) + 1
    e = text.find("\n", pos)
    return text[s : e if e >= 0 else len(text)].strip()


def classify(
    blocks: Sequence[ErrorBlock],
    context_lines: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    use_model: bool = True,
) -> Classification:
    """One category for the failure (``unknown`` when the evidence is weak).

    ``use_model=False`` gives the rules' answer alone (the benchmark reports both).
    """
    by_rules = classify_by_rules(blocks, context_lines, rules)
    if not use_model or not blocks:
        return by_rules
    model = learned.load()
    if by_rules.category != "unknown" and by_rules.confidence >= model.rules_sure:
        return by_rules
    rule = (by_rules.category, by_rules.confidence) if by_rules.category != "unknown" else None
    guess = model.predict(learned.model_text(blocks, context_lines), rule)
    if guess is None or guess.category == by_rules.category:
        return by_rules
    conf = round(min(TEXT_ONLY_CAP, guess.probability), 3)
    # the line the rules found (in whichever category) is the failure line to show; the model reads all the blocks
    return Classification(guess.category, conf, by_rules.evidence or blocks[0].evidence, LEARNED_RULE_ID)


# an answer read from lines that are not an error block (the log's last words, lines naming a failure mid-log): the
# model's wording alone, kept below a note the rules recognise
NO_BLOCK_CAP = 0.6


def classify_without_blocks(
    candidates: Sequence[ErrorBlock], context_lines: Sequence[str] = ()
) -> Classification | None:
    """The model's answer for a log in which no error block was found, or ``None`` (the usual case).

    ``candidates`` are the log's last words and its notes (``ErrorExtractor.unexplained``). The
    model reads them together; the answer's evidence is the candidates' line the model alone finds most telling of
    that category.
    """
    if not candidates:
        return None
    model = learned.load()
    probs = model.probabilities(learned.model_text(candidates, context_lines))
    k = max(range(len(probs)), key=probs.__getitem__)
    if probs[k] < model.abstain_no_block or model.classes[k] == learned.NO_CAUSE:
        return None
    best: tuple[float, str] | None = None
    for block in candidates:
        for line in block.text.split("\n"):
            if line.strip():
                p = model.probabilities(line)[k]
                if best is None or p > best[0]:
                    best = (p, line.strip())
    if best is None:
        return None
    conf = round(min(NO_BLOCK_CAP, probs[k]), 3)
    return Classification(model.classes[k], conf, best[1], LEARNED_RULE_ID)


def classify_by_rules(
    blocks: Sequence[ErrorBlock],
    context_lines: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
) -> Classification:
    """The rules' answer alone."""
    active = list(rules) if rules is not None else list(_builtin())
    context = "\n".join(str(x) for x in context_lines)[-20_000:]
    if not blocks and not context.strip():
        return Classification("unknown", 0.0, "", None)
    views = [_View(b, context) for b in blocks[:3]] or [_View(_EMPTY, context)]
    best: dict[str, tuple[float, Rule, str]] = {}
    agree: dict[str, set[str]] = {}
    typed: set[str] = set()
    explained: set[str] = set()  # categories with a rule that is not a prior
    for i, view in enumerate(views):
        weight = 1.0 if i == 0 else _SECONDARY_WEIGHT
        for rule in active:
            ok, fname, ftext = _matches(rule, view)
            if not ok:
                continue
            score = rule.confidence * weight
            if not rule.prior:
                explained.add(rule.category)
            ids = agree.setdefault(rule.category, set())
            if rule.agrees:
                ids.add(rule.id)
            if i == 0 and any(name in _TYPED_FIELDS for name, _ in rule.match):
                typed.add(rule.category)
            # a block read from a log's last words is several unrelated lines: the line the rule matched is the
            # evidence, not the last of them
            if fname in ("exception", "message", "evidence", "root", "chain") and view.block.kind != "tail":
                ev = view.block.evidence or ftext or ""
            else:
                ev = ftext or view.block.evidence
            cur = best.get(rule.category)
            if cur is None or score > cur[0]:
                best[rule.category] = (score, rule, ev)
    if not best:
        ev = views[0].block.evidence if blocks else ""
        return Classification("unknown", 0.0, ev, None)
    if explained:
        best = {c: v for c, v in best.items() if c in explained}

    def _score(cat: str, s: float) -> float:
        s = min(_MAX_CONFIDENCE, s + _AGREE_BONUS * max(0, min(2, len(agree[cat]) - 1)))
        if cat not in typed and len(agree[cat]) < 2:
            s = min(s, TEXT_ONLY_CAP)
        return s

    # ties after the text-only cap go to the rule with the higher confidence of its own
    scored = sorted(
        ((_score(c, s), s, c, r, ev) for c, (s, r, ev) in best.items()),
        key=lambda t: (t[0], t[1]),
        reverse=True,
    )
    top, _raw, cat, rule, ev = scored[0]
    second = scored[1][0] if len(scored) > 1 else 0.0
    margin = top - second
    conf = top * (0.7 + 0.3 * min(1.0, margin / 0.25))
    conf = round(min(_MAX_CONFIDENCE, conf), 3)
    if conf < MIN_CONFIDENCE:
        return Classification("unknown", conf, ev, rule.id)
    return Classification(cat, conf, ev, rule.id)


_EMPTY = ErrorBlock(None, "", [], 0, 0, "", "", "fallback", [])
