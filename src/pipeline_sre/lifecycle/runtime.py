"""The shared context every lifecycle service runs in: settings plus one connector per environment."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Generic, TypeVar

import httpx

from pipeline_sre.connectors.airflow import AirflowClient
from pipeline_sre.connectors.clients import Clients
from pipeline_sre.connectors.notify import Notifier, build_notifier
from pipeline_sre.diagnosis import Diagnosis, Redactor
from pipeline_sre.errors import PipelineSreError
from pipeline_sre.governance.kinds import executors
from pipeline_sre.governance.service import GovernanceService
from pipeline_sre.runbooks.loader import RunbookLibrary
from pipeline_sre.settings.config import EnvironmentConfig, Settings
from pipeline_sre.store.incidents import IncidentStore

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)


class Runtime:
    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.clients = Clients(settings, transport=transport)
        self._governance: GovernanceService | None = None
        self._runbooks: RunbookLibrary | None = None
        self._incidents: IncidentStore | None = None
        self.notifier: Notifier = build_notifier(settings)
        self._sensitive = settings.sensitive_values()
        self.redactor = self.new_redactor()
        # Finished tries never change, so their diagnoses are kept (bounded, oldest dropped first).
        self.diagnosis_cache: LruCache[tuple[Any, ...], Diagnosis] = LruCache(512)

    @property
    def governance(self) -> GovernanceService:
        """The one governed write path, opened on first use (it runs the store's migrations)."""
        if self._governance is None:
            self._governance = GovernanceService.from_settings(
                self.settings,
                executors=executors(self.clients),
                redact=self.redact,
            )
        return self._governance

    @property
    def incidents(self) -> IncidentStore:
        if self._incidents is None:
            window = timedelta(minutes=self.settings.incidents.dedup_window_minutes)
            lease = timedelta(seconds=self.settings.incidents.claim_lease_seconds)
            self._incidents = IncidentStore(
                self.governance.db, dedup_window=window, owner=self.governance.instance_id, claim_lease=lease
            )
        return self._incidents

    @property
    def runbooks(self) -> RunbookLibrary:
        if self._runbooks is None:
            self._runbooks = RunbookLibrary.load(self.settings.governance.runbooks_dir)
        return self._runbooks

    def new_redactor(self) -> Redactor:
        """A redactor per log: it carries state across lines (a PEM block spans many)."""
        return Redactor(self._sensitive)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def environment(self, name: str | None) -> tuple[str, EnvironmentConfig]:
        return self.settings.environment(name)

    def airflow(self, name: str | None) -> AirflowClient:
        return self.clients.airflow(name)

    def selected(self, name: str | None) -> list[str]:
        """One named environment, or all of them when none is named."""
        if name is not None:
            return [self.environment(name)[0]]
        return list(self.settings.environments)

    async def each_environment(
        self, names: list[str], fn: Callable[[str], Awaitable[T]]
    ) -> list[tuple[str, T | PipelineSreError]]:
        """Run `fn` per environment concurrently; one environment being down does not sink the others."""

        async def guarded(env: str) -> T | PipelineSreError:
            try:
                return await fn(env)
            except PipelineSreError as err:
                return err

        results = await asyncio.gather(*(guarded(n) for n in names))
        return list(zip(names, results, strict=True))

    async def aclose(self) -> None:
        await self.clients.aclose()
        if self._governance is not None:
            self._governance.close()
            self._governance = None
            self._incidents = None
