"""The Source protocol: what the incident flow asks of a backend whose failures become incidents.

A source owns the incidents whose `source` is its name, or its name, a colon and a qualifier
(`signal:<detector>`). The autopilot cycle (`app/respond.py`) polls each source an environment enables:
`detect` finds the failures, each run is claimed once, then `diagnose`d; `plan` is the runbook's answer and
`evidence` the incident the failure opens or joins, with the facts it keeps from detection on. `verify`
gathers the recovery checks of one of its incidents (`lifecycle/verify.py` reaches the verdict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pipeline_sre.lifecycle.plans import Plan
from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.verify_rules import Evidence
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.config import EnvironmentConfig, VerifyConfig
from pipeline_sre.store.incidents import Incident

DETECTED_BY = "system:detect"  # who opens an incident when no principal did (a diagnosis read by a tool)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failure a source detected in one environment."""

    environment: str
    subject: str  # what failed: a DAG id, a job resource, a signal's subject
    run_id: str | None  # the failed run, claimed so it is handled once; None for a condition, joined while it holds

    @property
    def where(self) -> str:
        """How an approval reason names it."""
        return f"{self.subject}/{self.run_id}" if self.run_id else self.subject


F = TypeVar("F", bound=Failure)
D = TypeVar("D")


@dataclass(slots=True)
class Detected(Generic[F]):
    """What one poll found, and what it could not read (the rest is handled all the same)."""

    failures: list[F] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Opening:
    """The incident a failure opens or joins: its key, and the facts it keeps so a later change in the
    backend (a clear, a new try) cannot erase the failure from the incident or its postmortem."""

    environment: str
    source: str
    subject: str
    signature: str
    category: str
    severity: str
    title: str
    run_id: str | None
    task_id: str | None
    facts: dict[str, Any]
    failed_at: datetime | None = None
    detected_at: datetime | None = None
    diagnosed: bool = True  # a run arrives triaged and diagnosed; a condition is only detected
    runbook_id: str | None = None  # set on a new incident nobody proposes a write for (no plan records it)
    announce: dict[str, Any] = field(default_factory=dict)  # what `incident_opened` adds to a new one's summary


class Source(Protocol[F, D]):
    """One backend in the incident flow: `F` is the failure it detects, `D` what its diagnosis gives."""

    name: str  # the incident `source` it owns: exactly, or followed by ':' and a qualifier
    watched: bool  # its incidents are conditions, verified every cycle even when nobody acted

    def enabled(self, env: EnvironmentConfig, options: AutopilotConfig) -> bool:
        """Whether the autopilot polls it in an environment so configured."""
        ...

    async def detect(self, rt: Runtime, env: str, since: datetime) -> Detected[F]:
        """New failures in one environment (runs that ended since `since`, conditions holding now)."""
        ...

    async def diagnose(self, rt: Runtime, failure: F) -> D:
        """What went wrong, from the backend (a backend outage raises BackendUnavailable)."""
        ...

    async def plan(self, rt: Runtime, failure: F, diagnosis: D) -> Plan | None:
        """The runbook's plan (a write to propose, or an escalation), or None when the autopilot proposes
        nothing and the incident is watched instead. Nothing is stored or sent."""
        ...

    def evidence(self, rt: Runtime, failure: F, diagnosis: D) -> Opening | None:
        """The incident the failure opens or joins, with its facts; None when there is nothing to act on."""
        ...

    async def verify(self, rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
        """The recovery checks of one of its incidents, by the shared rules (`lifecycle/verify_rules.py`)."""
        ...


def open_incident(rt: Runtime, opening: Opening, *, by: str) -> tuple[Incident, bool]:
    """Open the incident, or join the open one with the same key; a new one is moved on as far as its
    source got (triaged and diagnosed) and keeps its runbook. Returns (incident, joined). Blocking (store)."""
    incident, joined = rt.incidents.open_or_join(
        environment=opening.environment,
        source=opening.source,
        subject=opening.subject,
        signature=opening.signature,
        category=opening.category,
        severity=opening.severity,
        title=opening.title,
        run_id=opening.run_id,
        task_id=opening.task_id,
        facts=opening.facts,
        detected_at=opening.detected_at,
        failed_at=opening.failed_at,
        by=by,
    )
    if joined:
        return incident, True
    if opening.diagnosed:
        rt.incidents.advance(incident.id, "triaged", by=by)
        incident = rt.incidents.advance(incident.id, "diagnosed", by=by)
    if opening.runbook_id:
        incident = rt.incidents.mark(incident.id, runbook_id=opening.runbook_id)
    return incident, False
