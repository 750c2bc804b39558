"""What ``Sandbox.up()`` and ``Sandbox.status()`` return."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SandboxInfo:
    url: str
    username: str
    password: str
    airflow_home: Path
    dags_folder: Path
    pids: dict[str, int]
    port: int
    root: Path
    inputs_dir: Path
    log_dir: Path
    passwords_file: Path
    runs: tuple[tuple[str, str], ...] = ()
    # Seconds since up() was called (installed, migrated, started, healthy, dags_parsed, triggered,
    # runs_terminal), plus install_seconds.
    timings: dict[str, float] = field(default_factory=dict)
    already_running: bool = False

    def to_dict(self, include_password: bool = False) -> dict[str, Any]:
        return {
            "url": self.url,
            "username": self.username,
            **({"password": self.password} if include_password else {}),
            "passwords_file": str(self.passwords_file),
            "airflow_home": str(self.airflow_home),
            "dags_folder": str(self.dags_folder),
            "inputs_dir": str(self.inputs_dir),
            "log_dir": str(self.log_dir),
            "port": self.port,
            "pids": dict(self.pids),
            "runs": [{"dag_id": d, "run_id": r} for d, r in self.runs],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "already_running": self.already_running,
        }


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    pid: int | None
    running: bool
    log: Path


@dataclass(frozen=True)
class RunStatus:
    dag_id: str
    run_id: str
    state: str


@dataclass(frozen=True)
class SandboxStatus:
    state: str  # "running" (all processes up and healthy), "degraded", or "stopped"
    url: str
    port: int
    airflow_home: Path
    processes: tuple[ProcessStatus, ...]
    health: dict[str, Any] | None = None
    dag_count: int | None = None
    runs: tuple[RunStatus, ...] = ()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "url": self.url,
            "port": self.port,
            "airflow_home": str(self.airflow_home),
            "processes": [
                {"name": p.name, "pid": p.pid, "running": p.running, "log": str(p.log)} for p in self.processes
            ],
            "health": self.health,
            "dag_count": self.dag_count,
            "runs": [{"dag_id": r.dag_id, "run_id": r.run_id, "state": r.state} for r in self.runs],
        }
