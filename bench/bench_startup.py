"""CLI start-up benchmark: wall time of `pipeline-sre` commands against `python -c pass`, in the same run.

Run: .venv/bin/python bench/bench_startup.py [--baseline REV]   (about a minute; writes bench/results/startup.md)

Each command runs once to warm up, then ROUNDS times as a fresh process (stdout to /dev/null); the table gives
the median and the spread, what the interpreter alone costs, and the same command from the source of REV
(default 8d4ae39, the main before the entry point's fast path; `git archive` into a temporary folder, run with
the same interpreter). Every process may write bytecode (.pyc), as an installed command does after its first
run, even where the caller sets PYTHONDONTWRITEBYTECODE. A second block shows where the time of one process
goes (`-X importtime`, the largest top-level imports).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "startup.md"
ROUNDS = 11
TARGET_S = 0.3
EXE = str(Path(sys.executable).with_name("pipeline-sre"))
# Bytecode may be written (see the module docstring); the rest of the caller's environment is kept.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
LOG = (
    "INFO - Running task load_orders\n"
    "Traceback (most recent call last):\n"
    '  File "/opt/airflow/dags/load.py", line 12, in load\n'
    "    row['customer_id']\n"
    "KeyError: 'customer_id'\n"
)


def wall(cmd: list[str], env: dict[str, str]) -> list[float]:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    out = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        out.append(time.perf_counter() - began)
    return out


def import_profile(cmd: list[str], top: int = 8) -> list[tuple[str, int]]:
    """The largest imports that the command's own process makes, cumulative microseconds."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, env=ENV, check=False
    ).stderr.splitlines()
    rows = []
    for line in done:
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2]
            depth = (len(name) - len(name.lstrip())) // 2
            if depth <= 1:
                rows.append((name.strip(), int(parts[1])))
    return sorted(rows, key=lambda r: -r[1])[:top]


def baseline_source(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline", default="8d4ae39", help="git revision to compare with")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    log = work / "small.log"
    log.write_text(LOG)
    logs = work / "logs"
    logs.mkdir()
    for name in ("a.log", "b.log", "c.log"):
        (logs / name).write_text(LOG)
    old_src = baseline_source(args.baseline, work)
    old_cli = [
        sys.executable,
        "-c",
        "import sys; from pipeline_sre.surfaces.cli.app import main; sys.argv[0] = 'pipeline-sre'; main()",
    ]
    old_env = {**ENV, "PYTHONPATH": str(old_src)}
    cases: list[tuple[str, list[str], list[str]]] = [
        ("python -c pass (the floor)", [sys.executable, "-c", "pass"], []),
        ("--help", [EXE, "--help"], ["--help"]),
        ("diagnose FILE (5-line log)", [EXE, "diagnose", str(log)], ["diagnose", str(log)]),
        ("diagnose DIR (3 such logs, JSON lines)", [EXE, "diagnose", str(logs)], ["diagnose", str(logs)]),
        ("redact FILE", [EXE, "redact", str(log)], ["redact", str(log)]),
        ("signatures FILE", [EXE, "signatures", str(log)], ["signatures", str(log)]),
        ("diagnose --help (typer)", [EXE, "diagnose", "--help"], ["diagnose", "--help"]),
        ("approvals --help (typer)", [EXE, "approvals", "--help"], ["approvals", "--help"]),
    ]
    load_before = os.getloadavg()[0]
    rows = []
    floor = 0.0
    for label, cmd, old_args in cases:
        walls = sorted(wall(cmd, ENV))
        med = statistics.median(walls)
        floor = floor or med
        before = statistics.median(wall([*old_cli, *old_args], old_env)) if old_args else None
        verdict = "" if cmd[0] == sys.executable else ("yes" if med <= TARGET_S else "NO")
        rows.append(
            f"| {label} | {med * 1000:,.0f} | {walls[0] * 1000:,.0f}–{walls[-1] * 1000:,.0f} | "
            f"{(med - floor) * 1000:,.0f} | "
            + (f"{before * 1000:,.0f} | {before / med:.1f}x" if before else " | ")
            + f" | {verdict} |"
        )
    shutil.rmtree(work, ignore_errors=True)
    profile = import_profile([EXE, "diagnose", str(log)])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"# CLI start-up benchmark ({stamp})\n\n"
        f"`{Path(sys.executable).name} bench/bench_startup.py`, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs visible, 1-min load average {load_before:.2f} before and "
        f"{os.getloadavg()[0]:.2f} after (the machine is shared). Median of {ROUNDS} fresh processes each, after "
        "one warm-up run (bytecode cached, as for an installed command after its first run).\n\n"
        f"| `pipeline-sre` command | wall ms (median) | min–max ms | above `python -c pass` ms | "
        f"{args.baseline} ms (same run) | ratio | ≤ {TARGET_S * 1000:.0f} ms |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "## Where `diagnose FILE` spends its start-up (largest imports, cumulative)\n\n"
        "| module | ms |\n|---|---|\n" + "\n".join(f"| {name} | {us / 1000:,.0f} |" for name, us in profile) + "\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(body)
    print(body)
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
