"""Change windows: is `now` inside one, and when does the next one open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from pipeline_sre.settings.governance import DAY_NAMES, ChangeWindow


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True, slots=True)
class CompiledWindow:
    days: frozenset[int]
    start: int
    end: int
    tz: ZoneInfo
    label: str


def compile_window(window: ChangeWindow | CompiledWindow) -> CompiledWindow:
    if isinstance(window, CompiledWindow):
        return window
    days = ",".join(window.days) if len(window.days) < 7 else "every day"
    return CompiledWindow(
        days=frozenset(DAY_NAMES.index(d) for d in window.days),
        start=_minutes(window.start),
        end=_minutes(window.end),
        tz=_zone(window.tz),
        label=f"{days} {window.start}-{window.end} {window.tz}",
    )


def describe(window: ChangeWindow | CompiledWindow) -> str:
    return compile_window(window).label


def _inside(c: CompiledWindow, now: datetime) -> bool:
    local = now.astimezone(c.tz)
    minute = local.hour * 60 + local.minute
    day = local.weekday()
    if c.start < c.end:
        return day in c.days and c.start <= minute < c.end
    # Past midnight: the evening part belongs to `day`, the morning part to the day before.
    return (day in c.days and minute >= c.start) or ((day - 1) % 7 in c.days and minute < c.end)


def is_open(windows: Sequence[ChangeWindow | CompiledWindow], now: datetime) -> bool:
    """No windows configured means always open; otherwise `now` must fall inside one."""
    if not windows:
        return True
    return any(_inside(compile_window(w), now) for w in windows)


def next_open(windows: Sequence[ChangeWindow | CompiledWindow], now: datetime) -> datetime | None:
    """When writes are next allowed (`now` if a window is open), or None if no window opens within 8 days."""
    if not windows or is_open(windows, now):
        return now
    candidates: list[datetime] = []
    for w in windows:
        c = compile_window(w)
        local_now = now.astimezone(c.tz)
        for offset in range(9):
            day = (local_now + timedelta(days=offset)).date()
            if day.weekday() not in c.days:
                continue
            start = datetime(day.year, day.month, day.day, c.start // 60, c.start % 60, tzinfo=c.tz)
            if start > now:
                candidates.append(start)
    return min(candidates) if candidates else None
