"""The sandbox's own venv with a pinned Apache Airflow, installed once (idempotent via a marker file)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time

from pipeline_sre.sandbox.constants import AIRFLOW_VERSION
from pipeline_sre.sandbox.errors import SandboxError
from pipeline_sre.sandbox.paths import SandboxPaths

PYTHON_ENV = "PIPELINE_SRE_SANDBOX_PYTHON"
# 3.12 first: Airflow 3.3.2's api-server under Python 3.11.7 segfaulted in GC on large list requests.
PREFERRED_PYTHONS: tuple[str, ...] = ("3.12", "3.11")


def _works(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import sys"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _candidates(version: str) -> list[str]:
    found: list[str] = []
    uv = shutil.which("uv")
    if uv:
        done = subprocess.run([uv, "python", "find", version], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == 0 and done.stdout.strip():
            found.append(done.stdout.strip())
    # pyenv installs that are not selected (the shim then refuses to run them).
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found.extend(sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}"))))
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    return found


def find_python() -> str:
    """An interpreter for the sandbox venv: ``$PIPELINE_SRE_SANDBOX_PYTHON``, else 3.12, else 3.11."""
    configured = os.environ.get(PYTHON_ENV)
    if configured:
        if not _works(configured):
            raise SandboxError(f"{PYTHON_ENV}={configured} does not run")
        return configured
    for version in PREFERRED_PYTHONS:
        for candidate in _candidates(version):
            if _works(candidate):
                return candidate
    if sys.version_info[:2] in ((3, 12), (3, 11)):
        return sys.executable
    raise SandboxError(
        f"no Python 3.12 or 3.11 found for the sandbox venv; install one or set {PYTHON_ENV} to an interpreter path"
    )


def installed_version(paths: SandboxPaths) -> str | None:
    try:
        return paths.install_marker.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def ensure_airflow(paths: SandboxPaths) -> float:
    """Create ``<sandbox>/venv`` and install the pinned Airflow; returns seconds spent (0 if already done)."""
    if installed_version(paths) == AIRFLOW_VERSION and paths.airflow_bin.exists():
        return 0.0
    uv = shutil.which("uv")
    if uv is None:
        raise SandboxError("`uv` is not on PATH; the sandbox installs Airflow with uv (pip install uv)")
    started = time.monotonic()
    paths.logs.mkdir(parents=True, exist_ok=True)
    python = find_python()
    steps = [
        [uv, "venv", "--allow-existing", "--python", python, str(paths.venv)],
        [
            uv,
            "pip",
            "install",
            "--python",
            str(paths.venv / "bin" / "python"),
            f"apache-airflow=={AIRFLOW_VERSION}",
        ],
    ]
    with paths.install_log.open("w", encoding="utf-8") as log:
        for argv in steps:
            log.write(f"$ {' '.join(argv)}\n")
            log.flush()
            done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise SandboxError(
                    f"installing apache-airflow=={AIRFLOW_VERSION} failed (exit {done.returncode}); "
                    f"see {paths.install_log}"
                )
    paths.install_marker.write_text(AIRFLOW_VERSION + "\n", encoding="utf-8")
    return time.monotonic() - started
