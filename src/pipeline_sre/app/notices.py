"""What a notification says of an incident: its summary, and who downstream is waiting on the failed DAG."""

from __future__ import annotations

from typing import Any

from pipeline_sre.store.incidents import Incident


def incident_notice(incident: Incident) -> dict[str, Any]:
    """The incident's summary plus, when triage found DAGs the failure blocks, the most critical of them and
    the owners of all of them: the people to tell besides the failed DAG's own team."""
    payload = incident.summary()
    downstream = incident.facts.get("downstream")
    consumers = downstream.get("consumers") if isinstance(downstream, dict) else None
    if not isinstance(downstream, dict) or not consumers:
        return payload
    top, total = consumers[0], int(downstream.get("total") or len(consumers))
    more = f" and {total - 1} more" if total > 1 else ""
    payload["downstream"] = f"{top['dag_id']} (tier {top['tier']}) via {top['via_asset']}{more}"
    payload["downstream_owners"] = list(downstream.get("owners") or [])
    return payload
