"""Settings for the write path (`governance:`) and the state store (`store:`).

Kept free of imports from `pipeline_sre.settings.config` so that config can embed these models.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator

from pipeline_sre.settings.base import Model

Mode = Literal["read_only", "dry_run", "live"]
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_days(value: str | list[str]) -> list[str]:
    """`mon-fri`, `mon,wed,fri`, `sat-sun` or a list of those; returns day names in week order."""
    parts = value if isinstance(value, list) else [value]
    days: set[int] = set()
    for part in parts:
        for token in str(part).lower().replace(" ", "").split(","):
            if not token:
                continue
            if token in ("*", "all", "daily"):
                days.update(range(7))
                continue
            first, sep, last = token.partition("-")
            if first not in DAY_NAMES or (sep and last not in DAY_NAMES):
                raise ValueError(f"unknown day {token!r}; use mon..sun, ranges like mon-fri, or lists")
            a = DAY_NAMES.index(first)
            b = DAY_NAMES.index(last) if sep else a
            i = a
            while True:  # ranges may wrap the week end, e.g. fri-mon
                days.add(i)
                if i == b:
                    break
                i = (i + 1) % 7
    if not days:
        raise ValueError("at least one day is required")
    return [DAY_NAMES[i] for i in sorted(days)]


class ChangeWindow(Model):
    """Writes are allowed on `days` between `start` and `end` (local time in `tz`).

    `end` before `start` means the window runs past midnight into the next day.
    """

    days: list[str] = Field(default_factory=lambda: list(DAY_NAMES))
    start: str = Field("00:00", description="HH:MM, inclusive")
    end: str = Field("24:00", description="HH:MM, exclusive; 24:00 means end of day")
    tz: str = "UTC"

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, v: Any) -> list[str]:
        if not isinstance(v, str | list):
            raise ValueError("days must be a string like 'mon-fri' or a list of day names")
        return parse_days(v)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if v != "24:00" and not _HHMM.match(v):
            raise ValueError("must be HH:MM (24-hour), e.g. 09:00")
        return v

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Europe/Berlin") from None
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> ChangeWindow:
        if self.start == self.end:
            raise ValueError("start and end are equal: the window would be empty")
        if self.start == "24:00":
            raise ValueError("start cannot be 24:00")
        return self


class ConfSchema(Model):
    """JSON Schema for the `conf` of DAGs matching `match` (a glob); the first matching entry wins."""

    match: str
    json_schema: dict[str, Any] = Field(alias="schema")
    strict: bool = Field(
        True, description="Treat object schemas without additionalProperties as additionalProperties: false"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EnvironmentPolicy(Model):
    """What may be written in one environment (keyed by the environment's name in `environments`)."""

    allow_dags: list[str] = Field([], description="Globs of DAG ids that may be written; nothing else may")
    allow_actions: list[str] | None = Field(None, description="Action kinds allowed here (default: all)")
    required_approvals: int = Field(1, ge=0, le=5, description="Distinct approvers needed before execution")
    approvers: list[str] | None = Field(None, description="Who may approve here (default: governance.approvers)")
    change_windows: list[ChangeWindow] = Field([], description="When writes may run; empty means any time")
    max_actions_per_dag_per_hour: int = Field(3, ge=0, le=1000)
    max_automated_reruns_per_incident: int = Field(1, ge=0, le=10)
    approval_ttl_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    conf_schemas: list[ConfSchema] = []


class AuditAnchorConfig(Model):
    file: Path | None = Field(
        None, description="Append-only file the audit anchors go to (default: audit-anchors.jsonl in the data dir)"
    )
    key_env: str = Field(
        "PIPELINE_SRE_AUDIT_KEY",
        description="Env var holding the key that signs anchors and approvals (HMAC-SHA256); keep it out of the store",
    )
    every_minutes: int = Field(5, ge=1, le=24 * 60, description="How often the autopilot anchors the audit head")

    def key(self) -> bytes | None:
        value = os.environ.get(self.key_env)
        return value.encode() if value else None


class GovernanceConfig(Model):
    mode: Mode = Field("dry_run", description="read_only: no writes; dry_run: show and audit the call; live: send")
    approvers: list[str] = Field(
        [], description="People who may approve or deny actions (console users; the CLI proves who you are)"
    )
    environments: dict[str, EnvironmentPolicy] = Field(
        {}, description="Per-environment policy; an environment not listed here is read-only"
    )
    runbooks_dir: Path | None = Field(None, description="Extra runbook YAML files; same id overrides built-ins")
    audit_anchor: AuditAnchorConfig = AuditAnchorConfig()
    execution_lease_seconds: int = Field(
        300,
        ge=1,
        le=24 * 3600,
        description="An action left executing longer than this is recovered (at start-up and every autopilot cycle)",
    )

    @field_validator("approvers")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name.strip() or name != name.strip():
                raise ValueError(f"approver name {name!r} must be non-empty without surrounding spaces")
        return v

    @model_validator(mode="after")
    def _a_human_approves_live_writes(self) -> GovernanceConfig:
        """In live mode every write needs at least one human approval: 0 would let an agent run writes alone."""
        if self.mode == "live":
            alone = sorted(name for name, policy in self.environments.items() if policy.required_approvals < 1)
            if alone:
                raise ValueError(
                    f"mode live needs required_approvals of 1 or more; environments with 0: {', '.join(alone)}"
                )
        return self


class StoreConfig(Model):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql+psycopg://...); env PIPELINE_SRE_DATABASE_URL wins; "
        "default SQLite at <data_dir>/pipeline-sre.db",
    )
    pool_size: int = Field(5, ge=1, le=100)
    busy_timeout_ms: int = Field(10_000, ge=0, le=600_000, description="SQLite: wait this long for a lock")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql+psycopg:// URL")
        return v
