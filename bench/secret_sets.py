"""The broad secret sets for the redaction benchmark, read from a local gitleaks checkout.

gitleaks keeps, for each of its rules, the true positives the rule must flag (``tps``) and false
positives it must not (``fps``) in ``cmd/generate/config/rules/*.go``. This module pulls out the
literal ones (a Go string literal standing alone as a list element; values built by generators are
skipped) so the benchmark can score redaction on every provider gitleaks knows, not only the kinds
this repository claims. The data is read at run time from the checkout named by
``PIPELINE_SRE_GITLEAKS_RULES`` (a folder of those ``.go`` files); nothing of it is stored here.

The ``fps`` are an imperfect negative set for us: some are placeholders or near-misses of *that*
rule's format that another rule (ours or gitleaks') legitimately flags. They are reported as
"left unchanged", next to the loghub lines, which are the negatives that matter for logs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_START = re.compile(r"\b(tps|fps)\s*(?::=|=)\s*(?:append\(\s*(?:tps|fps)\s*,|\[\]string\s*\{)")


@dataclass(frozen=True)
class Example:
    source: str  # the rules file
    rule: str  # the file name without .go (a provider family)
    positive: bool
    text: str


def _go_string(src: str, i: int) -> tuple[str, int]:
    """The Go string literal starting at ``src[i]`` (backtick or double quote) and the index after it."""
    q = src[i]
    if q == "`":
        j = src.index("`", i + 1)
        return src[i + 1 : j], j + 1
    out = []
    j = i + 1
    while src[j] != '"':
        if src[j] == "\\":
            nxt = src[j + 1]
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            j += 2
            continue
        out.append(src[j])
        j += 1
    return "".join(out), j + 1


def _elements(src: str, i: int) -> list[str]:
    """Literal elements of the list starting at ``src[i]`` up to its closing bracket."""
    depth = 1
    items: list[str] = []
    current: list[tuple[str, str]] = []  # (kind, value) tokens of the current element
    while i < len(src) and depth > 0:
        c = src[i]
        if c in '`"':
            s, i = _go_string(src, i)
            if depth == 1:
                current.append(("str", s))
            continue
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = len(src) if i < 0 else i
            continue
        if c in "({[":
            depth += 1
            if depth == 2:
                current.append(("call", ""))
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 1:
            if len(current) == 1 and current[0][0] == "str":
                items.append(current[0][1])
            current = []
        elif depth == 1 and not c.isspace():
            current.append(("code", c))
        i += 1
    if len(current) == 1 and current[0][0] == "str":
        items.append(current[0][1])
    return items


def examples_from(folder: Path) -> list[Example]:
    out: list[Example] = []
    for path in sorted(folder.glob("*.go")):
        if path.name.endswith("_test.go"):
            continue
        src = path.read_text(encoding="utf-8", errors="replace")
        for m in _START.finditer(src):
            for text in _elements(src, m.end()):
                if text.strip():
                    out.append(Example(path.name, path.stem, m.group(1) == "tps", text))
    return out


def gitleaks_folder() -> Path | None:
    raw = os.environ.get("PIPELINE_SRE_GITLEAKS_RULES")
    if not raw:
        return None
    p = Path(raw)
    return p if p.is_dir() else None
