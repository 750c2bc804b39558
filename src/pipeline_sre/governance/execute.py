"""The executors a governance service sends through, one per action kind (see `ActionExecutor`)."""

from __future__ import annotations

from pipeline_sre.errors import ConfigError
from pipeline_sre.governance.actions import ActionExecutor


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
