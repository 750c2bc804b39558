"""Find many literals in a large string at once.

Uses the ``ahocorasick_rs`` automaton (one pass in Rust) when it is installed and falls back to one
``str.find`` loop per literal otherwise. Both report character offsets of match starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_ac: Any
try:  # optional accelerator
    import ahocorasick_rs as _ac
except ImportError:  # pragma: no cover - exercised only without the package
    _ac = None


class LiteralScanner:
    """Start offsets of (non-overlapping, leftmost) occurrences of any of ``literals``."""

    def __init__(self, literals: Iterable[str]) -> None:
        self.literals = tuple(sorted({x for x in literals if x}))
        self._auto: Any = None
        if _ac is not None and self.literals:
            self._auto = _ac.AhoCorasick(list(self.literals), matchkind=_ac.MATCHKIND_LEFTMOST_FIRST)

    @property
    def accelerated(self) -> bool:
        return self._auto is not None

    def starts(self, text: str) -> list[int]:
        """Offsets where some literal starts; unordered when the fallback is used."""
        if not self.literals or not text:
            return []
        if self._auto is not None:
            try:
                return [s for _, s, _ in self._auto.find_matches_as_indexes(text)]
            except UnicodeEncodeError:  # lone surrogates: use the plain loop below
                pass
        out: list[int] = []
        for lit in self.literals:
            i = text.find(lit)
            while i >= 0:
                out.append(i)
                i = text.find(lit, i + 1)
        return out

    def any_in(self, text: str) -> bool:
        if self._auto is not None:
            try:
                return bool(self._auto.find_matches_as_indexes(text))
            except UnicodeEncodeError:
                pass
        return any(lit in text for lit in self.literals)


def as_text(value: Any) -> str:
    """Callers hand us lines of any type; bytes are decoded with replacement and nothing raises."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return ""
