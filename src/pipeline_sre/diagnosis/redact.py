"""Mask secrets in log text before it is shown, stored or handed to a model.

The patterns are data (``rules/secrets.yaml``). Speed comes from a literal prefilter: for a block of
text the lowercased copy is searched once per distinct keyword with ``str.find`` (C speed), and only
the lines that hold a keyword (or match a rule's cheap ``prefilter`` regex, or hold a configured
value) go through the regexes. Clean lines are copied through untouched.

``Redactor.redact(text)`` is self-contained: a key block (``type: block`` rules: PEM private keys,
PuTTY key files) opened in ``text`` is masked up to its end marker or, if it never ends, to the end of
``text``. ``Redactor.redact_line(line)`` keeps state between calls so a block fed line by line is masked
on every line in between.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pipeline_sre.diagnosis._scan import LiteralScanner, as_text

_SECRET_GROUPS = ("secret", "dq", "sq", "bare")
_MIN_EXTRA_VALUE = 3


def _mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


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

    def applies(self, line: str, low: str) -> bool:
        if any(k in low for k in self.keywords):
            return True
        return any(p.search(line) is not None for p in self.prefilter)


def _compile_rule(raw: dict[str, Any]) -> SecretRule:
    flags = re.IGNORECASE if raw.get("ignorecase") else 0
    kws = tuple(str(k).lower() for k in raw.get("keywords") or ())
    pre_raw = raw.get("prefilter") or ()
    pre = tuple(re.compile(str(x)) for x in ([pre_raw] if isinstance(pre_raw, str) else pre_raw))
    if not kws and not pre:
        raise ValueError(f"secret rule {raw.get('id')!r} needs keywords or a prefilter")
    ign = raw.get("ignore_values")
    ignore = re.compile(str(ign), re.IGNORECASE) if ign else None
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
    )


def load_secret_rules(extra_paths: Iterable[str | Path] = ()) -> list[SecretRule]:
    """The built-in rules followed by the rules of any extra YAML files (same format)."""
    docs = [_builtin_secret_rules_text()]
    docs.extend(Path(p).read_text(encoding="utf-8") for p in extra_paths)
    rules: list[SecretRule] = []
    for doc in docs:
        data = yaml.safe_load(doc) or {}
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

    def repl(m: re.Match[str]) -> str:
        for name in _SECRET_GROUPS:
            if name in m.re.groupindex and m.start(name) >= 0:
                value = m.group(name)
                if ignore is not None and ignore.fullmatch(value):
                    return m.group(0)
                s, e = m.start(name) - m.start(), m.end(name) - m.start()
                whole = m.group(0)
                return whole[:s] + mask + whole[e:]
        return mask

    return repl


class Redactor:
    """Masks secrets as ``[REDACTED:<kind>]``. Never raises; see the module docstring for state."""

    def __init__(
        self,
        extra_values: Iterable[str] = (),
        rules: Iterable[SecretRule] | None = None,
    ) -> None:
        self._rules: tuple[SecretRule, ...] = tuple(rules) if rules is not None else _builtin_rules()
        self._subs = [(r, _replacer(r)) for r in self._rules if r.regex is not None]
        self._blocks = tuple(r for r in self._rules if r.pem_begin is not None and r.pem_end is not None)
        values = {str(v) for v in extra_values if v is not None and len(str(v)) >= _MIN_EXTRA_VALUE}
        # longest first so a value that contains another is masked whole
        self._extra = tuple(sorted(values, key=len, reverse=True))
        self._scanner = LiteralScanner(k for r in self._rules for k in r.keywords)
        self._prefilters = tuple(p for r in self._rules for p in r.prefilter)
        self._open: SecretRule | None = None  # the block rule whose block is open (multi-line state)

    # -- public API -------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Mask every secret in ``text`` (any number of lines). Stateless across calls."""
        text = as_text(text)
        if not text:
            return text
        try:
            out, _ = self._redact_block(text, None)
            return out
        except Exception:  # pragma: no cover - defensive: never let redaction break a caller
            return self._safe_fallback(text)

    def redact_line(self, line: str) -> str:
        """Mask one line, remembering an open PEM block across calls."""
        line = as_text(line)
        try:
            body, nl = _split_eol(line)
            out, self._open = self._redact_line(body, self._open)
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

    def reset(self) -> None:
        """Forget an open key block (start of a new, unrelated stream)."""
        self._open = None

    # -- internals ------------------------------------------------------------------------

    def _flush(self, batch: list[str]) -> str:
        text = "".join(batch)
        try:
            out, self._open = self._redact_block(text, self._open)
            return out
        except Exception:  # pragma: no cover - defensive
            return "".join(self._safe_fallback(x) for x in batch)

    def _safe_fallback(self, text: str) -> str:
        # Something unexpected happened; hiding the text beats leaking it.
        return _mask("unprocessable") + ("\n" if text.endswith("\n") else "")

    def _redact_block(self, text: str, in_pem: SecretRule | None) -> tuple[str, SecretRule | None]:
        low = text.lower()
        if len(low) != len(text):  # lower() changed lengths (rare non-ASCII); go line by line
            parts = []
            for line in text.splitlines(keepends=True):
                body, nl = _split_eol(line)
                red, in_pem = self._redact_line(body, in_pem)
                parts.append(red + nl)
            return "".join(parts), in_pem

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
        for value in self._extra:
            i = text.find(value)
            while i >= 0:
                i = text.find(value, flag(i) + 1)
                # a value that spans lines is handled by the per-line pass only if it sits on one line
        if not starts and in_pem is None:
            return text, None

        out: list[str] = []
        pos = 0
        if in_pem is not None:
            starts.add(0)
        ordered = sorted(starts)
        idx = 0
        while idx < len(ordered):
            s = ordered[idx]
            idx += 1
            if s < pos:
                continue
            if s > pos:
                if in_pem is not None:
                    out.append(self._mask_pem_lines(text[pos:s], in_pem))
                else:
                    out.append(text[pos:s])
            e = text.find("\n", s)
            e = len(text) if e < 0 else e
            new, in_pem = self._redact_line(text[s:e], in_pem)
            out.append(new)
            pos = e
        if pos < len(text):
            out.append(self._mask_pem_lines(text[pos:], in_pem) if in_pem is not None else text[pos:])
        return "".join(out), in_pem

    @staticmethod
    def _mask_pem_lines(chunk: str, block: SecretRule) -> str:
        # chunk starts with "\n" (end of the previous line) and holds whole lines of key material
        mask = _mask(block.kind)
        lines = chunk.split("\n")
        return "\n".join(x if not x.strip() else mask for x in lines)

    def _redact_line(self, line: str, in_pem: SecretRule | None) -> tuple[str, SecretRule | None]:
        if in_pem is None and not self._may_hold_secret(line):
            return line, None
        prefix = ""
        if in_pem is not None and in_pem.pem_end is not None:
            m = in_pem.pem_end.search(line)
            if m is None:
                return (_mask(in_pem.kind) if line.strip() else line), in_pem
            prefix = _mask(in_pem.kind)
            line = line[m.end() :]
            in_pem = None
        low = line.lower()
        tail = ""
        for block in self._blocks:
            if block.applies(line, low):
                line, tail, still_open = self._pem_in_line(line, block)
                low = line.lower()
                if still_open:
                    in_pem = block
                    break
        for rule, repl in self._subs:
            if rule.applies(line, low):
                assert rule.regex is not None
                line = rule.regex.sub(repl, line)
        if self._extra:
            for value in self._extra:
                if value in line:
                    line = line.replace(value, _mask("configured_secret"))
        return prefix + line + tail, in_pem

    def _may_hold_secret(self, line: str) -> bool:
        """The cheap prefilter for one line: any keyword, prefilter regex or configured value."""
        if self._scanner.any_in(line.lower()):
            return True
        if any(p.search(line) is not None for p in self._prefilters):
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
