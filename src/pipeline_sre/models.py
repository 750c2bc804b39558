"""Plain data shared by connectors, lifecycle services and surfaces (no behaviour beyond parsing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The failure categories diagnosis assigns; every one has a runbook.
CATEGORIES = (
    "oom",
    "upstream_missing",
    "permission_denied",
    "credentials",
    "schema_mismatch",
    "data_quality",
    "dependency",
    "transient_network",
    "throttled",
    "timeout",
    "resource_exhausted",
    "killed_external",
    "kafka_consumer",
    "code_bug",
    "unknown",
)


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp, always timezone-aware: one without an offset (Airflow's CLI prints those) is UTC."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def iso_exact(value: datetime | None) -> str | None:
    """`iso` with the backend's own sub-second precision: where a time becomes the start of every duration."""
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True, slots=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    run_type: str | None
    start_date: datetime | None
    end_date: datetime | None
    logical_date: datetime | None
    conf: dict[str, Any]
    note: str | None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> DagRun:
        conf = raw.get("conf")
        return cls(
            dag_id=str(raw.get("dag_id", "")),
            run_id=str(raw.get("dag_run_id") or raw.get("run_id") or ""),
            state=str(raw.get("state") or "unknown"),
            run_type=raw.get("run_type"),
            start_date=parse_time(raw.get("start_date")),
            end_date=parse_time(raw.get("end_date")),
            logical_date=parse_time(raw.get("logical_date") or raw.get("execution_date")),
            conf=conf if isinstance(conf, dict) else {},
            note=raw.get("note"),
        )

    @property
    def duration_seconds(self) -> float | None:
        if self.start_date and self.end_date:
            return round((self.end_date - self.start_date).total_seconds(), 1)
        return None


@dataclass(frozen=True, slots=True)
class TaskInstance:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str
    try_number: int
    max_tries: int
    operator: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    note: str | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> TaskInstance:
        duration = raw.get("duration")
        return cls(
            dag_id=str(raw.get("dag_id", "")),
            run_id=str(raw.get("dag_run_id") or raw.get("run_id") or ""),
            task_id=str(raw.get("task_id", "")),
            map_index=int(raw.get("map_index", -1) if raw.get("map_index") is not None else -1),
            state=str(raw.get("state") or "none"),
            try_number=int(raw.get("try_number") or 0),
            max_tries=int(raw.get("max_tries") or 0),
            operator=raw.get("operator_name") or raw.get("operator"),
            start_date=parse_time(raw.get("start_date")),
            end_date=parse_time(raw.get("end_date")),
            duration=round(float(duration), 1) if isinstance(duration, int | float) else None,
            note=raw.get("note"),
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a cross-DAG listing; `total` is the server's exact count for the filter."""

    items: list[DagRun]
    total: int
    offset: int
    page_size: int
    requests: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
