"""Operating statistics for every surface (MCP `operating_stats`, `pipeline-sre stats`, the console's
dashboard, `/metrics`): read from the store, so they count what any surface or replica did and survive a
restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline_sre.errors import InvalidInput
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.store.operating_stats import OperatingStats, OperatingStatsQuery

DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 365  # a year of incidents is still one indexed range per query


def operating_stats(
    rt: Runtime, window_days: int = DEFAULT_WINDOW_DAYS, environment: str | None = None, *, now: datetime | None = None
) -> OperatingStats:
    """The statistics of the last `window_days` days, for one environment or all of them. Blocking (store)."""
    if isinstance(window_days, bool) or not isinstance(window_days, int) or not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput(f"window_days must be a whole number of days, 1 to {MAX_WINDOW_DAYS}; got {window_days!r}")
    if environment is not None:
        rt.environment(environment)  # an unknown name is refused with the valid ones
    until = now or datetime.now(UTC)
    return OperatingStatsQuery(rt.governance.db).compute(until - timedelta(days=window_days), until, environment)


def duration_text(seconds: float | None) -> str:
    """A duration as people read it on a dashboard or in a table: 45s, 12m, 1h 05m, 2d 3h; "—" for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, hours = whole // 60, whole // 3600
    if hours == 0:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{hours // 24}d {hours % 24}h"
