"""Alertmanager alerts as a source: pushed to the webhook (`POST /hooks/alertmanager`), never polled. A firing
alert opens or joins a `metric` incident (`intake`); nothing is proposed, and the incident recovers when
Alertmanager resolves the alert and it stays quiet."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.lifecycle.sources.alerts import verify
from pipeline_sre.lifecycle.sources.base import Detected, Failure, Opening
from pipeline_sre.lifecycle.verify_rules import Evidence
from pipeline_sre.models import parse_time
from pipeline_sre.settings.autopilot import AutopilotConfig
from pipeline_sre.settings.config import EnvironmentConfig, VerifyConfig
from pipeline_sre.store.incidents import Incident

NAME = "metric"  # the incident source Alertmanager incidents have always been stored under
OPENED_BY = "system:alertmanager"


SEVERITY_LABELS = {
    "critical": "SEV2",
    "page": "SEV2",
    "high": "SEV2",
    "error": "SEV3",
    "warning": "SEV3",
    "warn": "SEV3",
    "info": "SEV4",
    "low": "SEV4",
    "none": "SEV4",
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_subject(labels: dict[str, str]) -> str:
    return labels.get("dag_id") or labels["alertname"]


def alert_signature(labels: dict[str, str]) -> str:
    """Stable across repeats of the same alert: alertname plus every label, sorted."""
    text = labels["alertname"] + "\n" + "\n".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return "am:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def alert_time(value: Any) -> datetime | None:
    """An Alertmanager timestamp; its zero time ("0001-01-01T00:00:00Z") means "not set"."""
    parsed = parse_time(value)
    return None if parsed is None or parsed.year == 1 else parsed


def severity_of(rt: Runtime, label: str | None) -> str:
    if label and label.upper() in ("SEV1", "SEV2", "SEV3", "SEV4"):
        return label.upper()
    return SEVERITY_LABELS.get((label or "").lower(), rt.settings.severity.default)


@dataclass(frozen=True, slots=True)
class AlertFailure(Failure):
    alert: dict[str, Any]  # one alert of the webhook's body: labels, annotations, status, startsAt...


def failure(env: str, alert: dict[str, Any]) -> AlertFailure:
    return AlertFailure(env, alert_subject(alert["labels"]), None, alert)


def opening(rt: Runtime, failure: AlertFailure) -> Opening:
    """The incident a firing alert opens or joins: its labels say the category and severity, its annotations
    (redacted) what is wrong."""
    alert, labels = failure.alert, failure.alert["labels"]
    annotations = {k: rt.redact(_cut(str(v), 500)) for k, v in (alert.get("annotations") or {}).items()}
    summary = annotations.get("summary") or annotations.get("description") or ""
    title = f"{labels['alertname']}: {summary}" if summary else labels["alertname"]
    return Opening(
        environment=failure.environment,
        source=NAME,
        subject=failure.subject,
        signature=alert_signature(labels),
        category=_cut(labels.get("category") or "metric_alert", 64),
        severity=severity_of(rt, labels.get("severity")),
        title=_cut(title, 300),
        run_id=None,
        task_id=labels.get("task_id"),
        facts={
            "labels": {k: rt.redact(v) for k, v in labels.items()},
            "annotations": annotations,
            "alert_status": "firing",
            "starts_at": alert.get("startsAt"),
            "generator_url": alert.get("generatorURL"),
            "fingerprint": alert.get("fingerprint"),
        },
        detected_at=alert_time(alert.get("startsAt")),
        diagnosed=False,
    )


class AlertsSource:
    name = NAME
    watched = True  # verified every cycle: Alertmanager says when the alert resolves

    def enabled(self, env: EnvironmentConfig, options: AutopilotConfig) -> bool:
        return False  # Alertmanager pushes its alerts; a cycle has nothing to poll

    async def detect(self, rt: Runtime, env: str, since: datetime) -> Detected[AlertFailure]:
        return Detected()  # never polled (see `enabled`): alerts arrive through `intake.ingest_alerts`

    async def diagnose(self, rt: Runtime, failure: AlertFailure) -> None:
        return None  # the alert's labels carry its category and severity

    async def plan(self, rt: Runtime, failure: AlertFailure, diagnosis: None) -> None:
        return None  # a human acts on an alert; the incident is watched until Alertmanager resolves it

    def evidence(self, rt: Runtime, failure: AlertFailure, diagnosis: None) -> Opening:
        return opening(rt, failure)

    async def verify(self, rt: Runtime, incident: Incident, rules: VerifyConfig, now: datetime) -> Evidence:
        return verify.evidence(incident, rules, now)


ALERTS = AlertsSource()  # its own type, so the intake gets an Opening (never None) from `evidence`
