"""Actions: the only writes. Typed, canonical JSON, SHA-256 digest, and a registry of kinds.

A new kind (Databricks repair, a config PR, ...) registers an `ActionKind` with its params model and
plugs an executor into the service; nothing in the propose/approve/execute path changes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline_sre.errors import InvalidInput

RUN_ID_PREFIX = "pipeline_sre__"
ACTION_ID_PREFIX = "act_"
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no whitespace, UTF-8 kept, NaN/Infinity refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_action_id() -> str:
    """`act_` + 20 lowercase base32 characters (100 random bits): URL-safe and valid in an Airflow run id."""
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return ACTION_ID_PREFIX + raw[:20]


def is_action_id(value: str) -> bool:
    body = value[len(ACTION_ID_PREFIX) :]
    return value.startswith(ACTION_ID_PREFIX) and len(body) == 20 and all(c in _B32 for c in body)


def run_id_for(action_id: str) -> str:
    """The deterministic backend run id of an action: a second submission is refused (Airflow: 409)."""
    return RUN_ID_PREFIX + action_id


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dag_id(v: str) -> str:
    if not v or len(v) > 250 or not all(c.isalnum() or c in "._-" for c in v):
        raise ValueError("must be a DAG id: letters, digits, '.', '_' and '-' (max 250)")
    return v


class ClearFailedTasksParams(_Params):
    """Rerun only the failed tasks of one DAG run (and their downstream), resetting the run to queued."""

    dag_id: str
    dag_run_id: str = Field(min_length=1, max_length=250)

    _check_dag = field_validator("dag_id")(_dag_id)


class TriggerDagParams(_Params):
    """A new DAG run with a validated conf; its run id is derived from the action id."""

    dag_id: str
    conf: dict[str, Any] = {}
    note: str | None = Field(None, max_length=1000)

    _check_dag = field_validator("dag_id")(_dag_id)


class Action(BaseModel):
    """What is proposed, approved and executed. The digest covers everything an approver approves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: str
    environment: str
    params: dict[str, Any]
    requested_by: str
    incident_id: str | None = None
    automated: bool = False
    runbook_id: str | None = None
    created_at: datetime

    @property
    def run_id(self) -> str:
        return run_id_for(self.id)

    def canonical(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "environment": self.environment,
            "params": self.params,
            "requested_by": self.requested_by,
            "incident_id": self.incident_id,
            "automated": self.automated,
            "runbook_id": self.runbook_id,
        }

    def canonical_json(self) -> str:
        return canonical_json(self.canonical())

    def digest(self, call: dict[str, Any] | None = None) -> str:
        """SHA-256 over the canonical action and its exact call (a changed call voids approvals)."""
        return sha256_hex(canonical_json({"action": self.canonical(), "call": call}))


@dataclass(frozen=True, slots=True)
class ActionKind:
    """One kind of write. `resource` names what the allowlist matches (a DAG id for Airflow kinds)."""

    kind: str
    params_model: type[BaseModel]
    description: str
    resource: Callable[[BaseModel], str]
    describe_call: Callable[[Action], dict[str, Any]]
    conf: Callable[[BaseModel], dict[str, Any] | None] = lambda _p: None
    is_rerun: bool = False
    reversible: bool = True

    def parse(self, params: dict[str, Any]) -> BaseModel:
        try:
            return self.params_model.model_validate(params)
        except ValidationError as err:
            problems = "; ".join(
                f"{'/'.join(str(p) for p in e['loc']) or '(params)'}: {e['msg']}" for e in err.errors()
            )
            allowed = ", ".join(self.params_model.model_fields)
            raise InvalidInput(f"invalid params for {self.kind}: {problems} (params: {allowed})") from None

    def normalise(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.parse(params).model_dump(mode="json")


def clear_note(action_id: str) -> str:
    return f"pipeline-sre {action_id}"


def _clear_call(action: Action) -> dict[str, Any]:
    p = action.params
    return {
        "method": "POST",
        "path": f"/api/v2/dags/{p['dag_id']}/clearTaskInstances",
        "body": {
            "dag_run_id": p["dag_run_id"],
            "only_failed": True,
            "reset_dag_runs": True,
            "dry_run": False,
            # The note marks the cleared task instances: crash recovery looks for it before re-sending.
            "note": clear_note(action.id),
        },
    }


def _trigger_call(action: Action) -> dict[str, Any]:
    p = action.params
    return {
        "method": "POST",
        "path": f"/api/v2/dags/{p['dag_id']}/dagRuns",
        "body": {
            "dag_run_id": action.run_id,
            "logical_date": None,
            "conf": p.get("conf") or {},
            "note": p.get("note"),
        },
    }


def _dag_of(p: BaseModel) -> str:
    return str(getattr(p, "dag_id"))  # noqa: B009 - both Airflow params models have dag_id


def _conf_of(p: BaseModel) -> dict[str, Any] | None:
    return dict(p.conf) if isinstance(p, TriggerDagParams) else None


_REGISTRY: dict[str, ActionKind] = {}


def register_kind(kind: ActionKind) -> ActionKind:
    if kind.kind in _REGISTRY and _REGISTRY[kind.kind] is not kind:
        raise ValueError(f"action kind {kind.kind!r} is already registered")
    _REGISTRY[kind.kind] = kind
    return kind


def get_kind(kind: str) -> ActionKind:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise InvalidInput(f"unknown action kind {kind!r}; known kinds: {', '.join(sorted(_REGISTRY))}") from None


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


CLEAR_FAILED_TASKS = register_kind(
    ActionKind(
        kind="clear_failed_tasks",
        params_model=ClearFailedTasksParams,
        description="Rerun only the failed tasks of a DAG run",
        resource=_dag_of,
        describe_call=_clear_call,
        is_rerun=True,
    )
)
TRIGGER_DAG = register_kind(
    ActionKind(
        kind="trigger_dag",
        params_model=TriggerDagParams,
        description="Start a new DAG run with a validated conf",
        resource=_dag_of,
        describe_call=_trigger_call,
        conf=_conf_of,
        is_rerun=True,
    )
)
