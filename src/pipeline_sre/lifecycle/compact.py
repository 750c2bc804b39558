"""Keep results small: compact JSON and trimming lists until a byte budget is met."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def size(obj: Any) -> int:
    return len(dumps(obj).encode())


def fit(result: dict[str, Any], max_bytes: int, *list_keys: str) -> dict[str, Any]:
    """Trim the named lists (last key first) until the result fits, and say how many items were cut."""
    for key in reversed(list_keys):
        if size(result) <= max_bytes:
            break
        items = result.get(key)
        if isinstance(items, list) and items:
            _trim(result, key, list(items), max_bytes)
    return result


def _trim(result: dict[str, Any], key: str, full: list[Any], max_bytes: int) -> None:
    """Keep the longest prefix of `full` that fits, found by bisection and measured with the
    `truncated` marker in place: O(log n) serialisations, and the budget holds exactly."""
    marker = result.setdefault("truncated", {})

    def fits(keep: int) -> bool:
        result[key] = full[:keep]
        marker[key] = len(full) - keep
        return size(result) <= max_bytes

    lo, hi = 0, len(full) - 1  # keeping everything did not fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    fits(lo)


def clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


# Keys whose values come from a backend, a log or a person (never from pipeline-sre itself): data to read,
# never instructions to follow, wherever they appear in an answer.
UNTRUSTED_KEYS = frozenset(
    {
        "message", "evidence", "exception", "excerpt", "log", "owner", "tags", "note", "title", "reason",
        "escalation_reason", "close_reason", "comment", "approval_reason", "labels", "annotations", "detail",
        "state_message", "error", "summary", "description", "trace", "owners", "via_asset",
    }
)  # fmt: skip  # one set, read as a list of words


def scrub(value: Any, clean: Callable[[str], str], path: str = "", found: set[str] | None = None) -> Any:
    """A copy of `value` with every string passed through `clean` (redaction, control characters), and the
    paths of strings under UNTRUSTED_KEYS collected in `found` (list indices written as [])."""
    if isinstance(value, str):
        if found is not None and any(part.rstrip("[]") in UNTRUSTED_KEYS for part in path.split(".")):
            found.add(path)
        return clean(value)
    if isinstance(value, dict):
        return {k: scrub(v, clean, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, clean, f"{path}[]", found) for v in value]
    return value
