from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline_sre.governance.service import GovernanceService
from tests.unit.governance.fakes import Clock, FakeExecutor, make_settings

ServiceFactory = Callable[..., GovernanceService]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def executors() -> dict[str, FakeExecutor]:
    return {
        "clear_failed_tasks": FakeExecutor("clear_failed_tasks"),
        "trigger_dag": FakeExecutor("trigger_dag"),
    }


@pytest.fixture
def make_service(
    tmp_path: Path, clock: Clock, executors: dict[str, FakeExecutor], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServiceFactory]:
    monkeypatch.delenv("PIPELINE_SRE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PIPELINE_SRE_DATA_DIR", raising=False)
    made: list[GovernanceService] = []

    def factory(**governance: Any) -> GovernanceService:
        settings = make_settings(tmp_path, **governance)
        svc = GovernanceService.from_settings(settings, executors=list(executors.values()), clock=clock)
        made.append(svc)
        return svc

    yield factory
    for svc in made:
        svc.close()


@pytest.fixture
def service(make_service: ServiceFactory) -> GovernanceService:
    return make_service()
