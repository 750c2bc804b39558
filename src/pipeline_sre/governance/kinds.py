"""Every kind of action, listed once: lookups read this tuple, and nothing registers itself on import."""

from __future__ import annotations

from pipeline_sre.connectors.clients import Clients
from pipeline_sre.errors import InvalidInput
from pipeline_sre.governance.actions import ActionExecutor, ActionKind
from pipeline_sre.governance.airflow_actions import CLEAR_FAILED_TASKS, TRIGGER_DAG
from pipeline_sre.governance.external_actions import REPAIR_RUN, ROLLOUT_CONFIG, RUN_NOW

KINDS: tuple[ActionKind, ...] = (CLEAR_FAILED_TASKS, TRIGGER_DAG, REPAIR_RUN, RUN_NOW, ROLLOUT_CONFIG)


def known_kinds() -> list[str]:
    return sorted(k.kind for k in KINDS)


def get_kind(kind: str) -> ActionKind:
    for spec in KINDS:
        if spec.kind == kind:
            return spec
    raise InvalidInput(f"unknown action kind {kind!r}; known kinds: {', '.join(known_kinds())}")


def executors(clients: Clients) -> list[ActionExecutor]:
    """One executor per kind, sending through `clients`."""
    return [spec.executor_for(clients) for spec in KINDS]
