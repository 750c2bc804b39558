"""Mask secrets in log text before it is shown, stored or handed to a model.

Two layers, both streaming:

* our own rules (``rules/secrets.yaml``), written for what shows up in logs: ``password=``-style pairs,
  URI and JDBC credentials, CLI flags (``-p``, ``--password``, ``curl -u``, ``sshpass -p``), config text
  printed into logs (NuGet/XML, Kubernetes Secret YAML, JSON whose value sits on the line after its key),
  key blocks (PEM, OpenSSH, PuTTY) and keyword + high-entropy values;
* underneath them, when the ``kingfisher-secret-scanner`` package is installed, its maintained catalogue
  of several hundred provider token formats (``kingfisher_sdk``; in-process, no network). Any span it
  reports is masked as ``[REDACTED:<rule>]``.

Speed comes from a literal prefilter: for a block of text the lowercased copy is searched once for all
keywords (Aho-Corasick), and only the lines that hold a keyword (or match a rule's cheap ``prefilter``
regex, or hold a configured value) go through the regexes. Clean lines are copied through untouched.
The catalogue scans a whole block in one native call.

``Redactor.redact(text)`` is self-contained: a key block opened in ``text`` is masked up to its end
marker or, if it never ends, to the end of ``text``. ``Redactor.redact_line(line)`` and
``redact_stream`` keep state between calls, so a key block, a Kubernetes ``data:`` block or a JSON value
on the line after its key is masked when fed one line at a time.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from pipeline_sre.diagnosis._scan import LiteralScanner, RunFinder, as_text
from pipeline_sre.diagnosis._yaml import safe_load


class SupportsRead(Protocol):
    """A text file, or anything read like one."""

    def read(self, size: int, /) -> str: ...


_SECRET_GROUPS = ("secret", "dq", "sq", "bare")
_MESSAGE_LOOKBACK = 80  # how far before a key ``message_after.before`` looks
_MIN_EXTRA_VALUE = 3


def _mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (0.0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@dataclass(frozen=True, slots=True)
class SecretRule:
    """One compiled entry of ``secrets.yaml``."""

    id: str
    kind: str
    keywords: tuple[str, ...]
    prefilter: tuple[re.Pattern[str], ...]
    regex: re.Pattern[str] | None
    ignore_values: re.Pattern[str] | None
    pem_begin: re.Pattern[str] | None = None
    pem_end: re.Pattern[str] | None = None
    min_entropy: float = 0.0
    value_requires: tuple[re.Pattern[str], ...] = ()
    run: RunFinder | None = None  # a run of random-looking characters (``run_prefilter``)
    # ``message_after`` as (before, value): a value fully matching ``value`` right after text ending in ``before`` is
    # the start of an error message ("failed to get token: HTTP error 401"), not a secret
    message_after: tuple[re.Pattern[str], re.Pattern[str]] | None = None

    def applies(self, line: str, low: str) -> bool:
        if any(k in low for k in self.keywords):
            return True
        if self.run is not None and self.run.any_in(line):
            return True
        return any(p.search(line) is not None for p in self.prefilter)


def _run_finder(raw: Any) -> RunFinder | None:
    if not raw:
        return None
    cls = re.compile(f"[{raw['chars']}]")
    return RunFinder("".join(chr(i) for i in range(128) if cls.fullmatch(chr(i))), int(raw["min"]))


def _compile_rule(raw: dict[str, Any]) -> SecretRule:
    flags = re.IGNORECASE if raw.get("ignorecase") else 0
    kws = tuple(str(k).lower() for k in raw.get("keywords") or ())
    pre_raw = raw.get("prefilter") or ()
    pre = tuple(re.compile(str(x)) for x in ([pre_raw] if isinstance(pre_raw, str) else pre_raw))
    run = _run_finder(raw.get("run_prefilter"))
    if not kws and not pre and run is None:
        raise ValueError(f"secret rule {raw.get('id')!r} needs keywords or a prefilter")
    ign = raw.get("ignore_values")
    ignore = re.compile(str(ign), re.IGNORECASE) if ign else None
    after = raw.get("message_after")
    if raw.get("type") in ("pem", "block"):
        return SecretRule(
            id=str(raw["id"]),
            kind=str(raw["kind"]),
            keywords=kws,
            prefilter=pre,
            regex=None,
            ignore_values=ignore,
            pem_begin=re.compile(str(raw["begin"])),
            pem_end=re.compile(str(raw["end"])),
        )
    return SecretRule(
        id=str(raw["id"]),
        kind=str(raw["kind"]),
        keywords=kws,
        prefilter=pre,
        regex=re.compile(str(raw["regex"]), flags),
        ignore_values=ignore,
        min_entropy=float(raw.get("min_entropy") or 0.0),
        value_requires=tuple(re.compile(str(x)) for x in raw.get("value_requires") or ()),
        run=run,
        message_after=(re.compile(str(after["before"]), re.IGNORECASE), re.compile(str(after["value"])))
        if after
        else None,
    )


def load_secret_rules(extra_paths: Iterable[str | Path] = ()) -> list[SecretRule]:
    """The built-in rules followed by the rules of any extra YAML files (same format)."""
    docs = [_builtin_secret_rules_text()]
    docs.extend(Path(p).read_text(encoding="utf-8") for p in extra_paths)
    rules: list[SecretRule] = []
    for doc in docs:
        data = safe_load(doc) or {}
        rules.extend(_compile_rule(r) for r in data.get("rules", []))
    return rules


@lru_cache(maxsize=1)
def _builtin_secret_rules_text() -> str:
    return resources.files("pipeline_sre.diagnosis").joinpath("rules/secrets.yaml").read_text("utf-8")


@lru_cache(maxsize=1)
def _builtin_rules() -> tuple[SecretRule, ...]:
    return tuple(load_secret_rules())


def _replacer(rule: SecretRule) -> Callable[[re.Match[str]], str]:
    mask = _mask(rule.kind)
    ignore = rule.ignore_values
    min_entropy = rule.min_entropy
    requires = rule.value_requires
    message_after = rule.message_after

    def repl(m: re.Match[str]) -> str:
        for name in _SECRET_GROUPS:
            if name in m.re.groupindex and m.start(name) >= 0:
                value = m.group(name)
                if ignore is not None and ignore.fullmatch(value):
                    return m.group(0)
                if min_entropy and shannon_entropy(value) < min_entropy:
                    return m.group(0)
                if any(r.search(value) is None for r in requires):
                    return m.group(0)
                if message_after is not None:
                    before, message = message_after
                    if message.fullmatch(value) and before.search(
                        m.string, max(0, m.start() - _MESSAGE_LOOKBACK), m.start()
                    ):
                        return m.group(0)
                s, e = m.start(name) - m.start(), m.end(name) - m.start()
                whole = m.group(0)
                return whole[:s] + mask + whole[e:]
        return mask

    return repl


# -- the maintained catalogue underneath (optional) ------------------------------------------------

# The catalogue only sees lines that hold a token-like run (16 or more characters of a token alphabet
# with a digit in it, found with a byte table): provider tokens carry one (a random 16-character token
# lacks a digit about 6% of the time, 0.4% at 32), while ordinary log lines mostly do not (CamelCase
# class names are letters only), so the native scan covers a small part of a log instead of all of it.
_CATALOG_RUN = RunFinder("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-", 16, require="0123456789")
_CATALOG_PREFIXES = ("betterleaks.", "kingfisher.", "custom.", "veles.secrets/")


class _Catalog:
    """Kingfisher's bundled rules, compiled once per process; spans come back as character offsets."""

    def __init__(self, scanner: Any) -> None:
        self._scanner = scanner

    @staticmethod
    def load() -> _Catalog | None:
        try:
            import kingfisher_sdk
        except Exception:  # not installed: our own rules only
            return None
        try:
            try:
                rules = kingfisher_sdk.Rules()
            except Exception:  # an unusable rule cache: compile without it
                rules = kingfisher_sdk.Rules(cache=False)
            # base64=False: we decode nothing ourselves either; a Kubernetes data block is handled by state
            return _Catalog(kingfisher_sdk.Scanner(rules, base64=False))
        except Exception:
            return None

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        data = text.encode("utf-8", errors="surrogatepass")
        found = self._scanner.scan(data)
        if not found:
            return []
        ascii_only = len(data) == len(text)
        out: list[tuple[int, int, str]] = []
        for f in found:
            loc = f.location
            s, e = int(loc["start_offset"]), int(loc["end_offset"])
            if not ascii_only:
                s = len(data[:s].decode("utf-8", errors="ignore"))
                e = len(data[:e].decode("utf-8", errors="ignore"))
            if e <= s:
                continue
            rid = str(f.rule_id)
            for pre in _CATALOG_PREFIXES:
                if rid.startswith(pre):
                    rid = rid[len(pre) :]
                    break
            out.append((s, e, rid))
        return out

    def mask(self, text: str, starts: list[int]) -> str:
        """Mask what the catalogue finds on the candidate lines of ``text``: those holding one of ``starts``
        (where `_CATALOG_RUN` found a token-like run)."""
        # the candidate lines, in order, without repeats: (start, end) in ``text``
        lines: list[tuple[int, int]] = []
        for pos in starts:
            if lines and pos < lines[-1][1]:
                continue
            s = text.rfind("\n", 0, pos) + 1
            e = text.find("\n", pos)
            lines.append((s, len(text) if e < 0 else e))
        buf = "\n".join(text[s:e] for s, e in lines)
        spans = self._spans(buf)
        if not spans:
            return text
        # buffer offsets back to text offsets, clipped to the line the span starts on
        offsets: list[int] = []
        o = 0
        for s, e in lines:
            offsets.append(o)
            o += e - s + 1
        mapped: list[tuple[int, int, str]] = []
        for s, e, rid in spans:
            k = bisect.bisect_right(offsets, s) - 1
            ls, le = lines[k]
            start = ls + (s - offsets[k])
            end = min(le, ls + (e - offsets[k]))
            if end > start:
                mapped.append((start, end, rid))
        mapped.sort()
        pieces: list[str] = []
        pos = 0
        for s, e, rid in mapped:
            if e <= pos:
                continue
            s = max(s, pos)
            if "[REDACTED:" in text[s:e]:
                continue
            pieces.append(text[pos:s])
            pieces.append(_mask(rid))
            pos = e
        pieces.append(text[pos:])
        return "".join(pieces)


