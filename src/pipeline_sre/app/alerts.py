"""Alertmanager intake: a firing alert opens or joins a `metric` incident, a resolved one is noted on it
(verification then waits for it to stay quiet). The same books as every other incident."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from pipeline_sre.lifecycle.runtime import Runtime
from pipeline_sre.models import parse_time
from pipeline_sre.store.incidents import OPEN

log = logging.getLogger("pipeline_sre.alerts")


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


def _parse_time(value: Any) -> datetime | None:
    """An Alertmanager timestamp; its zero time ("0001-01-01T00:00:00Z") means "not set"."""
    parsed = parse_time(value)
    return None if parsed is None or parsed.year == 1 else parsed


def severity_of(rt: Runtime, label: str | None) -> str:
    if label and label.upper() in ("SEV1", "SEV2", "SEV3", "SEV4"):
        return label.upper()
    return SEVERITY_LABELS.get((label or "").lower(), rt.settings.severity.default)


def ingest_alerts(rt: Runtime, alerts: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Open, join or note each alert; returns the summary answered to Alertmanager. Blocking (store)."""
    out: dict[str, Any] = {"opened": [], "joined": 0, "resolved_noted": 0, "resolved_unmatched": 0}
    for env, alert in alerts:
        labels: dict[str, str] = alert["labels"]
        subject, signature = alert_subject(labels), alert_signature(labels)
        if alert["status"] == "resolved":
            matched = _note_resolved(rt, env, subject, signature, alert)
            out["resolved_noted" if matched else "resolved_unmatched"] += 1
            continue
        annotations = {k: rt.redact(_cut(str(v), 500)) for k, v in (alert.get("annotations") or {}).items()}
        summary = annotations.get("summary") or annotations.get("description") or ""
        title = f"{labels['alertname']}: {summary}" if summary else labels["alertname"]
        incident, joined = rt.incidents.open_or_join(
            environment=env,
            source="metric",
            subject=subject,
            signature=signature,
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
            detected_at=_parse_time(alert.get("startsAt")),
            by="system:alertmanager",
        )
        if joined:
            out["joined"] += 1
            if incident.facts.get("alert_status") != "firing":  # it fired again after a resolve
                rt.incidents.mark(incident.id, facts={**incident.facts, "alert_status": "firing"})
        else:
            out["opened"].append(incident.summary())
    return out


def _note_resolved(rt: Runtime, env: str, subject: str, signature: str, alert: dict[str, Any]) -> bool:
    for incident in rt.incidents.list(None, env, OPEN, limit=500):
        if incident.source == "metric" and incident.subject == subject and incident.signature == signature:
            # Alertmanager's endsAt, or now when it sends none (the zero time "0001-01-01...")
            ended = _parse_time(alert.get("endsAt")) or rt.incidents.clock()
            facts = {**incident.facts, "alert_status": "resolved", "alert_resolved_at": ended.isoformat()}
            rt.incidents.mark(incident.id, facts=facts)
            log.info("alert resolved for incident %s (%s)", incident.id, subject)
            return True
    return False
