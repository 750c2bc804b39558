"""Replicas benchmark: 1,000 failures handled by one `watch` replica, then by three sharing one PostgreSQL
store, in the same run.

Run: .venv/bin/python bench/bench_replicas.py [--failures 1000] [--replicas 3]
Writes bench/results/replicas.md.

A fake Airflow 3 (tests/fakes/airflow_api.py) in its own process serves 200 DAGs whose runs include the
failures, all ended in the last hour, each with a failure log. Each replica is the real `pipeline-sre watch`
command (a cycle every 2 s, dry_run governance so nothing is written to the fake). Measured per setup:
seconds until every failed run is linked to an incident, notifications sent (pages, counted by a local
webhook receiver), store load (PostgreSQL transactions and rows inserted, from pg_stat_database), and
the correctness checks (claims per run, open incidents per key).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT / "src", ROOT):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

import psycopg  # noqa: E402
import yaml  # noqa: E402

PG_ADMIN = os.environ.get("PIPELINE_SRE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "pipeline_sre_bench"
RESULTS = ROOT / "bench" / "results" / "replicas.md"


class Pages:
    """Counts webhook notifications (pages) by event."""

    def __init__(self) -> None:
        self.events: dict[str, int] = {}
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                event = json.loads(body or b"{}").get("event", "?")
                pages.events[event] = pages.events.get(event, 0) + 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def fresh_database() -> str:
    with psycopg.connect(PG_ADMIN + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')
    with psycopg.connect(f"{PG_ADMIN}/{DB}", autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return f"{PG_ADMIN.replace('postgresql://', 'postgresql+psycopg://')}/{DB}"


def store_counters() -> tuple[int, int]:
    with psycopg.connect(f"{PG_ADMIN}/{DB}") as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted FROM pg_stat_database WHERE datname = %s", (DB,)
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def handled_and_checks() -> tuple[int, int, int]:
    """(runs linked to an incident, runs claimed more than once, keys with more than one open incident)."""
    with psycopg.connect(f"{PG_ADMIN}/{DB}") as conn:
        linked = conn.execute("SELECT count(*) FROM incident_runs WHERE incident_id IS NOT NULL").fetchone()
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM incident_runs GROUP BY environment, subject, run_id "
            "HAVING count(*) > 1) d"
        ).fetchone()
        dup = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM incidents WHERE state NOT IN ('resolved', 'escalated', 'closed') "
            "GROUP BY dedup_key HAVING count(*) > 1) d"
        ).fetchone()
    return int(linked[0] if linked else 0), int(twice[0] if twice else 0), int(dup[0] if dup else 0)


def start_fake(failures: int) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "tests.fakes.airflow_api", "--dags", "200", "--runs", str(4 * failures)]
    cmd += ["--failed-last-hour", str(failures), "--seed", "7"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, str(json.loads(proc.stdout.readline())["url"])


def run_setup(replicas: int, failures: int, fake_url: str, pages: Pages, tmp: Path) -> dict[str, Any]:
    store_url = fresh_database()
    airflow = {"url": fake_url, "username_env": "PSRE_B_USER", "password_env": "PSRE_B_PASS"}
    policy = {"allow_dags": ["*"], "max_actions_per_dag_per_hour": 1000}
    config = {
        "environments": {"prod": {"airflow": airflow}},
        "data_dir": str(tmp / f"data-{replicas}"),
        "store": {"url": store_url},
        "governance": {"mode": "dry_run", "approvers": ["alice"], "environments": {"prod": policy}},
        "autopilot": {"window_minutes": 90, "interval_seconds": 2},
        "notifications": {"log": False, "webhooks": [{"url": pages.url}]},
    }
    path = tmp / f"config-{replicas}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PIPELINE_SRE_CONFIG": str(path), "PSRE_B_USER": "admin", "PSRE_B_PASS": "admin"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    from pipeline_sre.settings.config import load_settings
    from pipeline_sre.store.db import open_database

    open_database(load_settings(path)).dispose()  # the schema, before the replicas race to create it
    pages.events.clear()
    xact0, rows0 = store_counters()
    began = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-m", "pipeline_sre", "watch", "--interval", "2"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(replicas)
    ]  # fmt: skip  # one `watch` per replica
    linked = 0
    try:
        while time.perf_counter() - began < 1800:
            linked, _, _ = handled_and_checks()
            if linked >= failures:
                break
            time.sleep(1)
        seconds = time.perf_counter() - began
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    xact1, rows1 = store_counters()
    linked, twice, dup = handled_and_checks()
    return {
        "replicas": replicas,
        "seconds": round(seconds, 1),
        "handled": linked,
        "pages": sum(pages.events.values()),
        "pages_by_event": dict(sorted(pages.events.items())),
        "store_transactions": xact1 - xact0,
        "store_rows_inserted": rows1 - rows0,
        "runs_claimed_twice": twice,
        "keys_with_two_open_incidents": dup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args()
    fake, url = start_fake(args.failures)
    pages = Pages()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in sorted({1, args.replicas}):
                rows.append(run_setup(n, args.failures, url, pages, Path(tmp)))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        pages.close()
        fake.terminate()
        fake.wait(10)
    lines = [
        "# Replicas benchmark",
        "",
        f"About {args.failures} failed runs (the fake draws failures at random) on a fake Airflow 3 (own process,",
        "loopback HTTP), the real `watch` command per replica, one PostgreSQL store, dry_run governance;",
        "measured on this 2-core machine in one run.",
        "",
        "| replicas | seconds to handle all | handled | pages sent | store transactions | rows inserted "
        "| runs claimed twice | keys with 2 open incidents |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['replicas']} | {r['seconds']} | {r['handled']} | {r['pages']} {r['pages_by_event']} | "
            f"{r['store_transactions']} | {r['store_rows_inserted']} | {r['runs_claimed_twice']} | "
            f"{r['keys_with_two_open_incidents']} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
