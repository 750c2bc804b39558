"""Shared pytest setup: the anyio backend, the repo root importable (for `tests.fakes`), and the
session-scoped real Airflow 3 sandbox fixture (started only when an integration test asks for it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = ["tests.integration.sandbox_plugin", "tests.integration.prometheus_plugin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
