"""One call from log lines to a diagnosis: extract, classify, fingerprint, redact, excerpt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from pipeline_sre.diagnosis.classify import (
    LEARNED_RULE_ID,
    Classification,
    Rule,
    classify,
    classify_by_rules,
    classify_without_blocks,
    stated_wordings,
)
from pipeline_sre.diagnosis.extract import ErrorBlock, ErrorExtractor
from pipeline_sre.diagnosis.fence import strip_control
from pipeline_sre.diagnosis.redact import Redactor
from pipeline_sre.diagnosis.signature import signature_of

EXCERPT_BYTES = 2000
_MESSAGE_CAP = 1000
# a line outside every error block that the rules recognise: taken only on a match that no close rival questions much
# (0.55 is a text-only rule with a rival of another category a little below it: GitHub's 403 body naming its rate
# limit, a fork's "Resource temporarily unavailable"), and reported below the confidence of the same rule on a block
NOTE_MIN = 0.5
NOTE_CAP = 0.7
# the newest such lines shown in the excerpt of a log with no error block, whatever the rules made of them
NOTES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Diagnosis:
    category: str
    confidence: float
    signature: str | None
    exception: str | None
    message: str
    evidence: str
    excerpt: str
    line_start: int | None
    line_end: int | None
    kind: str | None
    rule_id: str | None

    @property
    def basis(self) -> str:
        """How the category was reached, so that a reader can weigh it: a named rule, the learned model's reading of
        the log's words when no rule was sure (a guess, never above 0.79), or nothing."""
        if self.rule_id is None:
            return "none"
        if self.rule_id == LEARNED_RULE_ID:
            return "learned model (no rule was sure)"
        return f"rule {self.rule_id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", errors="replace"))


def _cut_utf8(s: str, limit: int) -> str:
    """The longest prefix of ``s`` whose UTF-8 encoding fits in ``limit`` bytes."""
    if limit <= 0:
        return ""
    b = s.encode("utf-8", errors="replace")
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", errors="ignore")


def _find_exception_line(lines: list[str], exception: str) -> int:
    """Index of the last line that states ``exception`` ("KeyError: 'x'", "Caused by: x.Y: z"), or -1."""
    short = exception.rsplit(".", 1)[-1]
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if exception in line or (short and short + ":" in line):
            return i
    return -1


def build_excerpt(text: str, evidence: str, limit: int = EXCERPT_BYTES, exception: str | None = None) -> str:
    """Whole lines of ``text`` around the evidence line, within ``limit`` UTF-8 bytes.

    The evidence line comes first in priority, then the line that states ``exception`` (when given and
    found elsewhere in ``text``: a long traceback must not push the exception itself out); then the lines
    just before the evidence (the innermost frames of a traceback) and after it (a message continued on
    more lines, the log going on), two bytes before for one after, so a few long lines after the error do not
    crowd out the frames that led to it. Lines left out between kept ones are marked with one ``…`` line.
    """
    limit = max(0, limit)
    lines = text.split("\n")
    idx = -1
    ev = evidence.strip()
    probe = ev.rstrip("…").strip()
    if probe:
        for i, line in enumerate(lines):
            if probe in line:
                idx = i
                break
    if idx < 0:
        if ev:
            lines = [ev, *lines]
            idx = 0
        else:
            idx = len(lines) - 1
    ev_line = _cut_utf8(lines[idx], limit)
    used = _utf8_len(ev_line)
    keep = {idx: ev_line}
    if exception:
        j = _find_exception_line(lines, exception)
        if j >= 0 and j != idx:
            ex_line = _cut_utf8(lines[j], max(0, (limit - used) - 8))
            if ex_line:
                keep[j] = ex_line
                used += _utf8_len(ex_line) + 1 + 4  # its line break and a possible "…" line
    lo, hi = idx - 1, idx + 1
    up = down = 0  # bytes taken above and below the evidence
    while lo >= 0 or hi < len(lines):
        take_up = lo >= 0 and (hi >= len(lines) or up <= 2 * down)
        j = lo if take_up else hi
        if j in keep:
            if take_up:
                lo -= 1
            else:
                hi += 1
            continue
        cost = _utf8_len(lines[j]) + 1
        if used + cost > limit:
            if take_up:
                lo = -1
            else:
                hi = len(lines)
            continue
        keep[j] = lines[j]
        used += cost
        if take_up:
            up += cost
            lo -= 1
        else:
            down += cost
            hi += 1
    parts: list[str] = []
    prev = None
    for i in sorted(keep):
        if prev is not None and i > prev + 1:
            parts.append("…")
        parts.append(keep[i])
        prev = i
    out = "\n".join(parts)
    return _cut_utf8(out, limit)


