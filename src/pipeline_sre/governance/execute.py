"""Executors: one per action kind, the only code that sends writes to a backend."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pipeline_sre.errors import ConfigError
from pipeline_sre.governance.actions import Action


@runtime_checkable
class ActionExecutor(Protocol):
    kind: str
    # Whether a call whose outcome is unknown may be sent again (a deterministic run id, an idempotency
    # token); a clear may not: recovery then records it failed for a human instead of sending it twice.
    resend_safe: bool

    def describe_call(self, action: Action) -> dict[str, Any]:
        """The exact API call: {"method", "path", "body"}."""
        ...

    async def execute(self, action: Action) -> dict[str, Any]:
        """Perform it; raise on failure; idempotent through the action's deterministic run id."""
        ...

    async def find_existing(self, action: Action) -> dict[str, Any] | None:
        """Crash recovery: the backend's record of this action if it already happened, else None."""
        ...


class ExecutorRegistry:
    def __init__(self, executors: list[ActionExecutor] | None = None) -> None:
        self._by_kind: dict[str, ActionExecutor] = {}
        for ex in executors or []:
            self.register(ex)

    def register(self, executor: ActionExecutor) -> None:
        if executor.kind in self._by_kind:
            raise ConfigError(f"an executor for {executor.kind!r} is already registered")
        self._by_kind[executor.kind] = executor

    def get(self, kind: str) -> ActionExecutor | None:
        return self._by_kind.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)
