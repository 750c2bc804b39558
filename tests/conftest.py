"""Shared pytest setup: the anyio backend, the repo root importable (for `tests.fakes`), and the
session-scoped real Airflow 3 sandbox fixture (started only when an integration test asks for it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
_INTEGRATION = Path(__file__).resolve().parent / "integration"
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = ["tests.integration.sandbox_plugin", "tests.integration.prometheus_plugin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """scripts/test runs two pytest-xdist workers (--dist loadgroup): every test of tests/integration goes to one of
    them, in file order, since they share one sandbox Airflow, one PostgreSQL database and one Prometheus and wait on
    them far more than they compute; the unit tests spread over both meanwhile."""
    for item in items:
        if _INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("real-services"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_from_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data dir, whatever this machine's environment says: nothing is read from
    or written to a user's store, config or token."""
    monkeypatch.setenv("PIPELINE_SRE_DATA_DIR", str(tmp_path / "psre-data"))
    for name in ("PIPELINE_SRE_CONFIG", "PIPELINE_SRE_DATABASE_URL", "PIPELINE_SRE_TOKEN", "PIPELINE_SRE_AIRFLOW_URL"):
        monkeypatch.delenv(name, raising=False)
