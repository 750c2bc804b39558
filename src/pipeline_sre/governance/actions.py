"""Actions: the only writes. Typed, canonical JSON, SHA-256 digest; what a kind of action and its executor are.

The kinds themselves are defined next to their backends (`airflow_actions`, `external_actions`) and listed
once in `kinds.py`; nothing in the propose/approve/execute path changes when one is added.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline_sre.errors import InvalidInput

if TYPE_CHECKING:
    from pipeline_sre.connectors.clients import Clients

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


class ActionParams(BaseModel):
    """Params of a kind: closed (an unknown field is refused) and frozen (what was approved stays so)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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


@runtime_checkable
class ActionExecutor(Protocol):
    """Sends one kind of action: the only code that writes to a backend."""

    kind: str
    # Whether a call whose outcome is unknown may be sent again (a deterministic run id, an idempotency
    # token); a clear may not: recovery then records it failed for a human instead of sending it twice.
    resend_safe: bool

    def describe_call(self, action: Action) -> dict[str, Any]:
        """The exact call, as built by the client that sends it (what governance digests and shows)."""
        ...

    async def prepare(self, action: Action) -> None:
        """Learn what the call depends on (Airflow's version) before it is described at execution."""
        ...

    async def execute(self, action: Action) -> dict[str, Any]:
        """Send the described call; raise on failure."""
        ...

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        """Crash recovery: the backend's record of this action if it already happened, else None."""
        ...


class KindExecutor:
    """What every executor of a kind holds: the kind's name and resend flag (the kind owns them) and the
    clients it sends through. `prepare` learns nothing unless the call depends on the backend."""

    def __init__(self, spec: ActionKind, clients: Clients) -> None:
        self.kind = spec.kind
        self.resend_safe = spec.resend_safe
        self.clients = clients

    async def prepare(self, action: Action) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ActionKind:
    """One kind of write, whole: its params, what it touches (`resource`, what the allowlist matches: a
    DAG id for Airflow kinds), its executor (built with the clients) and how governance may treat it."""

    kind: str
    params_model: type[BaseModel]
    description: str
    resource: Callable[[BaseModel], str]
    executor: Callable[[ActionKind, Clients], ActionExecutor]
    conf: Callable[[BaseModel], dict[str, Any] | None] = lambda _p: None
    is_rerun: bool = False
    reversible: bool = True
    resend_safe: bool = True  # see ActionExecutor.resend_safe

    def executor_for(self, clients: Clients) -> ActionExecutor:
        return self.executor(self, clients)

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
