"""Find the decisive error block(s) in a log, streaming, with bounded memory.

How it works
------------
Lines are taken from the iterable in batches. Each batch is joined and lowercased once and a literal
scanner (``_scan.LiteralScanner``) finds the lines that mention anything error-like; every other line
is skipped without any per-line Python work, which is what keeps a 200 MB log fast. A flagged line
goes through the slow path: its log-record prefix (timestamp, level, logger) is parsed, and it may
open a *block* (Python traceback, JVM stack trace, dbt error, multi-line error record). While a block
is open every line is examined until one does not continue it. Closed blocks become candidates with
a *tier* (how decisive that kind of evidence is) and only the best few are kept, so memory stays
bounded however long the log is. At the end the best candidates are turned into ``ErrorBlock``s.

Ranking: a traceback, stack trace, dbt error or structured error record beats a plain ERROR line,
which beats exit codes and signals, which beat Airflow's own trailing noise ("Marking task as
FAILED", "Task exited with return code 1"). A bare wrapper ("AirflowException: Bash command
failed", ``CalledProcessError``) and errors logged at WARNING (handled, retried) rank below a plain
ERROR line. Among equals the later one wins: the last error is usually the one that killed the task.

Two weaker sources are used when nothing better is there. A record of any level (INFO included) may
carry an error payload inside its message: YARN/Hadoop clients log "... Diagnostics: <cause>" or
"(reason: User class threw exception: <cause>)" at INFO; such a payload becomes a low-ranked block.
A WARNING record (or a Python ``warnings`` line) that names an exception becomes a block as well, so
that a message wrapped over several physical lines is read whole rather than by its first fragment.

Lines that state a failure without any error word ("manifest unknown") are not blocks. The scan also looks for the
literals of the classifier's line rules (``StatedWordings``), and a line one of those rules accepts is kept as a
*note*, as are lines with a failure word that no block took; the caller asks the rules about notes when nothing
better explains the failure, so such a line is found mid-log and not only among the log's last words.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from pipeline_sre.diagnosis._scan import LiteralScanner, as_text
from pipeline_sre.diagnosis.fence import ESCAPE_SEQUENCE

LINE_CAP = 4096  # characters of any one line kept once it is held in a block
JSON_CAP = 1 << 20  # a JSON record up to this size is parsed; longer lines are cut to LINE_CAP
TEXT_CAP = 16_384  # characters of ErrorBlock.text
BLOCK_HEAD = 250  # lines kept from the start of a long block ...
BLOCK_TAIL = 250  # ... and from its end
MSG_CONT_MAX = 40  # continuation lines kept for a plain error record
EVIDENCE_CAP = 600
BATCH_LINES = 4096
KEEP = 12  # candidates kept while streaming (the best by rank)
CONTEXT_KEEP = 40
TAIL_KEEP = 8  # last non-blank lines kept for ``last_words`` (noise among them is dropped there)
TAIL_LINES = 3  # of which the last few, noise dropped, make the last-words block
NOTES_KEEP = 64  # lines with a failure word that no block took, kept for ``notes``
SURROUND = 4  # log lines on each side of a block that rules and the model read (``ErrorBlock.before``/``after``)
# log lines on each side of a block the excerpt may show (``ErrorBlock.shown_before``/``shown_after``): a cause is
# often printed a few lines off the error that names it (a tool's summary below it, the kernel's report above a bare
# exit code), and a short log then fits the excerpt whole; wider than SURROUND, which would change what rules read
SHOWN_AROUND = 16
RECENT_KEEP = 64  # the log's last lines remembered for ``before`` (a block that began before the batch being fed)
# the log's last lines kept to tell routine chatter from the rest when the last words are all routine: a failure that
# states its cause without an error word, followed by thousands of progress lines, is still found among these
WINDOW_LINES = 8192
WINDOW_BATCH_CHARS = 8 << 20  # a batch longer than this enters the window with its lines cut to LINE_CAP
ROUTINE = 16  # a line whose shape (digits and hex ids dropped) recurs this often in the window is routine

# --------------------------------------------------------------------------------------------
# Line parsing
# --------------------------------------------------------------------------------------------

_LEVELS = {
    "TRACE": "debug",
    "DEBUG": "debug",
    "INFO": "info",
    "NOTICE": "info",
    "WARN": "warning",
    "WARNING": "warning",
    "ERROR": "error",
    "SEVERE": "error",
    "FATAL": "critical",
    "CRITICAL": "critical",
}
_LVL = r"(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)"
_ISO = r"\d{4}-\d\d-\d\d(?:[T ]|, ?)\d\d:\d\d:\d\d(?:[.,]\d+)?(?: ?(?:Z|UTC|[+-]\d\d:?\d\d))?"
_TS = (
    r"(?:" + _ISO + r"|\d\d/\d\d/\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?"
    r"|\d{6} \d{6}|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d\d:\d\d:\d\d[.,]\d+)"
)
_REC_AIRFLOW = re.compile(r"\[[^\]\n]{8,64}\][ \t]+(?:\{[^}\n]{1,160}\}[ \t]+)?" + _LVL + r"[ \t]+-[ \t]?")
_REC_TS = re.compile(
    r"\[?" + _TS + r"\]?[ \t]+(?:[^\s]{1,80}[ \t]+){0,3}?\[?" + _LVL + r"\]?(?![\w])(?:[ \t]*[:|\-][ \t]?|[ \t]+)?"
)  # "[ \t]+": a padded level column (log4j "%-5p", Python "%(levelname)-8s") is prefix, not message
_REC_LVL_FIRST = re.compile(r"\[?" + _LVL + r"\]?(?::[ \t]?|[ \t]+[-|:][ \t]?|[ \t]+)")
# what a transport puts before every line it carries: a timestamp (GitHub Actions, dbt, docker logs -t), the
# container runtime's "<time> stderr F " (a Kubernetes pod's log file), BuildKit's "#12 3.456 " (docker build),
# Docker Compose's padded container name ("web_1     | ", "etl-worker-1  | ")
_TRANSPORT = re.compile(
    r"\[?" + _ISO + r"\]?[ \t](?:(?:stdout|stderr) [FP] )?|\d\d:\d\d:\d\d(?:\.\d+)?  |#\d+ \d+\.\d+ "
    r"|[A-Za-z][\w.-]{0,80}[_-]\d+ +\| "
)
_REC_STRUCTLOG = re.compile(
    r"\[?" + _ISO + r"\]?[ \t]+\[(?P<level>debug|info|warning|error|critical)\s*\][ \t]?", re.IGNORECASE
)
# Kubernetes components (klog): "E0520 13:57:57.680399      12 request.go:621] message", the letter is the level
_REC_KLOG = re.compile(r"(?P<level>[IWEF])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w./-]+:\d+\] ")
_KLOG_LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "critical"}
_DIGITS = re.compile(r"\d+")
# Airflow's KubernetesPodOperator relays the pod's output as its own INFO records, marked with the container's name
# ("{pod_manager.py:472} INFO - [base] <the container's line>"): the container's line, not the relay's record, says
# what happened (pod_manager's own records, "Pod x has phase Failed", carry no such mark)
_RELAY = re.compile(r"\{pod_manager\.py:\d+\}")
_RELAY_CONTAINER = re.compile(r"\[[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\] ")
# BashOperator relays its command's output the same way, unmarked ("{subprocess.py:93} INFO - ERROR: x"; older
# releases "{bash_operator.py:128}"): every such record is a line of the command's own output
_RELAY_OUTPUT = re.compile(r"\{(?:subprocess|bash_operator)\.py:\d+\}")
# the ``warnings`` module's own format: "path/to/file.py:41: UserWarning: message"
_PY_WARNING = re.compile(r"\S+\.py:\d+: (?:[A-Z]\w*\.)*[A-Z]\w*Warning: ")
# terminal colour and cursor codes (CI logs, dbt, Terraform, pytest print them) would split the words rules and the
# model read ("\x1b[31mError\x1b[0m"); a log pasted into a bug report often keeps them without their ESC ("[31m",
# "[0m"), and those are taken out only where the reset code shows the log was coloured
_ANSI_BARE = re.compile(r"\[(?:\d{1,3}(?:;\d{1,3})*)?m")


def uncolour(text: str) -> str:
    """``text`` without terminal colour codes."""
    if "\x1b" in text:
        text = ESCAPE_SEQUENCE.sub("", text)
    if "[0m" in text:
        text = _ANSI_BARE.sub("", text)
    return text


def without_prefixes(text: str) -> str:
    """``text`` line by line as the learned model reads it: what a logger or a transport put before each message
    (timestamp, logger, a relay's own record) reduced to the message's level, so the same failure reads the same
    however it was carried (a BashOperator's output relayed by Airflow, a pod's log file, a CI runner's timestamps).
    The level stays: that a line was logged at INFO is the model's best sign of chatter."""
    return "\n".join(_message(_parse_line(0, ln)) for ln in text.split("\n"))


def without_carriers(text: str) -> str:
    """``text`` line by line without what a transport put before each line (a CI runner's timestamp, a pod log
    file's "<time> stderr F ", BuildKit's step and time) or the record Airflow relays a command's output in, as the
    rules read it: a message that wraps over several lines reads as one, and a line-anchored pattern finds its line."""
    return "\n".join(_uncarried(ln) for ln in text.split("\n"))


def _uncarried(line: str) -> str:
    # a relay first: its record's bracketed time would otherwise be taken for a transport's and the record kept
    m = _REC_AIRFLOW.match(line) if line[:1] == "[" else None
    start = _relayed_from(line, m.end()) if m is not None else None
    if start is not None:
        return _uncarried(line[start:])
    t = _TRANSPORT.match(line)
    return line[t.end() :] if t is not None else line


def _relayed_from(raw: str, prefix_end: int) -> int | None:
    """Where the command's own line starts in an Airflow record that relays it (ending at ``prefix_end``): after the
    container's mark of a pod relay, right after a BashOperator's record; ``None`` for any other record."""
    if _RELAY.search(raw, 0, prefix_end):
        c = _RELAY_CONTAINER.match(raw, prefix_end)
        if c is not None:
            return c.end()
    return prefix_end if _RELAY_OUTPUT.search(raw, 0, prefix_end) else None


@dataclass(frozen=True)
class StatedCheck:
    """One way a line states a failure. ``needs`` is a quick test of the lowercased line that every line ``accepts``
    takes passes (the other literals its patterns require), so most lines that merely hold the literal are turned away
    before they are read; ``accepts`` is the rule's own test of the line without its carrier. ``flagged`` says that
    every line it accepts holds a word the extractor flags lines for, so the scan need not look for it."""

    needs: Callable[[str], bool]
    accepts: Callable[[str], bool]
    flagged: bool = False


class StatedWordings:
    """Wordings that state a failure with no error word ("manifest unknown", "is not authorized to perform"):
    literals a line must hold, each with the checks that confirm the line states it (the classifier makes them from
    its rules that read a line alone).

    The extractor scans each batch of lines for them and for its trigger words in one pass of one automaton
    (``find``); a line no trigger flagged becomes a note when a check of one of its literals accepts it, so a failure
    stated mid-log, with ordinary lines after it, is still found. Only the lines the scan flags are read one by one.
    The scan skips a literal that holds a trigger word, or whose every check accepts only lines holding one: those
    lines are read anyway. ``states`` reads a line with every check (a flagged DEBUG line is a note only if one
    accepts it).
    """

    def __init__(self, checks: Mapping[str, Sequence[StatedCheck]]) -> None:
        self._by_literal = {lit.lower(): tuple(cs) for lit, cs in checks.items() if lit}
        self._matcher = LiteralScanner(self._by_literal)
        # a literal over two lines is in no line the checks read
        self.scanner = LiteralScanner(
            lit
            for lit, cs in self._by_literal.items()
            if "\n" not in lit and not holds_trigger(lit) and not all(c.flagged for c in cs)
        )
        # the trigger words and these literals in one automaton: a batch is scanned once, not twice
        self._both = LiteralScanner((*_TRIGGERS, *self.scanner.literals))
        triggers = set(_TRIGGERS)
        self._is_trigger = tuple(lit in triggers for lit in self._both.literals)

    def find(self, low: str) -> tuple[list[int], list[int]]:
        """Offsets in lowercase ``low`` where a trigger word starts, and where one of these literals does, found in one
        pass. Occurrences do not overlap: a trigger word that begins inside a literal found first is not among them."""
        trig: list[int] = []
        lits: list[int] = []
        for i, start in self._both.hits(low):
            (trig if self._is_trigger[i] else lits).append(start)
        return trig, lits

    def states(self, line: str) -> bool:
        """Does a check of a literal ``line`` holds accept it (read as the rules read a line)?"""
        low = line.lower()
        found = self._matcher.matched(low)
        if not found:
            return False
        # the quick test reads the lowercased line, which holds each ASCII literal of a match only when lowercasing
        # kept every character's place (it does for ASCII)
        quick = line.isascii()
        accepts = [c.accepts for lit in found for c in self._by_literal[lit] if not quick or c.needs(low)]
        if not accepts:
            return False
        text = _uncarried(line)
        return any(accept(text) for accept in accepts)


def holds_trigger(text: str) -> bool:
    """Does lowercase ``text`` hold a word the extractor flags a line for? Every line holding it is then read anyway,
    so a wording that needs it is no use to ``StatedWordings``."""
    return _trigger_scanner().any_in(text)


@lru_cache(maxsize=1)
def _trigger_scanner() -> LiteralScanner:
    return LiteralScanner(_TRIGGERS)


def _message(ln: _Line) -> str:
    return f"{ln.level} {ln.content}" if ln.record and ln.level else ln.content


@dataclass(slots=True)
class _Line:
    no: int
    raw: str
    content: str
    level: str | None
    record: bool  # carries a level-bearing log-record prefix
    shape: str  # the prefix with digit runs collapsed ("" for a bare line)


def _parse_line(no: int, raw: str) -> _Line:
    prefix_end = 0
    level: str | None = None
    record = False
    k = _REC_KLOG.match(raw) if raw[:1] in "IWEF" else None
    if k is not None:
        end = k.end()
        return _Line(no, raw, raw[end:], _KLOG_LEVELS[k.group("level")], True, _DIGITS.sub("0", raw[:end]))
    m = _REC_AIRFLOW.match(raw) or _REC_STRUCTLOG.match(raw) or _REC_TS.match(raw) or _REC_LVL_FIRST.match(raw)
    if m is None:
        t = _TRANSPORT.match(raw)
        if t is not None:
            prefix_end = t.end()
            m2 = _REC_AIRFLOW.match(raw, prefix_end) or _REC_TS.match(raw, prefix_end)
            if m2 is None:
                m2 = _REC_LVL_FIRST.match(raw, prefix_end)
            if m2 is not None:
                m = m2
    if m is not None:
        prefix_end = m.end()
        start = _relayed_from(raw, prefix_end)
        if start is not None:
            inner = _parse_line(no, raw[start:])
            return _Line(no, raw, inner.content, inner.level, inner.record, inner.shape)
        level = _LEVELS.get(m.group("level").upper())
        record = True
        t = _TRANSPORT.match(raw, prefix_end)  # dbt or another timestamp inside the message
        content_start = t.end() if t is not None else prefix_end
    else:
        content_start = prefix_end
        if _PY_WARNING.match(raw, prefix_end):
            level = "warning"  # not a record (no prefix shape): its continuation lines stay bare
    shape = _DIGITS.sub("0", raw[:prefix_end]) if prefix_end else ""
    return _Line(no, raw, raw[content_start:], level, record, shape)


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_TRIGGERS = (
    "traceback",
    "exception",
    "error",
    "fatal",
    "critical",
    "severe",
    "throwable",
    "fail",
    "kill",
    "signal",
    "sigterm",
    "exit code",
    "exit status",
    "exited",
    "return code",
    "non-zero",
    "terminat",
    "timeout",
    "timed out",
    "oom",
    "out of memory",
    "heap space",
    "memory limit",
    "denied",
    "zombie",
    "heartbeat",
    "preempt",
    "externally",
    "state_message",
    "result unavailable",
    "no space left",
    "too many open files",
    "caused by",
    "max.poll",
    "rebalanc",
    "evict",
    "throttl",
    "rate exceeded",
    "slowdown",
    "slow down",
    "expired",
    "unexpectedly",
    "credentials",
    "abort",
    "violat",
    "nosuch",
    "not exist",
    "too many requests",
    "unrecognized",
    "not accepted any resources",
    "insufficient",
    "beyond physical",
    "beyond virtual",
    "changed type",
    "unavailable",
    "active account",
    "reauthenticat",
    "rate limit",
    "connection slots",
    "out of range",
    "not found",
    "changed mode",
    "schema does not match",
    "low on resource",
    "diskpressure",
    "memory budget",
    "specified deadline",
    "panic",
    "terminate called",
    "imminent",
    "notice",
    "does not match",
    "incompatible",
    "but you have",
    "first offset",
    "limit",
    "not available",
    "unauthorized",
    "authentication",
    "serverbusy",
    "dial tcp",
    "misbehaving",
    "too many connections",
    "max number of clients",
    "unknown_topic",
    # failure words with no error keyword: lines holding one become ``notes`` when no block takes them
    "forbidden",
    "panicked",
    "cannot",
    "can't",
    "could not",
    "couldn't",
    "unable to",
    "invalid",
    "missing",
    "exceeded",
    "refused",
    "no such",
    "mismatch",
    "cancel",
    "not have enough",
    "schema",
    "no output",
    "crashed",
    "not accessible",
    # one word in workflow engines' event names (Cadence's and Temporal's WorkflowExecutionTimedOut)
    "timedout",
)

_TB_START = "Traceback (most recent call last)"
_CHAIN_MARKERS = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)
_PY_CONT = (
    " ",
    "\t",
    ":",
    "[SQL:",
    "[parameters:",
    "(Background on this error",
    "Caused by:",
    "Driver stacktrace:",
    "at ",
    "DETAIL:",
    "HINT:",
    "LINE ",
    "CONTEXT:",
)
# a frame line; one that starts the line belongs to a traceback pasted where indentation is lost (an issue's text
# outside a code block): each is followed by its source line, and the exception is the first line after them that
# names an exception type
_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?')
_PY_MARKERS = re.compile(r"^[\s~^]+$")  # Python 3.11+'s carets under the failing expression
# IPython's and Colab's form of a traceback (a notebook's cell output pasted into a thread): a frame is a line of its
# own, "path.py in func(args)" (IPython 7) or "Cell In[3], line 2, in f()" / "File ~/x.py:12, in f(x)" (IPython 8),
# its source lines are numbered ("----> 1 df = load()" marks the failing one), and Colab folds library frames into
# "21 frames"; the exception comes last, as in Python's own form
_IPY_FRAME = re.compile(
    r"^(?:(?:\S+\.py|<ipython-input-[^>]*>)\s+in\s+[\w.<>]+\(.*"
    r"|Cell In ?\[\d+\], line \d+.*|Input In \[\d+\].*|File \S+:\d+, in .+)$"
)
_IPY_SOURCE = re.compile(r"^-*>\s*\d+\s")
_IPY_FOLDED = re.compile(r"^\d+ frames?$")
_PY_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:\[[\w.]+\])?)(?::[ \t]?(?P<msg>.*))?$")
_JVM_TYPE = r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable|Failure|Fault)"
_JVM_HEAD = re.compile(r"(?:^|(?<=[\s:(]))(?P<type>" + _JVM_TYPE + r")(?::[ \t]?(?P<msg>.*))?$")
_JVM_CAUSED = re.compile(r"^\s*Caused by:\s*(?P<type>[\w$.]+)(?::[ \t]?(?P<msg>.*))?$")
_JVM_AT = re.compile(r"^\s*at\s+(?P<frame>[\w$.<>/\-]+\([^)]*\))")
_JVM_MORE = re.compile(r"^\s*\.\.\. \d+ (?:more|common frames omitted)")
_INNER_EXC = re.compile(r"(?:^|[\s:(])(?P<type>" + _JVM_TYPE + r")(?::[ \t]?(?P<msg>.*))?")
_EXEC_LOST = re.compile(r"(?P<type>ExecutorLostFailure)\s*(?P<msg>\(.*)")
_DBT_HEAD = re.compile(
    r"^(?:\d+ of \d+ )?(?P<head>(?:Database|Runtime|Compilation|Parsing|Dependency|Internal|Env|Validation"
    r"|Unhandled|DBT Runtime) [Ee]rror(?: in (?:model|test|seed|snapshot|macro|source|analysis|sql_operation"
    r"|unit_test|operation|exposure|metric|semantic_model) .*)?"
    r"|(?:Failure|Error|Warning) in (?:test|unit_test) \S+.*)$"
)
# an exception-looking line without a log prefix ("ValueError: x", "psycopg2.errors.UniqueViolation: x",
# "{ ThrottlingException: Rate exceeded") or a line that says it is an error ("Error executing ...")
_BARE_EXC = re.compile(
    r"(?:^|[\s{(\[|>])(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Violation|Failure|Fault|Timeout"
    r"|Throttling|Denied|NotFound|Refused|Exceeded)|(?:[a-z_]\w*\.)+[A-Z]\w+)(?::\s|\s\()"
)
# Go's "panic: <message>" and C++'s "terminate called after throwing an instance of 'T'" are how those runtimes
# report an uncaught error; "##[error]" and "::error" are the CI runners' (Azure Pipelines, GitHub Actions) marks
_BARE_ERROR = re.compile(
    r"\bERROR\b|\bError\b|\berror:|\bFATAL\b|\bFailed\b|\bfailed:|^panic: |terminate called after throwing"
    r"|##\[error\]|^::error\b|\bnpm (?:error|ERR!) "
    # MSBuild's, NuGet's, the C# and TypeScript compilers' coded errors ("app.csproj : error NU1202: ..."), rustc's
    r"|\berror [A-Z]{1,4}\d{3,5}\s*:|\berror\[E\d{4}\]:"
)
# Go's panic header, at the start of the line or after a relay's "<plugin>: " prefix
_RELAYED_PANIC = re.compile(r"(?:^|: )panic: ")
# a WARNING record that names an exception or a failure ("Exception when importing ...", "ImportError: ...")
_NAMES_EXC = re.compile(r"\b\w*(?:exception|error)\b|\bfail(?:ed|ure)\b", re.IGNORECASE)
# an error payload inside a record's message ("... Diagnostics: <cause>", "(reason: <cause>", "threw exception:
# <cause>", "Caused by: <cause>"); it counts only when what follows names an exception or a specific failure
_EMBEDDED = re.compile(
    r"(?:\b[Dd]iagnostics|\b[Rr]eason|\b[Cc]ause|\bCaused by|[Ee]xception|\bdue to)[ \t]*:[ \t]*(?=\S)"
)
# error-ish words; a line with one is the evidence of last resort when nothing else is found ("Authentication token
# has expired", "The driver has stopped unexpectedly" are whole failures that carry no error keyword)
# a cut marker ("...", "…") where a log was trimmed: never the evidence, never an exception's message
_ELLIPSIS = re.compile(r"^\s*(?:\.{3,}|\u2026)+\s*$")
# "error:" / "Error:" alone on its line: a label whose message, if any, is on the lines that follow
_BARE_LABEL = re.compile(r"^[A-Za-z][\w .-]{0,30}:\s*$")
_WEAK = re.compile(r"error|exception|fail|denied|violat|refused|nosuch|not exist|expired|unexpectedly", re.IGNORECASE)
_DATABRICKS_START = re.compile(r"Run result unavailable: job failed with error message", re.IGNORECASE)
# the CI controller or the host going away under the job, with no error word (Jenkins' restart, a VM's halt): a line
# that ends the work (_SIGNALS) and, far from the failure lines it leaves, context for them (_CONTEXT)
_HOST_GONE = r"after Jenkins restart|going down for (?:halt|power-?off)|Power button pressed"
_SIGNALS = re.compile(
    r"return code -?(?:9|15|137|143)\b|exit(?:ed with)? (?:code|status)[:= ]*-?(?:9|15|137|143)\b"
    r"|Negsignal\.\w+"
    r"|\bSIG(?:KILL|TERM|ABRT|SEGV)\b|OOMKilled|oom[-_ ]?kill|(?<![A-Za-z])Killed\b|received signal \d+"
    r"|(?:killed|terminated) (?:by|due to|because)|\bzombie\b|heartbeat|externally|preempt"
    r"|spot (?:instance )?interrupt"
    r"|Evicted|exit code[:= ]*-?\d+|exit status -?\d+|returned non-zero exit status -?\d+|return code -?\d+"
    rf"|{_HOST_GONE}|Pausing \(shutting down\)"
    # Jenkins' line for a build a person stopped
    r"|\bAborted by \w",
    re.IGNORECASE,
)
_SPECIFIC = re.compile(
    r"Job aborted due to stage failure|Container killed by YARN|ExecutorLostFailure|Exception in task \d"
    r"|Lost task \S+ in stage|exceeding memory limits|Cluster terminated\. Reason|terminated\. Reason:"
    r"|state_message|result_state|An error occurred \(\w+\) when calling the \w+ operation"
    r"|Unable to locate credentials|ExpiredToken|CommitFailed|OffsetOutOfRange|max\.poll\.interval\.ms"
    r"|server closed the connection unexpectedly|password authentication failed|could not connect to server"
    r"|Connection refused|No space left on device|Too many open files|OutOfMemory|out of memory"
    r"|Permission denied|Access Denied|timed out|\bTimeout|Rate exceeded|Too Many Requests|Throttl|NoSuch\w+"
    r"|does not exist|Unrecognized name|violates .{0,40}constraint|Process timed out"
    # failures that are not exceptions: scheduler/cluster/cloud CLI lines and WARN-level credential errors
    r"|Initial job has not accepted any resources|InsufficientInstanceCapacity|InsufficientCapacity"
    r"|running beyond (?:physical|virtual) memory limits|Auto offset commit failed|Offset commit .{0,20}failed"
    r"|has changed type from \w+ to \w+|do not currently have an active account|Reauthentication required"
    r"|could not be refreshed|Service Unavailable|\b503\b.{0,80}Unavailable"
    r"|exceeded rate limits|rateLimitExceeded|Rate limits? (?:hit|reached)|remaining connection slots are reserved"
    r"|offset \S+ is out of range|Host EC2 (?:instance )?terminated|Not found: (?:Table|Dataset)"
    r"|has changed mode from \w+ to \w+|Provided Schema does not match|longer than (?:the )?specified deadline"
    # a cloud's notice that the machine is about to be taken away
    r"|termination (?:is )?imminent|(?:preemption|interruption|termination) notice"
    # statements of a failure with no error word: a signature or schema that does not match, a resolver's
    # conflict, an offset outside what the broker keeps, a rate limit reached
    r"|does not match|\bincompatible\b|requires .{1,80}, but you have|is out of range|before the first offset"
    r"|rate limit(?:ed| exceeded| reached)?\b|toomanyrequests"
    # schedulers' own limits: LSF's TERM_RUNLIMIT, a CI job stopped at its maximum time, Kafka offsets gone
    r"|TERM_\w*LIMIT|exceeded the maximum allowed time|Offsets? not available"
    # credential refusals without an error word, Azure Storage's throttling, Go's resolver failing
    r"|unauthorized: |authentication required|ServerBusy|over the account limit|dial tcp|server misbehaving"
    # a server out of client connections (MySQL's 1040, Redis' maxclients), Kafka's code for a topic it does not have
    r"|Too many connections|max number of clients reached|UNKNOWN_TOPIC_OR_PARTITION"
    # Cadence's and Temporal's workflow past its execution timeout, a history event with no error word
    r"|\bWorkflowExecutionTimedOut\b",
    re.IGNORECASE,
)
# a Kubernetes/Docker termination block names the reason on its own line: "Reason: OOMKilled", "Exit Code: 137"
_TERMINATION_REASON = re.compile(
    r"^\s*(?:Reason|reason|Last State|State)\s*:\s*\"?(?:OOMKilled|Evicted|Error|DeadlineExceeded)\b"
)
_NOISE = re.compile(
    r"Marking task as (?:FAILED|UP_FOR_RETRY|SUCCESS)|Failed to execute job \d+ for task"
    r"|Task exited with return code [01]\b"
    r"|Dependencies all met|Executor reports execution|Sending Signals\.SIGTERM to group"
    r"|^\s*Task failed with exception\s*$|Task instance in failure state|Post task execution logs"
    r"|on_failure_callback|Error when executing \w+ callback|Failed to send email|email_on_failure"
    r"|terminated with exit code -?\d+$|Hearbeat|heartbeat recovered|Stopping task"
    r"|Task is in the 'failed' state"
    # a runner or builder reporting only that a step exited non-zero (GitHub Actions, BuildKit), and a logged
    # traceback object's repr: the lines before them say why
    r"|Process completed with exit code \d+|did not complete successfully: exit code|<traceback object at 0x"
    # just's report that a recipe's command exited non-zero
    r"|Recipe `[^`\n]{1,100}` failed (?:on line \d+ )?with exit code \d+",
    re.IGNORECASE,
)
_SUCCESS = re.compile(
    r"(?:return code|exit code|exit status|exitcode)[:= ]*0\b|Marking task as SUCCESS|finished \(success\)",
    re.IGNORECASE,
)
# a setting printed with a step's inputs ("  timeout: 600000" under a GitHub Actions step's "with:"): it names a limit,
# not a failure that reached it
_TIMEOUT_SETTING = re.compile(
    r"^\s*[\w.-]*time-?out[\w.-]*\s*[:=]\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|sec|seconds|minutes)?\s*$", re.I
)
_WRAPPER = re.compile(
    r"^(?:[\w.]*\.)?(?:AirflowException|AirflowFailException|CalledProcessError|DagRunFailed\w*|"
    r"AirflowTaskTerminated)\b.*|.*returned non-zero exit status.*",
    re.IGNORECASE,
)
_WRAPPER_MSG = re.compile(
    r"Task failed|Bash command failed|non-zero exit (?:code|status)|exit code \d|returned non-zero|"
    r"Process returned|Command .* failed|Task received SIGTERM(?!.)|Pod .* returned a failure",
    re.IGNORECASE,
)
_INNER_WRAPPERS = re.compile(
    r"SparkException|Py4JJavaError|SparkRuntimeException|ExecutionException|"
    r"UncheckedExecutionException|InvocationTargetException|CompletionException"
)
_CONTEXT = re.compile(
    r"oomkilled|out ?of ?memory|heap space|memory limit|cannot allocate memory|oom[-_ ]?kill|memoryerror"
    r"|exit(?:ed with)? (?:code|status)[:= ]*-?\d+|return code -?\d+|returned non-zero"
    r"|sigkill|sigterm|negsignal"
    r"|(?<![a-z])killed\b|zombie|heartbeat|externally|preempt|spot|evict|no space left|too many open files|quota"
    r"|throttl|rate exceeded|slow ?down|timed out|timeout|rebalanc|max\.poll"
    # why a pod was evicted or a worker restarted, often a line or two away from the failure itself
    r"|low on resource|diskpressure|pidpressure|memory budget"
    # a throttled Azure storage account answers 503 and names the reason on other lines
    r"|serverbusy|over the account limit"
    rf"|{_HOST_GONE}",
    re.IGNORECASE,
)
_USER_FRAME_EXCLUDE = re.compile(r"site-packages|dist-packages|/lib/python\d|<frozen|/usr/lib/|^<")
_JVM_FRAME_EXCLUDE = re.compile(r"^(?:java|javax|scala|sun|jdk|com\.sun|py4j)\.")

