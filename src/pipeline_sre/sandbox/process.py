"""Start, probe and stop the sandbox's processes, each in its own process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from pipeline_sre.sandbox.paths import SandboxPaths


def start(argv: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def _reap(pid: int) -> None:
    """Collect an exited child of ours so it does not linger as a zombie (no-op for non-children)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) from /proc, or None if the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def alive(pid: int) -> bool:
    """True if ``pid`` runs and is an Airflow process (guards against a recycled pid)."""
    _reap(pid)
    if Path("/proc").is_dir():
        stat = _proc_stat(pid)
        if stat is None or stat[0] in ("Z", "X"):
            return False
        try:
            return b"airflow" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in the group."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_groups(pgids: list[int], grace: float = 15.0) -> None:
    """SIGTERM every group, wait up to ``grace`` seconds, then SIGKILL whatever is left."""
    for pgid in pgids:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    remaining = list(pgids)
    while remaining and time.monotonic() < deadline:
        for pgid in remaining:
            _reap(pgid)
        remaining = [pgid for pgid in remaining if group_members(pgid)]
        if remaining:
            time.sleep(0.25)
    for pgid in remaining:
        _signal_group(pgid, signal.SIGKILL)
    kill_deadline = time.monotonic() + 5.0
    while remaining and time.monotonic() < kill_deadline:
        for pgid in remaining:
            _reap(pgid)
        remaining = [pgid for pgid in remaining if group_members(pgid)]
        if remaining:
            time.sleep(0.1)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def read_state(paths: SandboxPaths) -> dict[str, object] | None:
    try:
        data = json.loads(paths.state_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def state_pids(state: dict[str, object] | None) -> dict[str, int]:
    raw = state.get("pids") if state else None
    if not isinstance(raw, dict):
        return {}
    return {str(name): int(pid) for name, pid in raw.items() if isinstance(pid, int)}


def write_state(paths: SandboxPaths, state: dict[str, object]) -> None:
    tmp = paths.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    tmp.replace(paths.state_file)


def clear_state(paths: SandboxPaths) -> None:
    paths.state_file.unlink(missing_ok=True)