_CATALOG: list[_Catalog | None] = []


def _catalog() -> _Catalog | None:
    if not _CATALOG:
        _CATALOG.append(_Catalog.load())
    return _CATALOG[0]


def catalog_available() -> bool:
    """True when the Kingfisher catalogue is installed and compiled."""
    return _catalog() is not None


def _mask_with_catalog(text: str) -> str:
    """The catalogue's masks, compiled only once some text has a token-like run to scan: a command that
    redacts a small ordinary log starts without paying for it."""
    starts = _CATALOG_RUN.starts(text)
    if not starts:
        return text
    catalog = _catalog()
    return catalog.mask(text, starts) if catalog is not None else text


# -- multi-line state ----------------------------------------------------------------------------

# "password":   /  password:  /  "client_secret" =   at the end of a line: the value is on the next line
_PENDING_KEY = re.compile(
    r"(?i)(?<![A-Za-z0-9])[A-Za-z0-9_.\-]{0,40}?(?:password|passwd|passphrase|pwd|(?<![A-Za-z])pass|secret|"
    r"token|api[_\-]?key|access[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?)"
    r"(?:[_.\-][A-Za-z0-9]{1,20}){0,2}[\"']?\s*(?:=>|:=|[:=])\s*(?:[|>][+-]?)?\s*$"
)
# a scalar on a line of its own: "value", 'value', or one bare word (optionally followed by a comma)
_PENDING_VALUE = re.compile(
    r"^(?P<pre>\s*)(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"'{}\[\],:#]+))(?P<post>\s*,?\s*)$"
)
# Kubernetes manifests: a data block whose values are (base64) secrets
_DATA_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<key>data|stringData|binaryData):[ \t]*$")
_DATA_ENTRY = re.compile(r"^(?P<indent>[ \t]*)(?P<key>[\"']?[\w.\-]+[\"']?):[ \t]+(?P<value>\S.*?)[ \t]*$")
_KIND_SECRET = re.compile(r"^[ \t]*kind:[ \t]*[\"']?Secret[\"']?[ \t]*$")
_API_VERSION = re.compile(r"^[ \t]*apiVersion:")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{4,}={0,2}")
_STATE_KEYWORDS = ("data:", "kind:", "apiversion:")
# the Airflow task-log prefix "[<time>] {<file>:<line>} LEVEL - " in front of each printed line
_LOG_PREFIX = re.compile(r"^\[[^\]\n]{0,64}\][ \t]+(?:\{[^}\n]{0,160}\}[ \t]+)?[A-Z]{3,8}[ \t]+-[ \t]")


