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
        self._all: Any = None
        self._bytes: Any = None
        # a literal with a non-ASCII character (bash's "Getötet") cannot occur in ASCII text, so on ASCII text the
        # automaton of the ASCII literals alone finds everything there is; its hits map back through this index
        self._ascii_index = tuple(n for n, x in enumerate(self.literals) if x.isascii())
        if _ac is not None and self.literals:
            self._auto = _ac.AhoCorasick(list(self.literals), matchkind=_ac.MATCHKIND_LEFTMOST_FIRST)
            self._all = _ac.AhoCorasick(list(self.literals), matchkind=_ac.MATCHKIND_STANDARD)
            if self._ascii_index:
                # on ASCII text the bytes automaton is several times faster (no str-to-UTF-8 index mapping); a
                # DFA scans about 1.7x as fast as the default NFA, and for a few hundred literals it stays small
                self._bytes = _ac.BytesAhoCorasick(
                    [self.literals[n].encode("ascii") for n in self._ascii_index],
                    matchkind=_ac.MATCHKIND_LEFTMOST_FIRST,
                    implementation=_ac.Implementation.DFA,
                )

    @property
    def accelerated(self) -> bool:
        return self._auto is not None

    def starts(self, text: str) -> list[int]:
        """Offsets where some literal starts; unordered when the fallback is used."""
        return [s for _, s in self.hits(text)]

    def hits(self, text: str) -> list[tuple[int, int]]:
        """(index in ``literals``, offset) of each occurrence found; unordered when the fallback is used."""
        if not self.literals or not text:
            return []
        if self._bytes is not None and text.isascii():
            index = self._ascii_index
            return [(index[i], s) for i, s, _ in self._bytes.find_matches_as_indexes(text.encode("ascii"))]
        if self._auto is not None:
            try:
                return [(i, s) for i, s, _ in self._auto.find_matches_as_indexes(text)]
            except UnicodeEncodeError:  # lone surrogates: use the plain loop below
                pass
        out: list[tuple[int, int]] = []
        for n, lit in enumerate(self.literals):
            i = text.find(lit)
            while i >= 0:
                out.append((n, i))
                i = text.find(lit, i + 1)
        return out

    def matched(self, text: str) -> set[str]:
        """Every literal that occurs in ``text``, overlapping ones included (for short texts: a line)."""
        if not self.literals or not text:
            return set()
        if self._all is not None:
            try:
                return {self.literals[i] for i, _, _ in self._all.find_matches_as_indexes(text, overlapping=True)}
            except UnicodeEncodeError:
                pass
        return {lit for lit in self.literals if lit in text}

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


class RunFinder:
    """Start offsets of runs of at least ``min_len`` characters drawn from ``chars`` (ASCII only), optionally
    only the runs that hold one of the ``require`` characters.

    A byte translation table turns every wanted character into ``a`` and every other byte into a space,
    and ``bytes.find`` looks for ``min_len`` a's: hundreds of MB/s where a regex character class with a
    repeat count is under 100 MB/s. A second table marks the required characters, so checking a run for
    one is another ``bytes.find`` within its bounds, not a regex.
    """

    def __init__(self, chars: str, min_len: int, require: str = "") -> None:
        self.chars = "".join(sorted({c for c in chars if ord(c) < 128}))
        self.min_len = max(1, min_len)
        wanted = {ord(c) for c in self.chars}
        self._table = bytes(0x61 if i in wanted else 0x20 for i in range(256))
        self._needle = b"a" * max(1, min_len)
        needed = {ord(c) for c in require if ord(c) < 128}
        self._require = bytes(0x62 if i in needed else 0x20 for i in range(256)) if needed else None

    @staticmethod
    def union(finders: Iterable[RunFinder]) -> RunFinder:
        """One finder that flags every place any of ``finders`` would (and possibly a few more)."""
        fs = list(finders)
        return RunFinder("".join(f.chars for f in fs), min(f.min_len for f in fs))

    def starts(self, text: str) -> list[int]:
        """Offsets where a run starts."""
        data = text.encode("utf-8", errors="surrogatepass")
        hay = data.translate(self._table)
        marks = data.translate(self._require) if self._require is not None else None
        out: list[int] = []
        i = hay.find(self._needle)
        while i >= 0:
            e = hay.find(b" ", i)
            if marks is None or marks.find(b"b", i, len(data) if e < 0 else e) >= 0:
                out.append(i)
            if e < 0:
                break
            i = hay.find(self._needle, e)
        if len(data) != len(text):  # byte offsets to character offsets
            out = [len(data[:i].decode("utf-8", errors="ignore")) for i in out]
        return out

    def any_in(self, text: str) -> bool:
        return self._needle in text.encode("utf-8", errors="surrogatepass").translate(self._table)