# kind refinement for tracebacks / stack traces / single lines
_KIND_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "botocore",
        re.compile(
            r"botocore|boto3|An error occurred \(\w+\) when calling|NoCredentialsError"
            r"|Unable to locate credentials|ExpiredToken"
        ),
    ),
    ("kafka", re.compile(r"kafka|CommitFailed|OffsetOutOfRange|max\.poll\.interval", re.IGNORECASE)),
    ("databricks", re.compile(r"databricks|state_message|Run result unavailable|Cluster terminated", re.IGNORECASE)),
    ("dbt", re.compile(r"\bdbt[.\s]|dbt\.exceptions")),
    (
        "spark",
        re.compile(
            r"org\.apache\.spark|pyspark|SparkException|Py4JJavaError|ExecutorLostFailure"
            r"|Container killed by YARN|stage failure|Lost task|AnalysisException"
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# Public data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorBlock:
    """One error found in a log.

    ``exception`` is the root cause's type, ``root_cause_chain`` lists exception types from the
    outermost (what was finally raised) to the root; ``frames`` are at most five frames of the root
    cause, innermost first, preferring user code over library frames; ``evidence`` is the single most
    telling line, as it appears in ``text`` (except for structured records, where it is rendered).
    """

    exception: str | None
    message: str
    frames: list[str]
    line_start: int
    line_end: int
    evidence: str
    text: str
    kind: str
    root_cause_chain: list[str] = field(default_factory=list)
    # the log's lines just before and after the block (blank ones left out): a PostgreSQL ``DETAIL:`` line, the
    # kernel's OOM report above a bare exit code, a wget status under its request line
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    # the same, SHOWN_AROUND lines each side: what the excerpt may fill its budget with
    shown_before: tuple[str, ...] = ()
    shown_after: tuple[str, ...] = ()
    # the structured record (a JSON line) the block was read from, as the log wrote it: ``text`` renders its
    # message, which drops the fields beside it ("code": 403, "error_code": 40801) that the excerpt must still show
    written: str = ""


# --------------------------------------------------------------------------------------------
# Blocks under construction
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Exc:
    type: str | None
    msg_lines: list[str]
    frames: list[str]
    line_idx: int  # index into the block's line list of the exception line (-1: none)


class _Open:
    """A block being collected (traceback, stack trace, dbt error or multi-line record)."""

    def __init__(self, kind: str, first: _Line, header: _Line | None) -> None:
        self.kind = kind  # py | jvm | dbt | msg
        self.shape = first.shape
        self.level = first.level if first.record else (header.level if header else None)
        self.header = header
        self.head: list[_Line] = []
        self.tail: deque[_Line] = deque(maxlen=BLOCK_TAIL)
        self.count = 0
        self.state = ""
        self.blanks = 0
        self.first_no = header.no if header is not None else first.no
        self.last_no = first.no
        self.excs: list[_Exc] = []  # tracebacks in print order (py) / exceptions (jvm)
        self.sub_kind = kind
        self.indent = 0
        self.indent_text = ""  # the exact leading whitespace of an indented traceback (spaces or tabs)
        # after a frame that starts its line: 2, its source line (or carets) may follow; 1, only carets may
        self.flat_source = 0
        self.add(first)

    def add(self, ln: _Line) -> int:
        ln.raw = ln.raw[:LINE_CAP]
        ln.content = ln.content[:LINE_CAP]
        self.last_no = ln.no
        self.count += 1
        if len(self.head) < BLOCK_HEAD:
            self.head.append(ln)
            return len(self.head) - 1
        self.tail.append(ln)
        return -1  # not addressable; only head lines are referenced by index

    def lines(self) -> list[_Line]:
        return self.head + list(self.tail)


def _shape_ok(blk: _Open, ln: _Line) -> bool:
    return ln.shape == blk.shape or ln.shape == ""


def _dedent(blk: _Open, ln: _Line) -> _Line:
    if blk.indent and ln.content.startswith(blk.indent_text or " " * blk.indent):
        return _Line(ln.no, ln.raw, ln.content[blk.indent :], ln.level, ln.record, ln.shape)
    return ln


def _py_accept(blk: _Open, ln: _Line) -> bool:
    c = ln.content
    st = blk.state
    if st == "frames":
        m = _PY_FRAME.match(c)
        flat = m is not None and not c[:1].isspace()
        if c.startswith((" ", "\t")) or flat:
            blk.add(ln)
            if m and blk.excs:
                fr = f"{m.group('file')}:{m.group('line')} in {(m.group('func') or '?').strip()}"
                blk.excs[-1].frames.append(fr)
            blk.flat_source = 2 if flat else 0
            return True
        ipy = _IPY_FRAME.match(c)
        if ipy is not None or _IPY_SOURCE.match(c) or _IPY_FOLDED.match(c.strip()):
            blk.add(ln)
            if ipy is not None and blk.excs:
                blk.excs[-1].frames.append(c.strip())
            blk.blanks = 0  # a notebook's frames stand apart, a blank line between each
            blk.flat_source = 0
            return True
        if (
            blk.flat_source
            and c.strip()
            and (_PY_MARKERS.match(c) or (blk.flat_source == 2 and not _names_exception(c.strip())))
        ):
            blk.add(ln)  # the source line under a frame that lost its indent, or the carets under that
            blk.flat_source = 1
            return True
        if not c.strip():
            blk.blanks += 1
            if blk.blanks > 2:
                return False
            blk.add(ln)
            return True
        if c.startswith(_TB_START):
            _py_new_tb(blk, ln)
            return True
        if c.startswith(_CHAIN_MARKERS):
            blk.state = "chain"
            blk.add(ln)
            return True
        if ln.record and ln.shape != blk.shape:
            return False
        idx = blk.add(ln)
        m = _PY_EXC.match(c.strip())
        exc = blk.excs[-1]
        exc.line_idx = idx
        if m:
            exc.type = m.group("type")
            exc.msg_lines.append(m.group("msg") or "")
        else:
            exc.msg_lines.append(c.strip())
        blk.state = "msg"
        blk.blanks = 0
        return True
    if st in ("msg", "after_blank"):
        if not c.strip():
            blk.blanks += 1
            if blk.blanks > 2:
                return False
            blk.state = "after_blank"
            blk.add(ln)
            return True
        if c.startswith(_TB_START):
            _py_new_tb(blk, ln)
            return True
        if c.startswith(_CHAIN_MARKERS):
            blk.state = "chain"
            blk.add(ln)
            return True
        cont = c.startswith(_PY_CONT)
        if st == "after_blank" and not cont:
            return False
        if ln.record and not cont:
            return False
        if len(blk.excs[-1].msg_lines) >= 400:
            return False
        blk.add(ln)
        blk.excs[-1].msg_lines.append(c)
        blk.state = "msg"
        blk.blanks = 0
        return True
    if st == "chain":
        if not c.strip():
            blk.add(ln)
            return True
        if c.startswith(_TB_START):
            _py_new_tb(blk, ln)
            return True
        return False
    return False


def _names_exception(line: str) -> bool:
    """Whether an unindented line in a traceback reads as its exception ("OSError: [Errno 28] ...", "socket.timeout:
    timed out", "KeyboardInterrupt") rather than a source line ("copyfile(src, dst)", "raise")."""
    m = _PY_EXC.match(line)
    return m is not None and (m.group("msg") is not None or m.group("type").rsplit(".", 1)[-1][:1].isupper())


def _py_new_tb(blk: _Open, ln: _Line) -> None:
    blk.add(ln)
    blk.excs.append(_Exc(None, [], [], -1))
    blk.state = "frames"
    blk.blanks = 0


def _jvm_accept(blk: _Open, ln: _Line) -> bool:
    c = ln.content
    if not c.strip():
        if blk.state == "msg0" and blk.blanks < 1 and len(blk.excs[-1].msg_lines) < 30:
            blk.blanks += 1
            blk.add(ln)
            return True
        return False
    m = _JVM_AT.match(c)
    if m:
        blk.add(ln)
        blk.excs[-1].frames.append(m.group("frame"))
        blk.state = "frames"
        return True
    if _JVM_MORE.match(c) or c.lstrip().startswith(("Suppressed:", "Driver stacktrace:")):
        blk.add(ln)
        return True
    m = _JVM_CAUSED.match(c)
    if m:
        idx = blk.add(ln)
        blk.excs.append(_Exc(m.group("type"), [m.group("msg") or ""], [], idx))
        blk.state = "msg0"
        return True
    if c.startswith((" ", "\t")):
        blk.add(ln)
        if blk.state == "msg0":
            blk.excs[-1].msg_lines.append(c)
        return True
    if blk.state == "msg0" and not ln.record and len(blk.excs[-1].msg_lines) < 30:
        blk.add(ln)
        blk.excs[-1].msg_lines.append(c)
        return True
    return False


def _dbt_accept(blk: _Open, ln: _Line) -> bool:
    c = ln.content
    if c.startswith("  ") and c.strip() and blk.count < 40:
        blk.add(ln)
        blk.excs[-1].msg_lines.append(c.strip())
        return True
    # pasted into an issue or re-logged by a wrapper, dbt's message loses its two-space indent: unindented lines
    # straight after the header, with no blank line or new record between, are still its message
    if (
        c.strip()
        and not ln.record
        and ln.no == blk.last_no + 1
        and blk.count < 8
        and not (c.startswith(_TB_START) or _JVM_HEAD.match(c) or _DBT_HEAD.match(c.strip()))
    ):
        blk.add(ln)
        blk.excs[-1].msg_lines.append(c.strip())
        return True
    return False


def _msg_accept(blk: _Open, ln: _Line) -> bool:
    c = ln.content
    if (
        not c.strip()
        and not ln.record
        and blk.count == 1
        and not blk.blanks
        and _DETAIL_AFTER_BLANK.match(blk.head[0].content)
    ):
        blk.blanks = 1  # the summary's detail follows one blank line
        return True
    if ln.record or not c.strip() or blk.count > MSG_CONT_MAX:
        return False
    if c.startswith(_TB_START) or _JVM_HEAD.match(c) or _DBT_HEAD.match(c):
        return False
    blk.add(ln)
    blk.excs[-1].msg_lines.append(c.strip())
    return True


# Terraform and other HCL tools print "Error: <summary>", a blank line, then the paragraph that says why; Nextflow
# prints "Error executing process > 'X'", a blank line, then "Caused by:" and the cause
_DETAIL_AFTER_BLANK = re.compile(r"^\s*(?:│ )?Error: \S|^Error executing process >")

# PostgreSQL prints an error's detail, hint and context as records of their own, with the same prefix but no level
# ("<time> [108] FATAL:  password authentication failed ...", then "<time> [108] DETAIL:  Role "x" does not exist."):
# they belong to the error above them, whose message they finish
_PG_ERROR = re.compile(r"\b(?:ERROR|FATAL|PANIC):\s")
_PG_FIELD = re.compile(r"^.{0,120}?(?<![\w-])(?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):\s")


def _pg_field_of(blk: _Open, ln: _Line) -> bool:
    """Whether ``ln`` is a PostgreSQL detail record of the error record that opened ``blk``."""
    return blk.kind == "msg" and bool(_PG_FIELD.match(ln.content)) and bool(_PG_ERROR.search(blk.head[0].raw))


_ACCEPT = {"py": _py_accept, "jvm": _jvm_accept, "dbt": _dbt_accept, "msg": _msg_accept}


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------


_Near = tuple[int, str]  # a line beside a block: its number in the log and the line as the excerpt shows it


@dataclass(slots=True)
class _Cand:
    tier: float
    last_no: int
    block: ErrorBlock
    is_header: bool = False  # a plain error record that a following trace may absorb
    header_line: _Line | None = None
    before: tuple[_Near, ...] = ()
    after: list[_Near] = field(default_factory=list)
    after_seen: int = 0  # lines after the block read so far (blank ones included), up to SHOWN_AROUND

    @property
    def rank(self) -> tuple[float, int]:
        return (self.tier, self.last_no)


def _cap(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _first_line(s: str) -> str:
    return s.strip().split("\n", 1)[0].strip()


def _pick_frames(frames: list[str], python: bool) -> list[str]:
    """At most five frames, innermost first, user code preferred."""
    if python:
        inner_first = list(reversed(frames))
        user = [f for f in inner_first if not _USER_FRAME_EXCLUDE.search(f)]
    else:
        inner_first = list(frames)
        user = [f for f in inner_first if not _JVM_FRAME_EXCLUDE.match(f)]
    chosen = user or inner_first
    return chosen[:5]


def _refine_kind(default: str, *texts: str | None) -> str:
    joined = "\n".join(t for t in texts if t)
    for kind, rx in _KIND_HINTS:
        if rx.search(joined):
            return kind
    return default


def _block_text(lines: list[_Line], evidence_idx: int) -> str:
    raws = [ln.raw for ln in lines]
    text = "\n".join(raws)
    if len(text) <= TEXT_CAP:
        return text
    # keep a window of whole lines around the evidence line, plus the first line
    idx = max(0, min(evidence_idx, len(raws) - 1))
    keep = {0, idx}
    budget = TEXT_CAP - len(raws[0]) - len(raws[idx]) - 8
    lo, hi = idx - 1, idx + 1
    while budget > 0 and (lo > 0 or hi < len(raws)):
        if lo > 0:
            budget -= len(raws[lo]) + 1
            if budget < 0:
                break
            keep.add(lo)
            lo -= 1
        if hi < len(raws) and budget > 0:
            budget -= len(raws[hi]) + 1
            if budget < 0:
                break
            keep.add(hi)
            hi += 1
    out: list[str] = []
    prev = -1
    for i in sorted(keep):
        if prev >= 0 and i != prev + 1:
            out.append("…")
        out.append(raws[i][:TEXT_CAP])
        prev = i
    return "\n".join(out)[:TEXT_CAP]


def _inner_cause(exc_type: str | None, message: str) -> tuple[str, str] | None:
    """For wrappers whose message embeds the real cause (SparkException, Py4JJavaError)."""
    if not exc_type or not _INNER_WRAPPERS.search(exc_type):
        return None
    m = _EXEC_LOST.search(message)
    best: tuple[str, str] | None = None
    for mm in _INNER_EXC.finditer(message):
        if mm.group("type") != exc_type:
            best = (mm.group("type"), mm.group("msg") or "")
    if m is not None and (best is None or "Container killed" in m.group("msg")):
        best = (m.group("type"), m.group("msg"))
    return best


# --------------------------------------------------------------------------------------------
# The extractor
# --------------------------------------------------------------------------------------------


class ErrorExtractor:
    """Streaming state machine behind ``extract_errors``; also gathers context lines.

    Feed lines with ``feed_many`` (fast) or ``feed`` (one at a time), then call ``blocks()``.
    """

    def __init__(self, stated: StatedWordings | None = None) -> None:
        self._scanner = _trigger_scanner()
        self._stated = stated
        self._open: _Open | None = None
        self._cands: list[_Cand] = []
        self._lineno = 0
        self.context: deque[str] = deque(maxlen=CONTEXT_KEEP)
        self.lines_seen = 0
        # the last error-ish line that produced nothing, used if nothing else is found (so only while nothing is)
        self._weak: _Cand | None = None
        self._tail: deque[tuple[int, str]] = deque(maxlen=TAIL_KEEP)  # (line number, line): the log's last words
        self._notes: deque[_Cand] = deque(maxlen=NOTES_KEEP)  # see ``notes``
        # the lines a block's neighbours are read from: the batch being fed and the lines before it
        self._batch: list[str] = []
        self._batch_base = 0
        self._recent: deque[tuple[int, str]] = deque(maxlen=RECENT_KEEP)
        self._window: deque[str] = deque(maxlen=WINDOW_LINES)  # the log's last lines, the last at self._lineno
        self._unroutine: tuple[int, Sequence[tuple[int, str]]] | None = None  # ``_unroutine_tail`` at a line number
        self._record: tuple[int, str] | None = None  # (line number, line) of the JSON record being read, if any

    # -- feeding ---------------------------------------------------------------------------

    def feed_many(self, lines: Iterable[str]) -> None:
        if isinstance(lines, str | bytes | bytearray):
            lines = as_text(lines).splitlines()
        it = iter(lines)
        scanner = self._scanner
        while True:
            batch = list(itertools.islice(it, BATCH_LINES))
            if not batch:
                break
            try:
                text = "\n".join(batch)
            except TypeError:
                batch = [as_text(x) for x in batch]
                text = "\n".join(batch)
            if len(text) > len(batch) * 2048 and max(map(len, batch)) > JSON_CAP:
                batch = [x if len(x) <= JSON_CAP else x[:LINE_CAP] for x in batch]
                text = "\n".join(batch)
            if "\x1b" in text or "[0m" in text:
                batch = [uncolour(x) for x in batch]
                text = "\n".join(batch)
            base = self._lineno
            self._lineno += len(batch)
            self._keep_tail(base, batch)
            self._window.extend(batch if len(text) <= WINDOW_BATCH_CHARS else [x[:LINE_CAP] for x in batch])
            self._batch, self._batch_base = batch, base
            low = text.lower()
            if len(low) == len(text):
                ends = list(itertools.accumulate(len(x) + 1 for x in batch))
                if self._stated is None:
                    flagged = {bisect.bisect_right(ends, p) for p in scanner.starts(low)}
                    stated: set[int] = set()
                else:
                    trig, lits = self._stated.find(low)
                    flagged = {bisect.bisect_right(ends, p) for p in trig}
                    stated = {bisect.bisect_right(ends, p) for p in lits} - flagged
                    # a trigger word that overlaps a literal before it was not reported: those lines are flagged too
                    hidden = {i for i in stated if scanner.any_in(batch[i].lower())}
                    flagged |= hidden
                    stated -= hidden
            else:  # lowercasing changed the length (rare non-ASCII): check line by line
                flagged = {i for i, x in enumerate(batch) if scanner.any_in(x.lower())}
                stated = (
                    {i for i, x in enumerate(batch) if i not in flagged and self._stated.scanner.any_in(x.lower())}
                    if self._stated is not None
                    else set()
                )
            hits = sorted(flagged | stated)
            n = len(batch)
            i = 0
            hp = 0
            while i < n:
                if self._open is None:
                    while hp < len(hits) and hits[hp] < i:
                        hp += 1
                    if hp >= len(hits):
                        break
                    i = hits[hp]
                    if i in stated:
                        self._stated_line(base + i + 1, batch[i])
                        i += 1
                        continue
                self._feed_one(base + i + 1, batch[i])
                i += 1
            self._fill_after()
            self._recent.extend((base + j + 1, batch[j]) for j in range(max(0, len(batch) - RECENT_KEEP), len(batch)))
        # the last batch stays at hand: a block still open at the end of the log is closed by ``blocks``
        self.lines_seen = self._lineno

    def feed(self, line: str) -> None:
        self._lineno += 1
        self.lines_seen = self._lineno
        line = as_text(line)
        if len(line) > JSON_CAP:
            line = line[:LINE_CAP]
        line = uncolour(line)
        if line.strip():
            self._tail.append((self._lineno, line[:LINE_CAP].strip()))
        self._recent.append((self._lineno, line))
        self._window.append(line)
        self._fill_after()
        if self._open is None and not self._scanner.any_in(line.lower()):
            self._stated_line(self._lineno, line)
            return
        self._feed_one(self._lineno, line)

    def _stated_line(self, no: int, raw: str) -> None:
        """A line no trigger flagged: a note if it states a failure in a wording the rules know."""
        if self._stated is None:
            return
        raw = raw.rstrip("\r\n")[:LINE_CAP]
        if self._stated.states(raw):
            ln = _parse_line(no, raw)
            if not _SUCCESS.search(ln.content):
                self._note(ln)

    def _keep_tail(self, base: int, batch: list[str]) -> None:
        """Remember the batch's last non-blank lines (only the end of the log is ever used)."""
        found: list[tuple[int, str]] = []
        for i in range(len(batch) - 1, -1, -1):
            if len(found) >= TAIL_KEEP:
                break
            text = batch[i][:LINE_CAP].strip()
            if text:
                found.append((base + i + 1, text))
        self._tail.extend(reversed(found))

    def last_words(self) -> list[ErrorBlock]:
        """The log's last few lines as one text-only block, for classification when ``blocks()`` found nothing.

        A trimmed excerpt or a one-line failure often has no error keyword at all ("Insufficient privileges to
        operate on database X", "Quota 'CPUS' exceeded"): its last lines are still the best evidence there is.
        Noise and success lines are dropped; no exception type is read from them, so a rule matching them stays
        a text-only answer (capped below 0.8 unless two rules agree).
        """
        keep = [
            (no, t)
            for no, t in self._unroutine_tail()
            if not _NOISE.search(t)
            and not _SUCCESS.search(t)
            and not _ELLIPSIS.match(t)
            and _parse_line(no, t).level != "debug"
        ][-TAIL_LINES:]
        if not keep:
            return []
        text = "\n".join(t for _, t in keep)
        ev = _cap(keep[-1][1], EVIDENCE_CAP)
        block = ErrorBlock(None, _cap(text, 2000), [], keep[0][0], keep[-1][0], ev, text, "tail")
        return [_with_neighbours(block, self._before(keep[0][0]), ())]

    def _unroutine_tail(self) -> Sequence[tuple[int, str]]:
        """The log's last non-blank lines; when every one of them is routine chatter, the last lines that are not.

        Progress lines printed thousands of times after a failure bury the lines that state it; the shapes of the
        window's lines tell the two apart. A short log's last lines are never all routine, so they are kept as
        they are.
        """
        if self._unroutine is not None and self._unroutine[0] == self._lineno:
            return self._unroutine[1]
        lines = list(self._window)
        tail: Sequence[tuple[int, str]] = self._tail
        shapes = [_shape(x) for x in lines] if len(lines) >= ROUTINE else []
        counts = Counter(shapes)
        if shapes and all(counts[_shape(t)] >= ROUTINE for _, t in self._tail):
            found: list[tuple[int, str]] = []
            for i in range(len(lines) - 1, -1, -1):
                text = lines[i][:LINE_CAP].strip()
                if text and counts[shapes[i]] < ROUTINE:
                    found.append((self._lineno - (len(lines) - 1 - i), text))
                    if len(found) >= TAIL_KEEP:
                        break
            tail = found[::-1] or self._tail
        self._unroutine = (self._lineno, tail)
        return tail

    @property
    def last_words_buried(self) -> bool:
        """Whether ``last_words`` were read above routine lines that end the log rather than from its end."""
        return self._unroutine_tail() is not self._tail

    def notes(self) -> list[ErrorBlock]:
        """The last lines that hold a failure word but that no block took, newest first, one block each.

        A failure stated without an error keyword ("pods is forbidden: User x cannot create ...", "thread 'main'
        panicked at ...") in the middle of a log is neither a block nor among its last words; the caller asks the
        rules about these lines when nothing better explains the failure. Lines of any level that hold a wording
        of ``StatedWordings`` are notes too.
        """
        return [_with_neighbours(c.block, c.before, c.after) for c in reversed(self._notes)]

    def unexplained(self) -> list[ErrorBlock]:
        """What the learned model reads when ``blocks()`` found nothing: the last words, then the notes."""
        return [*self.last_words(), *self.notes()]

    # -- slow path -------------------------------------------------------------------------

    def _feed_one(self, no: int, raw: str) -> None:
        raw = raw.rstrip("\r\n")
        stripped = raw.lstrip()
        if (
            stripped.startswith("{")
            and ('"event"' in raw or '"message"' in raw or '"msg"' in raw)
            and self._json_record(no, stripped)
        ):
            return
        if len(raw) > LINE_CAP:
            raw = raw[:LINE_CAP]
        ln = _parse_line(no, raw)
        self._line(ln)

    def _line(self, ln: _Line) -> None:
        if ln.level == "debug" and _RELAYED_PANIC.search(ln.content):
            ln.level = None  # a plugin's stderr relayed at DEBUG (Terraform does): a crash is never debug chatter
        if _CONTEXT.search(ln.content):
            self.context.append(_cap(ln.raw.strip(), 300))
        blk = self._open
        if blk is not None:
            if (_shape_ok(blk, ln) or _pg_field_of(blk, ln)) and _ACCEPT[blk.kind](blk, _dedent(blk, ln)):
                return
            self._close()
        self._start(ln)

    def _start(self, ln: _Line) -> None:
        c = ln.content
        if _TB_START in c:
            blk = _Open("py", ln, self._take_header(ln.no))
            blk.excs.append(_Exc(None, [], [], -1))
            blk.state = "frames"
            lead = len(c) - len(c.lstrip(" \t"))
            if c.lstrip(" \t").startswith(_TB_START) and lead:
                blk.indent = lead  # an indented (quoted, nested) traceback: read it dedented
                blk.indent_text = c[:lead]
            self._open = blk
            return
        if ln.level == "debug":
            # debug chatter is no failure of its own, unless a rule reads one in the line (Terraform logs its providers
            # at DEBUG: "[DEBUG] Rate limit 60 reached, sleeping for 24m33s")
            if self._stated is not None and not _SUCCESS.search(c) and self._stated.states(ln.raw):
                self._note(ln)
            return
        m = _JVM_HEAD.search(c)
        if m is not None and not c.startswith((" ", "\t")):
            blk = _Open("jvm", ln, self._take_header(ln.no))
            blk.excs.append(_Exc(m.group("type"), [m.group("msg") or ""], [], 0))
            blk.state = "msg0"
            self._open = blk
            return
        d = _DBT_HEAD.match(c.strip()) if not c.startswith("\t") and len(c) - len(c.lstrip(" ")) <= 4 else None
        if d is not None:
            blk = _Open("dbt", ln, self._take_header(ln.no))
            blk.excs.append(_Exc(d.group("head"), [], [], 0))
            self._open = blk
            return
        if _DATABRICKS_START.search(c):
            blk = _Open("msg", ln, None)
            blk.sub_kind = "databricks"
            blk.excs.append(_Exc(None, [c.strip()], [], 0))
            self._open = blk
            return
        if ln.level in ("error", "critical") or (
            ln.level is None and not _NOISE.search(c) and (_BARE_EXC.search(c) or _BARE_ERROR.search(c))
        ):
            blk = _Open("msg", ln, None)
            blk.excs.append(_Exc(None, [c.strip()], [], 0))
            self._open = blk
            return
        if ln.level == "warning" and _NAMES_EXC.search(c) and not _NOISE.search(c):
            # a handled error: ranked low, but read whole, continuation lines included
            self._set_weak(ln)
            blk = _Open("msg", ln, None)
            blk.sub_kind = "warning"
            blk.excs.append(_Exc(None, [c.strip()], [], 0))
            self._open = blk
            return
        if ln.level == "info" and not _NOISE.search(c) and not _SUCCESS.search(c):
            payload = _embedded_payload(c)
            if payload is not None:
                blk = _Open("msg", ln, None)
                blk.sub_kind = "embedded"
                blk.excs.append(_Exc(None, [payload], [], 0))
                self._open = blk
                return
        self._single(ln)

    def _take_header(self, no: int) -> _Line | None:
        """Pop a plain error record on the previous line, so a trace can use it as its header."""
        if self._cands:
            last = self._cands[-1]
            if last.is_header and last.last_no == no - 1 and last.header_line is not None:
                self._cands.pop()
                return last.header_line
        return None

    def _single(self, ln: _Line) -> None:
        c = ln.content
        if _SUCCESS.search(c) or _TIMEOUT_SETTING.match(c):
            return
        if ln.level not in ("info",) and _WEAK.search(c):
            self._set_weak(ln)
        if _NOISE.search(c):
            tier = 0.5
        elif _TERMINATION_REASON.search(c):
            tier = 1.3  # "Reason: OOMKilled" says why; the "Exit Code: 137" next to it only says how
        elif ln.level not in ("warning", "info") and _SPECIFIC.search(c):
            tier = 2.5  # a line that names a specific failure says why, even when it also names the signal
        elif _SIGNALS.search(c):
            tier = 1.2
        elif _SPECIFIC.search(c):  # a warning or an info line: error lines naming a failure were taken above
            if ln.level == "info":
                self._note(ln)
                return
            tier = 1.0
        else:
            if ln.level != "info" or _WEAK.search(c):
                self._note(ln)
            return
        blk = _line_block(ln.no, _cap(ln.raw.strip(), LINE_CAP), c, _refine_kind("fallback", c))
        self._push(_Cand(tier, ln.no, blk))

    def _json_record(self, no: int, text: str) -> bool:
        if len(text) > JSON_CAP:
            return False
        try:
            d = json.loads(text)
        except (ValueError, RecursionError):
            return False
        if not isinstance(d, dict):
            return False
        level = str(d.get("level") or d.get("levelname") or d.get("severity") or "").lower() or None
        level = {"warn": "warning", "fatal": "critical", "err": "error"}.get(level or "", level)
        event = d.get("event", d.get("message", d.get("msg", "")))
        event = event if isinstance(event, str) else json.dumps(event, default=str)[:LINE_CAP]
        error = d.get("error", d.get("err"))
        if isinstance(error, str) and error.strip() and error not in event:
            # zap's and logrus' JSON put the cause in an "error" field beside a generic message ("Unable to create
            # job"); Docker's JSON progress stream (and many HTTP APIs) state a failure as {"error": "...",
            # "errorDetail": {...}} with no message or level at all: then the error is the message, at error level
            event, level = (f"{event}: {error}", level) if event else (error, level or "error")
        inner = _inner_errors(d)
        if inner:
            # a cloud API's error body (Azure Resource Manager, OData, Google) puts the reason in nested details
            # under a generic message ("... is not valid ... See inner errors for details"): they are its lines
            event, level = "\n".join([event, *inner]) if event else "\n".join(inner), level or "error"
        detail = d.get("error_detail")
        exc_text = d.get("exc_info") or d.get("exception") or d.get("exc_text") or d.get("stack_trace")
        if self._open is not None:
            self._close()
        if isinstance(detail, list) and detail:
            self._structured(no, level, event, detail)
            return True
        self._record = (no, _cap(text, LINE_CAP))
        try:
            self._record_lines(no, level, event, exc_text)
        finally:
            self._record = None
        return True

    def _record_lines(self, no: int, level: str | None, event: str, exc_text: object) -> None:
        """Read a JSON record's message (and the exception text beside it) as the log lines it stands for."""
        shape = "{json}"
        lines = event.split("\n")
        first = _Line(no, lines[0][:LINE_CAP], lines[0][:LINE_CAP], level, True, shape)
        self._line(first)
        for extra in lines[1:]:
            ln = _parse_line(no, extra[:LINE_CAP])
            self._line(ln)
        if isinstance(exc_text, str) and exc_text.strip():
            for extra in exc_text.split("\n"):
                ln = _parse_line(no, extra[:LINE_CAP])
                if ln.level is None:
                    ln.level = level
                self._line(ln)
        if self._open is not None:
            self._close()

    def _structured(self, no: int, level: str | None, event: str, detail: list[Any]) -> None:
        excs = [e for e in detail if isinstance(e, dict)]
        if not excs:
            return
        chain = [str(e.get("exc_type") or "?") for e in excs]
        root = excs[-1]
        rtype = str(root.get("exc_type") or "") or None
        rmsg = str(root.get("exc_value") or "")
        frames_raw = root.get("frames") or []
        frames: list[str] = []
        for fr in frames_raw if isinstance(frames_raw, list) else []:
            if isinstance(fr, dict):
                frames.append(f"{fr.get('filename', '?')}:{fr.get('lineno', '?')} in {fr.get('name', '?')}")
        rendered: list[str] = [_cap(event, 500)]
        for i, e in enumerate(reversed(excs)):
            if i:
                rendered.append(
                    "The above exception was the direct cause of the following exception:"
                    if excs[len(excs) - i].get("is_cause")
                    else "During handling of the above exception, another exception occurred:"
                )
            rendered.append("Traceback (most recent call last):")
            efr = e.get("frames") or []
            for fr in (efr if isinstance(efr, list) else [])[-8:]:
                if isinstance(fr, dict):
                    rendered.append(
                        f'  File "{fr.get("filename", "?")}", line {fr.get("lineno", "?")}, in {fr.get("name", "?")}'
                    )
            rendered.append(_cap(f"{e.get('exc_type')}: {e.get('exc_value')}", 2000))
        evidence = _cap(_first_line(f"{rtype}: {rmsg}") if rtype else _first_line(rmsg or event), EVIDENCE_CAP)
        text = "\n".join(rendered)[:TEXT_CAP]
        blk = ErrorBlock(
            exception=rtype,
            message=_cap(rmsg, 2000),
            frames=_pick_frames(frames, python=True),
            line_start=no,
            line_end=no,
            evidence=evidence,
            text=text,
            kind="airflow3_structured",
            root_cause_chain=chain,
        )
        tier = 1.5 if level == "warning" else 3.0
        if len(excs) == 1 and _is_wrapper(rtype, rmsg):
            tier = 1.8
        self._push(_Cand(tier, no, blk))

    # -- closing blocks --------------------------------------------------------------------

    def _close(self) -> None:
        blk = self._open
        self._open = None
        if blk is None:
            return
        try:
            cand = _finish(blk)
        except Exception:  # pragma: no cover - never let one odd block break extraction
            cand = None
        if cand is not None:
            self._push(cand)

    def _line_at(self, no: int) -> str | None:
        """Line ``no`` of the log if it is still at hand (in the batch being fed or just before it)."""
        i = no - self._batch_base - 1
        if self._batch and 0 <= i < len(self._batch):
            return self._batch[i]
        for n, text in reversed(self._recent):
            if n == no:
                return text
            if n < no:
                break
        return None

    def _fill_after(self) -> None:
        """Give each kept block, note and the weak line the lines that followed them, as far as they have been fed
        (taken while at hand: in a long log they are gone by the end)."""
        weak = [self._weak] if self._weak is not None else []
        for c in itertools.chain(self._cands, self._notes, weak):
            while c.after_seen < SHOWN_AROUND and c.block.line_end + c.after_seen < self._lineno:
                no = c.block.line_end + c.after_seen + 1
                text = self._line_at(no)
                if text is None:  # no longer at hand: the block keeps what it has
                    c.after_seen = SHOWN_AROUND
                    break
                c.after_seen += 1
                if text.strip():
                    c.after.append((no, _neighbour(text)))

    def _nearby(self, numbers: Iterable[int]) -> list[_Near]:
        """The non-blank lines among ``numbers`` (walking away from a block), up to the first not at hand."""
        out: list[_Near] = []
        for no in numbers:
            text = self._line_at(no) if 0 < no <= self._lineno else None
            if text is None:
                break
            if text.strip():
                out.append((no, _neighbour(text)))
        return out

    def _before(self, first: int) -> tuple[_Near, ...]:
        """The lines within SHOWN_AROUND above line ``first`` that are still at hand, in log order."""
        return tuple(reversed(self._nearby(range(first - 1, first - 1 - SHOWN_AROUND, -1))))

    def _after(self, last: int) -> tuple[_Near, ...]:
        """The lines within SHOWN_AROUND below line ``last`` that have been fed and are still at hand."""
        return tuple(self._nearby(range(last + 1, last + 1 + SHOWN_AROUND)))

    def _as_written(self, block: ErrorBlock) -> ErrorBlock:
        """``block`` with the JSON record it was read from, when it was read from one."""
        rec = self._record
        if rec is None or not (block.line_start == block.line_end == rec[0]):
            return block
        return replace(block, written=rec[1])

    def _note(self, ln: _Line) -> None:
        text = _cap(ln.raw.strip(), LINE_CAP)
        block = self._as_written(_line_block(ln.no, text, text, "note"))
        self._notes.append(_Cand(0.0, ln.no, block, before=self._before(ln.no)))

    def _set_weak(self, ln: _Line) -> None:
        if self._cands:  # a block was found and blocks are never dropped: the weak line will not be used
            return
        block = self._as_written(_line_block(ln.no, _cap(ln.raw.strip(), LINE_CAP), ln.content, "fallback"))
        self._weak = _Cand(0.3, ln.no, block, before=self._before(ln.no))

    def _push(self, cand: _Cand) -> None:
        cand.block = self._as_written(cand.block)
        cand.before = self._before(cand.block.line_start)
        self._cands.append(cand)
        if len(self._cands) > KEEP * 4:
            last = self._cands[-1]
            best = sorted(self._cands[:-1], key=lambda c: c.rank, reverse=True)[: KEEP - 1]
            best.sort(key=lambda c: c.last_no)
            self._cands = [*best, last]

    def blocks(self, max_blocks: int = 3) -> list[ErrorBlock]:
        if self._open is not None:
            self._close()
        if not self._cands and self._weak is not None:
            self._cands.append(self._weak)
        ranked = sorted(self._cands, key=lambda c: c.rank, reverse=True)
        out: list[ErrorBlock] = []
        seen: set[tuple[str | None, str, int]] = set()
        for c in ranked:
            key = (c.block.exception, c.block.evidence, c.block.line_start)
            if key in seen:
                continue
            seen.add(key)
            out.append(_with_neighbours(c.block, c.before, c.after))
            if len(out) >= max(0, max_blocks):
                break
        return out


_NEIGHBOUR_JSON_CAP = 16_384


def _with_neighbours(block: ErrorBlock, before: Sequence[_Near], after: Sequence[_Near]) -> ErrorBlock:
    """``block`` with the lines around it: those within SURROUND for the rules and the model, all for the excerpt."""
    return replace(
        block,
        before=tuple(t for no, t in before if no >= block.line_start - SURROUND),
        after=tuple(t for no, t in after if no <= block.line_end + SURROUND),
        shown_before=tuple(t for _, t in before),
        shown_after=tuple(t for _, t in after),
    )


def _neighbour(text: str) -> str:
    """A line beside a block as the excerpt shows it: a structured record (Airflow 3's JSON lines) as its time,
    level and event rather than a dozen bookkeeping fields."""
    line = text.strip()
    if line.startswith("{") and len(line) <= _NEIGHBOUR_JSON_CAP:
        try:
            d = json.loads(line)
        except (ValueError, RecursionError):
            d = None
        if isinstance(d, dict):
            event = d.get("event", d.get("message", d.get("msg")))
            if isinstance(event, str):
                parts = (d.get("timestamp") or d.get("time"), d.get("level") or d.get("levelname"), event)
                return _cap(" ".join(str(p) for p in parts if p), LINE_CAP)
    return _cap(text.rstrip("\r\n"), LINE_CAP)


_SHAPE_NOISE = re.compile(r"[0-9a-f]{6,}|\d+")


def _shape(line: str) -> str:
    """A line with its numbers and hex ids dropped: lines printed by one statement share it."""
    return _SHAPE_NOISE.sub("", line[:LINE_CAP].strip().lower())


def _line_block(no: int, raw: str, content: str, kind: str) -> ErrorBlock:
    """A block of one line (``raw``, already stripped and capped): the exception read from its ``content``, the
    line itself as evidence and text."""
    exc, msg = _exc_from_text(content)
    return ErrorBlock(exc, _cap(msg, 2000), [], no, no, _cap(raw, EVIDENCE_CAP), raw, kind, [exc] if exc else [])


def _inner_errors(d: dict[str, Any]) -> list[str]:
    """``code: message`` of each error nested in an API error body: ``{"error": {"code", "message", "details"}}`` or
    ``{"code", "message", "details": [...]}`` (Azure Resource Manager, OData), at most two levels deep."""
    out: list[str] = []
    error = d.get("error")
    body: dict[str, Any] = error if isinstance(error, dict) else d
    if body is not d and isinstance(body.get("message"), str):
        out.append(_cap(f"{body.get('code') or 'error'}: {body['message']}", LINE_CAP))
    for _depth in range(2):
        details = body.get("details")
        if not isinstance(details, list):
            break
        nested = [x for x in details if isinstance(x, dict) and isinstance(x.get("message"), str)]
        out += [_cap(f"{x.get('code') or 'error'}: {x['message']}", LINE_CAP) for x in nested[:5]]
        if not nested:
            break
        body = nested[0]
    return out


def _embedded_payload(c: str) -> str | None:
    """The innermost error payload of a message ("... due to: ... Diagnostics: <this>"), if it names an error."""
    for e in reversed(list(_EMBEDDED.finditer(c))):
        payload = c[e.end() :].strip()
        if _BARE_EXC.search(payload) or _SPECIFIC.search(payload):
            return payload
    return None


def _is_wrapper(exc_type: str | None, msg: str) -> bool:
    if not exc_type:
        return False
    short = exc_type.rsplit(".", 1)[-1]
    if short in ("CalledProcessError",):
        return True
    return bool(_WRAPPER.match(f"{exc_type}: {msg}") and _WRAPPER_MSG.search(msg))


def _exc_from_text(c: str) -> tuple[str | None, str]:
    s = c.strip()
    m = _JVM_HEAD.search(s)
    if m is not None:
        return m.group("type"), (m.group("msg") or "").strip()
    m2 = re.search(
        r"(?:^|(?<=[\s:(]))(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Timeout|Interrupt|Failure"
        r"|Denied|Warning))(?::\s?(?P<msg>.*))?$",
        s,
    )
    if m2 is not None and m2.group("msg") is not None:
        return m2.group("type"), m2.group("msg").strip()
    if m2 is not None and _BARE_TYPE_LEAD.fullmatch(s[: m2.start("type")]):
        # a type alone on its line, without a message: pytest's "E       NotImplementedError"
        return m2.group("type"), ""
    m3 = _DOTTED_EXC.match(s)  # "google.api_core.exceptions.BadRequest: 400 ..." (a class path at line start)
    if m3 is not None:
        return m3.group("type"), m3.group("msg").strip()
    return None, s


_DOTTED_EXC = re.compile(r"(?P<type>(?:[a-z_][a-z0-9_]*\.){2,}[A-Z][A-Za-z0-9]+):\s(?P<msg>.*)$")
# what may stand before a type named alone on its line: nothing, or pytest's "E" failure marker
_BARE_TYPE_LEAD = re.compile(r"(?:E\s+)?")


def _finish(blk: _Open) -> _Cand | None:
    lines = blk.lines()
    if blk.header is not None:
        lines = [blk.header, *lines]
    off = 1 if blk.header is not None else 0
    if not lines:
        return None
    level = blk.level
    header_text = blk.header.content if blk.header is not None else ""
    if blk.kind == "py":
        return _finish_py(blk, lines, off, level, header_text)
    if blk.kind == "jvm":
        return _finish_jvm(blk, lines, off, level, header_text)
    exc0 = blk.excs[0] if blk.excs else _Exc(None, [], [], 0)
    first = lines[off]
    if blk.kind == "dbt":
        head = exc0.type or first.content.strip()
        exception = re.sub(
            r" in (?:model|test|seed|snapshot|macro|source|analysis|sql_operation|unit_test"
            r"|operation|exposure|metric|semantic_model) .*",
            "",
            head,
        ).strip()
        if head.lower().startswith(("failure in", "error in", "warning in")):
            exception = " ".join(head.split()[:3])
        msg_lines = exc0.msg_lines
        message = "\n".join([head, *msg_lines]) if msg_lines else head
        ev_idx = off + 1 if msg_lines and len(lines) > off + 1 else off
        evidence = lines[ev_idx].raw.strip()
        tier = 1.0 if head.startswith("Warning") else 3.0
        block = ErrorBlock(
            exception=exception,
            message=_cap(message, 2000),
            frames=[],
            line_start=lines[0].no,
            line_end=lines[-1].no,
            evidence=_cap(evidence, EVIDENCE_CAP),
            text=_block_text(lines, ev_idx),
            kind="dbt",
            root_cause_chain=[exception],
        )
        return _Cand(tier, blk.last_no, block)
    if blk.sub_kind in ("warning", "embedded"):
        return _finish_weak_record(blk, lines, off)
    # plain multi-line record ("msg")
    content = first.content.strip()
    msg_lines = exc0.msg_lines
    ev_idx = off
    if blk.sub_kind == "databricks" and len(lines) > off + 1:
        ev_idx = off + 1
    exc, msg = _exc_from_text(content)
    message = "\n".join([msg, *msg_lines[1:]]) if len(msg_lines) > 1 else msg
    noise_head = _NOISE.search(content) is not None
    bare_label = exc is None and _BARE_LABEL.match(content) is not None
    if bare_label:
        # "Error:" alone: the first line after it that says something is the message
        for j in range(off + 1, min(len(lines), off + 6)):
            if lines[j].content.strip() and not _ELLIPSIS.match(lines[j].content):
                ev_idx, content, bare_label = j, lines[j].content.strip(), False
                break
    if exc is None and len(lines) > off + 1:
        # "Task failed with exception" / "ERROR - Something failed" followed by the exception itself on the
        # next lines (no traceback): the exception line is the decisive one
        for j in range(off + 1, min(len(lines), off + 6)):
            if lines[j].level is not None:
                break
            t, m = _exc_from_text(lines[j].content)
            if t is not None and not t.endswith("Warning"):
                exc, ev_idx = t, j
                message = "\n".join([m, *[x.content.strip() for x in lines[j + 1 :]]])
                content = lines[j].content.strip()
                noise_head = False
                break
    if bare_label:
        tier = 0.4  # a label with nothing after it: any specific line elsewhere says more
    elif noise_head or _is_wrapper(exc, message):
        tier = 0.5  # "AirflowException: Bash command failed ... exit code 1": the command's own lines say why
    elif blk.sub_kind == "databricks" or _SPECIFIC.search(content) or _SIGNALS.search(content):
        tier = 2.5
    else:
        tier = 2.0
    kind = blk.sub_kind if blk.sub_kind == "databricks" else _refine_kind("fallback", content, message)
    block = ErrorBlock(
        exception=exc,
        message=_cap(message, 2000),
        frames=[],
        line_start=lines[0].no,
        line_end=lines[-1].no,
        evidence=_cap(lines[ev_idx].raw.strip(), EVIDENCE_CAP),
        text=_block_text(lines, ev_idx),
        kind=kind,
        root_cause_chain=[exc] if exc else [],
    )
    is_header = blk.count == 1 and tier >= 0.5
    return _Cand(tier, blk.last_no, block, is_header=is_header, header_line=first if is_header else None)


def _finish_weak_record(blk: _Open, lines: list[_Line], off: int) -> _Cand:
    """A WARNING record naming an exception, or an error payload inside an INFO record.

    The message is the whole record: a message wrapped over several physical lines is read to its end,
    and when the first fragment names no exception type the continuation lines are searched for one.
    Both rank below every ERROR-level block: they are used when the run has nothing better.
    """
    msg_lines = blk.excs[0].msg_lines if blk.excs else []
    head = msg_lines[0] if msg_lines else lines[off].content.strip()
    exc, msg = _exc_from_text(head)
    rest = msg_lines[1:]
    if exc is None:
        for i, cont in enumerate(rest):
            t, m = _exc_from_text(cont)
            if t is not None:  # the root cause is named further on: report it from there
                exc, msg, rest = t, m, rest[i + 1 :]
                break
    message = "\n".join([msg, *rest]) if rest else msg
    content = lines[off].content
    raw = lines[off].raw.strip()
    evidence = raw
    if len(raw) > EVIDENCE_CAP:  # a long line: keep the part around the payload, as a plain substring
        at = raw.find(head[:60]) if blk.sub_kind == "embedded" else 0
        start = max(0, min(at - 120, len(raw) - EVIDENCE_CAP))
        evidence = raw[start : start + EVIDENCE_CAP]
    if _NOISE.search(content):
        tier = 0.5
    elif blk.sub_kind == "embedded":
        tier = 1.6  # above a WARNING-level traceback, below a wrapper exception and any ERROR record
    elif _SIGNALS.search(content):
        tier = 1.2
    else:
        tier = 1.0
    block = ErrorBlock(
        exception=exc,
        message=_cap(message, 2000),
        frames=[],
        line_start=lines[0].no,
        line_end=lines[-1].no,
        evidence=evidence,
        text=_block_text(lines, off),
        kind=_refine_kind("fallback", head, message),
        root_cause_chain=[exc] if exc else [],
    )
    return _Cand(tier, blk.last_no, block)


def _finish_py(blk: _Open, lines: list[_Line], off: int, level: str | None, header_text: str) -> _Cand | None:
    excs = [e for e in blk.excs if e.type or e.msg_lines or e.frames]
    if not excs:
        if blk.header is None:
            return None
        # a traceback cut right after its first line (a truncated paste or log): the error record that
        # introduced it is all that is left, and it still says what failed
        h = blk.header
        return _Cand(2.0, blk.last_no, _line_block(h.no, _cap(h.raw.strip(), LINE_CAP), h.content, "fallback"))
    root = excs[0]  # printed first = root of the chain
    incomplete = root.type is None and all(_ELLIPSIS.match(m) for m in root.msg_lines)
    chain = [e.type or "?" for e in reversed(excs)]  # outermost -> root
    root_type = root.type
    root_msg = "\n".join(root.msg_lines).strip()
    frames = _pick_frames(root.frames, python=True)
    ev_idx = off + root.line_idx if root.line_idx >= 0 else len(lines) - 1
    evidence_line = lines[ev_idx].raw.strip() if 0 <= ev_idx < len(lines) else ""
    kind = "python_traceback"
    # a JVM trace embedded in the message (Py4JJavaError) or a wrapper naming its cause
    jvm = _jvm_in_message(root.msg_lines)
    if jvm is not None:
        jtype, jmsg, jframes, jline = jvm
        if jtype:
            chain = [*chain, jtype] if jtype != chain[-1] else chain
            root_type, root_msg = jtype, jmsg
            frames = _pick_frames(jframes, python=False) or frames
            kind = "spark"
            for i in range(ev_idx, min(len(lines), ev_idx + 2000)):
                if jline and jline in lines[i].raw:
                    evidence_line = lines[i].raw.strip()
                    ev_idx = i
                    break
    inner = _inner_cause(root_type, root_msg)
    if inner is not None:
        chain = [*chain, inner[0]]
        root_type, root_msg = inner
    kind = _refine_kind(kind, root_type, root_msg, " ".join(chain), header_text)
    if kind == "python_traceback" and any("spark" in f for f in frames):
        kind = "spark"
    tier = 3.0
    if incomplete:
        # a traceback cut before its exception line (pasted or truncated log): weak evidence, and its
        # header line ("ERROR - Error while fetching ...") is the best description we have
        tier = 2.0
        if header_text:
            root_msg = header_text.strip()
            ev_idx = 0
            evidence_line = lines[0].raw.strip()
        else:
            # nothing but frames: an exception line printed elsewhere (a chained cause above it) says more
            tier = 1.5
            if _ELLIPSIS.match(evidence_line):
                ev_idx = max(0, ev_idx - 1)
                evidence_line = lines[ev_idx].raw.strip()
    if level == "warning":
        tier = 1.5
    elif len(excs) == 1 and jvm is None and inner is None and _is_wrapper(root_type, root_msg):
        tier = 1.8
    if _NOISE.search(header_text):
        tier = min(tier, 1.6) if "callback" in header_text.lower() or "email" in header_text.lower() else tier
    block = ErrorBlock(
        exception=root_type,
        message=_cap(root_msg, 2000),
        frames=frames,
        line_start=lines[0].no,
        line_end=lines[-1].no,
        evidence=_cap(evidence_line, EVIDENCE_CAP),
        text=_block_text(lines, ev_idx),
        kind=kind,
        root_cause_chain=chain,
    )
    return _Cand(tier, blk.last_no, block)


def _jvm_in_message(msg_lines: list[str]) -> tuple[str | None, str, list[str], str] | None:
    """Parse a JVM trace inside a Python exception message; return the deepest cause."""
    if len(msg_lines) < 2:
        return None
    cur_type: str | None = None
    cur_msg = ""
    cur_frames: list[str] = []
    cur_line = ""
    found = False
    for raw in msg_lines[1:]:
        s = raw.strip()
        m = _JVM_CAUSED.match(s)
        if m is not None:
            cur_type, cur_msg, cur_frames, cur_line = m.group("type"), m.group("msg") or "", [], s
            found = True
            continue
        a = _JVM_AT.match(s)
        if a is not None:
            cur_frames.append(a.group("frame"))
            continue
        if not found or cur_type is None:
            h = _JVM_HEAD.search(s.lstrip(": "))
            if h is not None and not s.startswith("at "):
                cur_type, cur_msg, cur_frames, cur_line = h.group("type"), h.group("msg") or "", [], s
                found = True
    if not found:
        return None
    inner = _inner_cause(cur_type, cur_msg)
    if inner is not None:
        return inner[0], inner[1], cur_frames, cur_line
    return cur_type, cur_msg, cur_frames, cur_line


def _finish_jvm(blk: _Open, lines: list[_Line], off: int, level: str | None, header_text: str) -> _Cand | None:
    excs = blk.excs
    if not excs:
        return None
    root = excs[-1]
    chain = [e.type or "?" for e in excs]
    root_type = root.type
    root_msg = "\n".join(x for x in root.msg_lines if x is not None).strip()
    frames_src = root.frames or next((e.frames for e in reversed(excs) if e.frames), [])
    ev_idx = off + root.line_idx if root.line_idx >= 0 else off
    ev_idx = min(ev_idx, len(lines) - 1)
    inner = _inner_cause(root_type, root_msg)
    if inner is not None:
        chain = [*chain, inner[0]]
        root_type, root_msg = inner
    kind = _refine_kind("jvm", root_type, root_msg, " ".join(chain), header_text)
    tier = 1.5 if level == "warning" else 3.0
    if level == "info" and not blk.header:
        tier = 2.2
    if len(excs) == 1 and inner is None and not root.frames and _is_wrapper(root_type, root_msg):
        tier = 0.5  # a dotted wrapper on its own ("airflow.exceptions.AirflowException: Bash command failed")
    evidence = lines[ev_idx].raw.strip()
    at = evidence.find(root.type) if root.type and len(evidence) > EVIDENCE_CAP else -1
    if at + 200 > EVIDENCE_CAP:  # the exception sits deep in a long line (a payload in a log record)
        start = min(at - 120, len(evidence) - EVIDENCE_CAP)
        evidence = evidence[start : start + EVIDENCE_CAP]
    block = ErrorBlock(
        exception=root_type,
        message=_cap(root_msg, 2000),
        frames=_pick_frames(frames_src, python=False),
        line_start=lines[0].no,
        line_end=lines[-1].no,
        evidence=_cap(evidence, EVIDENCE_CAP),
        text=_block_text(lines, ev_idx),
        kind=kind,
        root_cause_chain=chain,
    )
    return _Cand(tier, blk.last_no, block)


def extract_errors(lines: Iterable[str], max_blocks: int = 3) -> list[ErrorBlock]:
    """Stream ``lines`` and return the decisive error block(s), most decisive first."""
    ex = ErrorExtractor()
    ex.feed_many(lines)
    return ex.blocks(max_blocks)