def _looks_base64(value: str) -> bool:
    v = value.strip("\"'")
    if len(v) % 4 or not _BASE64.fullmatch(v):
        return False
    if not any(c.isupper() or c.isdigit() or c == "=" for c in v):
        return False  # a plain lowercase word (a ConfigMap setting), not encoded bytes
    try:
        base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@dataclass(slots=True)
class _State:
    """What is open at the end of the text seen so far."""

    block: SecretRule | None = None  # a key block (PEM, OpenSSH, PuTTY)
    pending: bool = False  # the previous line ended with a secret key and no value
    data_indent: int = -1  # inside a Kubernetes data block indented this much (-1: not inside)
    data_all: bool = False  # mask every value of that block (stringData, or kind: Secret seen)
    secret_doc: bool = False  # "kind: Secret" seen in the current manifest

    @property
    def active(self) -> bool:
        return self.block is not None or self.pending or self.data_indent >= 0

    def copy(self) -> _State:
        return replace(self)


class Redactor:
    """Masks secrets as ``[REDACTED:<kind>]``. Never raises; see the module docstring for state."""

    def __init__(
        self,
        extra_values: Iterable[str] = (),
        rules: Iterable[SecretRule] | None = None,
        catalog: bool | None = None,
    ) -> None:
        """``catalog``: use the Kingfisher catalogue underneath (None: when installed and ``rules`` is
        not given; True: when installed; False: never)."""
        self._rules: tuple[SecretRule, ...] = tuple(rules) if rules is not None else _builtin_rules()
        self._subs = [(r, _replacer(r)) for r in self._rules if r.regex is not None]
        self._blocks = tuple(r for r in self._rules if r.pem_begin is not None and r.pem_end is not None)
        values = {str(v) for v in extra_values if v is not None and len(str(v)) >= _MIN_EXTRA_VALUE}
        # longest first so a value that contains another is masked whole
        self._extra = tuple(sorted(values, key=len, reverse=True))
        self._scanner = LiteralScanner([k for r in self._rules for k in r.keywords] + list(_STATE_KEYWORDS))
        self._prefilters = tuple(p for r in self._rules for p in r.prefilter)
        runs = [r.run for r in self._rules if r.run is not None]
        # one pass over a block for all runs: the union of their characters, the shortest length
        self._runs: tuple[RunFinder, ...] = (RunFinder.union(runs),) if runs else ()
        # which rules a keyword selects; rules selected by a prefilter or run are checked on every line
        self._by_keyword: dict[str, list[int]] = {}
        for i, r in enumerate(self._rules):
            for k in r.keywords:
                self._by_keyword.setdefault(k, []).append(i)
        self._unkeyed = tuple(i for i, r in enumerate(self._rules) if r.prefilter or r.run is not None)
        self._index = {id(r): i for i, r in enumerate(self._rules)}
        self._use_catalog = (rules is None) if catalog is None else catalog
        self._state = _State()

    # -- public API -------------------------------------------------------------------------

    @property
    def uses_catalog(self) -> bool:
        return self._use_catalog and catalog_available()

    def redact(self, text: str) -> str:
        """Mask every secret in ``text`` (any number of lines). Stateless across calls."""
        text = as_text(text)
        if not text:
            return text
        try:
            out, _ = self._redact_block(text, _State())
            return out
        except Exception:  # pragma: no cover - defensive: never let redaction break a caller
            return self._safe_fallback(text)

    def redact_line(self, line: str) -> str:
        """Mask one line, remembering open multi-line constructs (key blocks, data blocks, a key whose
        value is on the next line) across calls."""
        line = as_text(line)
        try:
            body, nl = _split_eol(line)
            if "\n" in body or "\r" in body:  # several lines in one call: treat as a block
                out, self._state = self._redact_block(body, self._state)
                return out + nl
            out = self._redact_line(body, self._state)
            if self._use_catalog:
                out = _mask_with_catalog(out)
            return out + nl
        except Exception:  # pragma: no cover - defensive
            return self._safe_fallback(line)

    def redact_stream(self, lines: Iterable[str], batch_chars: int = 1 << 20) -> Iterator[str]:
        """Redact an iterable of lines lazily; yields redacted chunks made of whole lines.

        Lines are batched (about ``batch_chars`` characters) so the prefilter runs at block speed;
        state is carried across batches, so a key block split between batches is still masked.
        Lines keep their own line endings; a line without one is treated as ending there.
        """
        batch: list[str] = []
        size = 0
        for line in lines:
            line = as_text(line)
            if not line.endswith("\n"):
                line += "\n"
            batch.append(line)
            size += len(line)
            if size >= batch_chars:
                yield self._flush(batch)
                batch, size = [], 0
        if batch:
            yield self._flush(batch)

    def redact_reader(self, reader: SupportsRead, block_chars: int = 1 << 20) -> Iterator[str]:
        """Redact a text file read in blocks of about ``block_chars`` characters; yields redacted chunks made
        of whole lines, exactly what ``redact_stream`` yields for the file's lines, without handling each line
        in Python on the way (a third of the time on a log of short lines). A line longer than a block is
        held until its end, as ``redact_stream`` holds it."""
        carry = ""
        while True:
            block = as_text(reader.read(block_chars))
            if not block:
                break
            text = carry + block if carry else block
            cut = text.rfind("\n") + 1
            carry = text[cut:]
            if cut:
                yield self._flush_text(text[:cut])
        if carry:
            yield self._flush_text(carry + "\n")

    def reset(self) -> None:
        """Forget open multi-line state (start of a new, unrelated stream)."""
        self._state = _State()

    # -- internals ------------------------------------------------------------------------

    def _flush(self, batch: list[str]) -> str:
        return self._flush_text("".join(batch))

    def _flush_text(self, text: str) -> str:
        try:
            out, self._state = self._redact_block(text, self._state)
            return out
        except Exception:  # pragma: no cover - defensive
            return "".join(self._safe_fallback(x) for x in text.splitlines(keepends=True))

    def _safe_fallback(self, text: str) -> str:
        # Something unexpected happened; hiding the text beats leaking it.
        return _mask("unprocessable") + ("\n" if text.endswith("\n") else "")

    def _redact_block(self, text: str, state: _State) -> tuple[str, _State]:
        out, state = self._redact_own(text, state.copy())
        if self._use_catalog:
            out = _mask_with_catalog(out)
        return out, state

    def _redact_own(self, text: str, state: _State) -> tuple[str, _State]:
        low = text.lower()
        if len(low) != len(text):  # lower() changed lengths (rare non-ASCII); go line by line
            parts = []
            for line in text.splitlines(keepends=True):
                body, nl = _split_eol(line)
                parts.append(self._redact_line(body, state) + nl)
            return "".join(parts), state

        starts: set[int] = set()

        def flag(pos: int) -> int:
            s = text.rfind("\n", 0, pos) + 1
            starts.add(s)
            e = text.find("\n", pos)
            return len(text) if e < 0 else e

        line_end = -1
        for pos in sorted(self._scanner.starts(low)):
            if pos > line_end:
                line_end = flag(pos)
        for rx in self._prefilters:
            for m in rx.finditer(text):
                flag(m.start())
        for run in self._runs:
            for i in run.starts(text):
                flag(i)
        for value in self._extra:
            i = text.find(value)
            while i >= 0:
                i = text.find(value, flag(i) + 1)
                # a value that spans lines is handled by the per-line pass only if it sits on one line
        if not starts and not state.active:
            return text, state

        out: list[str] = []
        ordered = sorted(starts)
        idx = 0
        pos = 0  # start of the next unprocessed line
        n = len(text)
        while pos < n:
            if not state.active:
                while idx < len(ordered) and ordered[idx] < pos:
                    idx += 1
                if idx == len(ordered):
                    out.append(text[pos:])
                    break
                nxt = ordered[idx]
                idx += 1
                out.append(text[pos:nxt])
                pos = nxt
            e = text.find("\n", pos)
            e = n if e < 0 else e
            out.append(self._redact_line(text[pos:e], state))
            if e < n:
                out.append("\n")
            pos = e + 1
        return "".join(out), state

    def _redact_line(self, line: str, state: _State) -> str:
        """Redact one line (no line break) and update ``state`` in place."""
        if not state.active and not self._may_hold_secret(line):
            return line
        prefix = ""
        block = state.block
        if block is not None and block.pem_end is not None:
            m = block.pem_end.search(line)
            if m is None:
                return _mask(block.kind) if line.strip() else line
            prefix = _mask(block.kind)
            line = line[m.end() :]
            state.block = None
        # printed config text is parsed without the log prefix in front of each line
        lp = _LOG_PREFIX.match(line) if line.startswith("[") else None
        head = line[: lp.end()] if lp is not None else ""
        rest = line[len(head) :]
        if state.pending:
            if not rest.strip():
                return prefix + line
            state.pending = False
            pv = _PENDING_VALUE.match(rest)
            if pv is not None and "[REDACTED:" not in rest:
                for g in ("dq", "sq", "bare"):
                    if pv.start(g) >= 0:
                        return prefix + head + rest[: pv.start(g)] + _mask("password") + rest[pv.end(g) :]
        if state.data_indent >= 0:
            masked = self._data_entry(rest, state)
            if masked is not None:
                return prefix + head + masked
        low = line.lower()
        if "kind:" in low and _KIND_SECRET.match(rest):
            state.secret_doc = True
        elif "apiversion:" in low and _API_VERSION.match(rest):
            state.secret_doc = False
        if "data:" in low:
            d = _DATA_OPEN.match(rest)
            if d is not None:
                state.data_indent = len(d.group("indent"))
                state.data_all = d.group("key") == "stringData" or state.secret_doc
                return prefix + line
        selected = self._selected(line, low)
        tail = ""
        for blk in self._blocks:
            if self._index[id(blk)] in selected:
                line, tail, still_open = self._pem_in_line(line, blk)
                low = line.lower()
                if still_open:
                    state.block = blk
                    break
        for rule, repl in self._subs:
            if self._index[id(rule)] in selected:
                assert rule.regex is not None
                line = rule.regex.sub(repl, line)
        if self._extra:
            for value in self._extra:
                if value in line:
                    line = line.replace(value, _mask("configured_secret"))
        if not tail and _PENDING_KEY.search(line) is not None:
            state.pending = True
        return prefix + line + tail

    @staticmethod
    def _data_entry(line: str, state: _State) -> str | None:
        """Inside a Kubernetes data block: the masked entry, or None when the block has ended (or the
        line is not an entry) and the line should be redacted as usual."""
        if not line.strip():
            return line
        indent = len(line) - len(line.lstrip(" \t"))
        if indent <= state.data_indent:
            state.data_indent = -1
            state.data_all = False
            return None
        m = _DATA_ENTRY.match(line)
        if m is None:
            return None
        value = m.group("value")
        if "[REDACTED:" in value or value in ("|", ">", "|-", ">-"):
            return line
        if state.data_all or _looks_base64(value):
            return line[: m.start("value")] + _mask("k8s_secret") + line[m.end("value") :]
        return None

    def _selected(self, line: str, low: str) -> set[int]:
        """Indexes of the rules whose keyword, prefilter or run occurs in ``line``."""
        out: set[int] = set()
        for k in self._scanner.matched(low):
            out.update(self._by_keyword.get(k, ()))
        for i in self._unkeyed:
            r = self._rules[i]
            if i not in out and (
                (r.run is not None and r.run.any_in(line)) or any(p.search(line) is not None for p in r.prefilter)
            ):
                out.add(i)
        return out

    def _may_hold_secret(self, line: str) -> bool:
        """The cheap prefilter for one line: any keyword, prefilter regex or configured value."""
        if self._scanner.any_in(line.lower()):
            return True
        if any(p.search(line) is not None for p in self._prefilters):
            return True
        if any(r.any_in(line) for r in self._runs):
            return True
        return any(v in line for v in self._extra)

    @staticmethod
    def _pem_in_line(line: str, pem: SecretRule) -> tuple[str, str, bool]:
        """Mask BEGIN..END spans inside one line; return (head, masked tail, still-open)."""
        assert pem.pem_begin is not None and pem.pem_end is not None
        mask = _mask(pem.kind)
        pieces: list[str] = []
        pos = 0
        while True:
            b = pem.pem_begin.search(line, pos)
            if b is None:
                pieces.append(line[pos:])
                return "".join(pieces), "", False
            pieces.append(line[pos : b.start()])
            e = pem.pem_end.search(line, b.end())
            if e is None:
                return "".join(pieces), mask, True
            pieces.append(mask)
            pos = e.end()


def _split_eol(line: str) -> tuple[str, str]:
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith("\n"):
        return line[:-1], "\n"
    return line, ""


_DEFAULT: Redactor | None = None


def redact(text: str) -> str:
    """Mask secrets in ``text`` with the default rules (stateless)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT.redact(text)