def diagnose_lines(
    lines: Iterable[str],
    redactor: Redactor | None = None,
    excerpt_bytes: int = EXCERPT_BYTES,
    rules: list[Rule] | None = None,
    context_lines: Iterable[str] = (),
    use_model: bool = True,
) -> Diagnosis:
    """Stream ``lines`` once and return the diagnosis; every text field is redacted.

    ``use_model=False`` classifies with the rules alone, without the learned model under them.
    """
    red = redactor if redactor is not None else Redactor()
    ex = ErrorExtractor(stated_wordings(rules))
    ex.feed_many(lines)
    blocks = ex.blocks(3)
    context = [*context_lines, *ex.context]
    # no error line found: the rules may still recognise a failure in the log's last lines (a one-line failure
    # often has no error word); the model is asked there only last, under its own stricter threshold, since it
    # would read ordinary last lines as some failure
    tail = [] if blocks else ex.last_words()
    cls: Classification = classify(blocks or tail, context, rules, use_model and bool(blocks))
    if cls.category == "unknown" or cls.rule_id == LEARNED_RULE_ID or (tail and ex.last_words_buried):
        # nothing the rules recognise in the blocks or the last words: a line elsewhere that states the failure
        # without an error word, when the rules know it, explains more than a guess; so it does when the last words
        # were read above the routine lines that end the log (they are then only the lines least like the rest)
        noted = _noted(ex.notes(), context, rules)
        if noted is not None:
            note, cls = noted
            return _diagnosis(red, note, cls, excerpt_bytes)
    if not blocks and use_model and cls.category == "unknown":
        # nothing the rules know anywhere: the model may still recognise the wording of the last lines or a note.
        # Its answer is shown below as a rule's answer from the last words is, the last words and notes around its
        # line: that line may stand mid-log, and the lines around it alone lost how the log ended
        cls = classify_without_blocks(ex.unexplained(), context) or cls
    if not blocks:
        if ex.lines_seen == 0:
            msg = "The log is empty: there is nothing to diagnose."
        else:
            msg = (
                f"No error found in {ex.lines_seen} log lines "
                "(no traceback, stack trace, ERROR line, exit code or signal)."
            )
        evidence = _clean(red, cls.evidence)
        # the lines that explain a failure (signals, evictions), the newest lines that state one without an error
        # word (a one-line failure amid ordinary lines is not among the last words), and the log's last words the
        # rules read, with the lines above them (a resolver's first problem, a loader's first refusal)
        stated = [n.text for n in reversed(ex.notes()[:NOTES_SHOWN])]
        last = [line for b in tail for line in (*b.shown_before, b.text)]
        # a note among the last words is shown once, in its place there (a block's text may span several lines)
        in_last = {piece for line in last for piece in line.split("\n")}
        shown = [*list(ex.context)[-5:], *(n for n in stated if n not in in_last), *last]
        return Diagnosis(
            category=cls.category,
            confidence=cls.confidence,
            signature=None,
            exception=None,
            message=msg,
            evidence=evidence,
            # with no answer, the newest stated failure is what the excerpt must keep rather than the last words
            excerpt=build_excerpt(
                "\n".join(_clean(red, c) for c in dict.fromkeys(shown)),
                _clean(red, stated[-1]) if stated and cls.category == "unknown" else evidence,
                excerpt_bytes,
            ),
            line_start=None,
            line_end=None,
            kind=None,
            rule_id=cls.rule_id,
        )
    # the block whose line the answer rests on (a later, vaguer error may rank first: "Fatal error in loading
    # data" after "missing data for column x"): its line is the evidence shown
    top = next((b for b in blocks if cls.evidence and b.evidence == cls.evidence), blocks[0])
    return _diagnosis(red, top, cls, excerpt_bytes)


def _noted(
    notes: list[ErrorBlock], context: list[str], rules: list[Rule] | None
) -> tuple[ErrorBlock, Classification] | None:
    """The note line the rules are surest of (the newest among equals), its answer capped at NOTE_CAP."""
    best: tuple[ErrorBlock, Classification] | None = None
    for note in notes:
        c = classify_by_rules([note], context, rules)
        # the note itself must be what the rule read: a rule that matched a context line (a signal elsewhere in
        # the log) would pin its answer on an unrelated line
        own = bool(c.evidence) and c.evidence.strip() in note.text
        if (
            own
            and c.category != "unknown"
            and c.confidence >= NOTE_MIN
            and (best is None or c.confidence > best[1].confidence)
        ):
            best = (note, c)
    if best is None:
        return None
    note, c = best
    return note, Classification(c.category, min(c.confidence, NOTE_CAP), note.evidence, c.rule_id)


def _diagnosis(red: Redactor, top: ErrorBlock, cls: Classification, excerpt_bytes: int) -> Diagnosis:
    evidence = _clean(red, top.evidence)
    # the block with the log's lines around it: the excerpt keeps the evidence first and fills the budget outwards
    # a block read from a JSON record is followed by the record as written: the fields beside its message
    written = [top.written] if top.written and top.written not in top.text else []
    text = _clean(red, "\n".join([*top.shown_before, top.text, *written, *top.shown_after]))
    return Diagnosis(
        category=cls.category,
        confidence=cls.confidence,
        signature=signature_of(top),
        exception=top.exception,
        message=_clean(red, top.message)[:_MESSAGE_CAP],
        evidence=evidence,
        excerpt=build_excerpt(text, evidence, excerpt_bytes, top.exception),
        line_start=top.line_start,
        line_end=top.line_end,
        kind=top.kind,
        rule_id=cls.rule_id,
    )


def _clean(red: Redactor, text: str) -> str:
    return strip_control(red.redact(text or ""))
