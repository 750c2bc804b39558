"""Where the sandbox keeps things: everything lives under ``<data_dir>/sandbox/``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "PIPELINE_SRE_DATA_DIR"
EXAMPLE_DAGS_ENV = "PIPELINE_SRE_EXAMPLE_DAGS"
INPUTS_ENV = "PIPELINE_SRE_SANDBOX_INPUTS"


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("pipeline-sre"))


def example_dags_source() -> Path:
    """The repo's ``examples/dags`` (or ``$PIPELINE_SRE_EXAMPLE_DAGS``)."""
    configured = os.environ.get(EXAMPLE_DAGS_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    # src/pipeline_sre/sandbox/paths.py -> repo root is three levels above the package dir.
    return Path(__file__).resolve().parents[3] / "examples" / "dags"


@dataclass(frozen=True)
class SandboxPaths:
    root: Path

    @classmethod
    def under(cls, data_dir: Path) -> SandboxPaths:
        return cls((data_dir / "sandbox").resolve())

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def airflow_bin(self) -> Path:
        return self.venv / "bin" / "airflow"

    @property
    def install_marker(self) -> Path:
        return self.venv / ".pipeline-sre-airflow-version"

    @property
    def install_log(self) -> Path:
        return self.logs / "install.log"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow_home"

    @property
    def airflow_cfg(self) -> Path:
        return self.airflow_home / "airflow.cfg"

    @property
    def database(self) -> Path:
        return self.airflow_home / "airflow.db"

    @property
    def migrated_marker(self) -> Path:
        return self.airflow_home / ".migrated"

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def passwords_file(self) -> Path:
        return self.root / "simple_auth_manager_passwords.json"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def process_log(self, name: str) -> Path:
        return self.logs / f"{name}.log"
