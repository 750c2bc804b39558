"""pytest plugin: a session-scoped, real Airflow 3 sandbox with every example DAG run to completion.

Load it with ``pytest_plugins = ["tests.integration.sandbox_plugin"]``. The sandbox lives in
``$PIPELINE_SRE_TEST_SANDBOX_DIR`` (default ``<tmp>/pipeline-sre-test-sandbox``) so its venv install is
reused between sessions, while its Airflow DB, logs and inputs are reset at the start of each session. It
listens on ``$PIPELINE_SRE_TEST_SANDBOX_PORT`` (default 28090, away from a developer's 28080 sandbox).
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from pipeline_sre.sandbox import Sandbox, SandboxInfo

SANDBOX_DIR_ENV = "PIPELINE_SRE_TEST_SANDBOX_DIR"
SANDBOX_PORT_ENV = "PIPELINE_SRE_TEST_SANDBOX_PORT"
DEFAULT_TEST_PORT = 28090
UP_TIMEOUT = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lock(directory: Path) -> IO[str] | None:
    """Hold an exclusive lock on ``directory`` for the session; None if another session holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = (directory / ".pytest-session.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@pytest.fixture(scope="session")
def sandbox_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The ``Sandbox`` object behind the ``sandbox`` fixture (for status/trigger/wait/client calls)."""
    directory = Path(os.environ.get(SANDBOX_DIR_ENV) or Path(tempfile.gettempdir()) / "pipeline-sre-test-sandbox")
    lock = _lock(directory)
    port = int(os.environ.get(SANDBOX_PORT_ENV, DEFAULT_TEST_PORT))
    if lock is None:  # another test session uses the shared dir (and port): fall back to private ones
        directory = tmp_path_factory.mktemp("sandbox")
        port = _free_port()
    manager = Sandbox(directory, port=port)
    manager.reset()  # fresh Airflow DB, logs and inputs; the installed venv is kept
    try:
        yield manager
    finally:
        manager.down()
        if lock is not None:
            lock.close()


@pytest.fixture(scope="session")
def sandbox(sandbox_manager: Sandbox) -> SandboxInfo:
    """A running sandbox whose example runs (one per example DAG, ``info.runs``) have all finished."""
    return sandbox_manager.up(trigger=True, wait_failures=True, timeout=UP_TIMEOUT)
