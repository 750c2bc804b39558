"""Rows for the Airflow 3 scale fixture (stdlib only; run with the fixture's own Python).

    python fixture.py populate --db airflow.db   # once, after `airflow db migrate` + `airflow dags reserialize`
    python fixture.py shift --db airflow.db      # at every start: move time to "now", re-mark the decoys
    python fixture.py stats --db airflow.db

Shape: 2,000 parsed DAGs `scale_dag_0000..1999` (extract >> transform >> load, every 15 min, retries=1), 50
scheduled runs each = 100,000 runs. The newest 3 runs of even DAGs and the newest 2 of odd ones failed
(5,000): transform failed on its second try (the first try is in task_instance_history), load is
upstream_failed. Every other run succeeded with three successful tasks. `shift` places the failed runs so
they ended 1 to 55 minutes ago and every other run more than two hours ago, then marks every 47th old
successful run failed (~2,000 decoys outside a one-hour window, which a correct count must leave out).
Column values follow rows that a real Airflow 3.3.2 scheduler with the LocalExecutor wrote for such a DAG.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

DAGS = 2000
RUNS_PER_DAG = 50
EVERY = timedelta(minutes=15)
RETRY_DELAY = timedelta(minutes=5)
OK_GAP = timedelta(hours=2, minutes=15)  # the newest successful slot lies this far before the first failed one
FAILED_AGE_MIN, FAILED_AGE_MAX = 60, 55 * 60  # seconds: failed runs end inside [now-55 min, now-1 min]
OK_AGE_MIN = 2 * 3600 + 60  # seconds: every other run ended before now-2 h
DECOY_MODULUS, DECOY_REMAINDER = 47, 3
STAMP = "%Y-%m-%d %H:%M:%S.%f"  # Airflow's UtcDateTime in SQLite: naive UTC text
EMPTY_PICKLE = bytes.fromhex("80057D942E")  # executor_config of {} as the scheduler stores it
WEIGHT = {"extract": 3, "transform": 2, "load": 1}

# Every timestamp column that `shift` moves.
TIMES = {
    "dag_run": (
        "queued_at",
        "logical_date",
        "start_date",
        "end_date",
        "data_interval_start",
        "data_interval_end",
        "run_after",
        "last_scheduling_decision",
        "created_at",
        "updated_at",
    ),
    "task_instance": ("start_date", "end_date", "queued_dttm", "scheduled_dttm", "last_heartbeat_at", "updated_at"),
    "task_instance_history": ("start_date", "end_date", "queued_dttm", "scheduled_dttm", "updated_at"),
    "dag": (
        "last_parsed_time",
        "next_dagrun",
        "next_dagrun_data_interval_start",
        "next_dagrun_data_interval_end",
        "next_dagrun_create_after",
    ),
    "dag_version": ("created_at", "last_updated"),
    "serialized_dag": ("created_at", "last_updated"),
    "dag_code": ("created_at", "last_updated"),
    "job": ("start_date", "end_date", "latest_heartbeat"),
}


def text(t: datetime) -> str:
    return t.strftime(STAMP)


def parse(s: str) -> datetime:
    return datetime.strptime(s, STAMP)


def open_db(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("cache_size=-1000000", "synchronous=OFF", "temp_store=MEMORY"):
        con.execute(f"PRAGMA {pragma}")  # bulk rewrites of a 400 MB file; a crash means: rebuild
    return con


def check_keys(con: sqlite3.Connection) -> None:
    broken = con.execute("PRAGMA foreign_key_check").fetchmany(3)
    if broken:
        sys.exit(f"foreign keys broken: {broken}")


def uuid7(at: datetime, rng: random.Random) -> str:
    """A uuid7 in Airflow's storage form (32 hex digits), its time part taken from `at`."""
    ms = int(at.replace(tzinfo=UTC).timestamp() * 1000) & ((1 << 48) - 1)
    value = ms << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return f"{value:032x}"


# -- populate --------------------------------------------------------------------------------------------


class RunMaker:
    """Builds one scheduled run (CronTriggerTimetable: logical date = interval = run_after = the slot)."""

    def __init__(self, rng: random.Random, template_id: int) -> None:
        self.rng = rng
        self.template_id = template_id

    def after(self, t: datetime, low: float, high: float) -> datetime:
        return t + timedelta(seconds=self.rng.uniform(low, high))

    def task(
        self,
        ids: dict[str, Any],
        task_id: str,
        state: str,
        try_number: int,
        times: tuple[datetime, datetime, datetime],
        *,
        ran: bool = True,
    ) -> dict[str, Any]:
        scheduled, began, ended = times
        return {
            **ids,
            "task_id": task_id,
            "map_index": -1,
            "start_date": text(began),
            "end_date": text(ended),
            "duration": round((ended - began).total_seconds(), 3),
            "state": state,
            "try_number": try_number,
            "max_tries": 1,
            # localhost: a log request for a made-up worker fails at once instead of waiting on DNS
            "hostname": "localhost" if ran else None,
            "unixname": "airflow",
            "pool": "default_pool",
            "pool_slots": 1,
            "queue": "default",
            "priority_weight": WEIGHT[task_id],
            "operator": "BashOperator",
            "custom_operator_name": "BashOperator",
            "queued_dttm": text(scheduled + timedelta(milliseconds=12)) if ran else None,
            "scheduled_dttm": text(scheduled) if ran else None,
            "queued_by_job_id": 1 if ran else None,
            "pid": self.rng.randint(1000, 60000) if ran else None,
            "executor": None,
            "executor_config": EMPTY_PICKLE,
            "updated_at": text(ended + timedelta(milliseconds=8)),
            "rendered_map_index": None,
            "span_status": "not_started",
            "external_executor_id": None,
            "trigger_id": None,
            "trigger_timeout": None,
            "next_method": None,
            "next_kwargs": "null" if ran else None,
            "task_display_name": task_id,
            "retry_delay_override": None,
            "retry_reason": None,
        }

    def step(self, previous_end: datetime, low: float, high: float) -> tuple[datetime, datetime, datetime]:
        scheduled = self.after(previous_end, 0.02, 3.0)
        began = self.after(scheduled, 0.1, 1.5)
        return scheduled, began, self.after(began, low, high)

    def run(
        self, dag_id: str, version: str, slot: datetime, failed: bool
    ) -> tuple[datetime, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        queued = self.after(slot, 1, 120)
        began = self.after(queued, 0.01, 0.05)
        carrier = json.dumps(
            {
                "__var": {"traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-00"},
                "__type": "dict",
            }
        )
        run_id = f"scheduled__{slot:%Y-%m-%dT%H:%M:%S}+00:00"
        ids = {"dag_id": dag_id, "run_id": run_id, "dag_version_id": version, "context_carrier": carrier}
        tis: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []

        def live(task: dict[str, Any], at: datetime) -> dict[str, Any]:
            return {"id": uuid7(at, rng), **task, "last_heartbeat_at": task["end_date"] if task["pid"] else None}

        times = self.step(began, 5, 60)
        tis.append(live(self.task(ids, "extract", "success", 1, times), queued))
        if failed:
            first = self.step(times[2], 5, 90)
            tried = self.task(ids, "transform", "failed", 1, first)
            tried["duration"] = round((first[2] - first[1]).total_seconds(), 6)
            history.append({"task_instance_id": uuid7(queued, rng), **tried})
            second = self.step(first[2] + RETRY_DELAY, 5, 90)
            tis.append(live(self.task(ids, "transform", "failed", 2, second), second[0]))
            mark = self.after(second[2], 0.5, 2.0)
            tis.append(live(self.task(ids, "load", "upstream_failed", 0, (mark, mark, mark), ran=False), queued))
            ended = self.after(mark, 0.05, 1.0)
        else:
            times = self.step(times[2], 10, 120)
            tis.append(live(self.task(ids, "transform", "success", 1, times), queued))
            times = self.step(times[2], 5, 60)
            tis.append(live(self.task(ids, "load", "success", 1, times), queued))
            ended = self.after(times[2], 0.5, 2.0)
        row = {
            "dag_id": dag_id,
            "run_id": run_id,
            "state": "failed" if failed else "success",
            "queued_at": text(queued),
            "logical_date": text(slot),
            "start_date": text(began),
            "end_date": text(ended),
            "data_interval_start": text(slot),
            "data_interval_end": text(slot),
            "run_after": text(slot),
            "last_scheduling_decision": text(ended - timedelta(microseconds=1200)),
            "created_at": text(queued + timedelta(milliseconds=3)),
            "updated_at": text(ended + timedelta(microseconds=600)),
            "creating_job_id": 1,
            "run_type": "scheduled",
            "triggered_by": "TIMETABLE",
            "triggering_user_name": None,
            "conf": "{}",
            "log_template_id": self.template_id,
            "clear_number": 0,
            "backfill_id": None,
            "bundle_version": None,
            "scheduled_by_job_id": None,
            "context_carrier": carrier,
            "span_status": "not_started",
            "created_dag_version_id": version,
            "partition_key": None,
            "partition_date": None,
        }
        return queued, row, tis, history


def insert(con: sqlite3.Connection, table: str, rows: Iterator[dict[str, Any]]) -> int:
    first = next(rows, None)
    if first is None:
        return 0
    cols = list(first)
    sql = f"insert into {table} ({','.join(cols)}) values ({','.join('?' * len(cols))})"
    count = 0

    def values() -> Iterator[list[Any]]:
        nonlocal count
        for row in (first, *rows):
            count += 1
            yield [row[c] for c in cols]

    con.executemany(sql, values())
    return count


def populate(db: str) -> None:
    began = time.monotonic()
    con = open_db(db)
    if con.execute("select count(*) from dag_run").fetchone()[0]:
        sys.exit("dag_run already holds rows: populate runs once, on a fresh DB")
    versions = dict(con.execute("select dag_id, id from dag_version where dag_id like 'scale_dag_%'").fetchall())
    if len(versions) != DAGS:
        sys.exit(f"{len(versions)} serialized scale_dag_* DAGs, expected {DAGS}: did reserialize run?")
    template = con.execute("select max(id) from log_template").fetchone()[0]
    if template is None:
        sys.exit("no log_template row: run `airflow db migrate` first")
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    anchor = now - timedelta(minutes=now.minute % 15)
    maker = RunMaker(random.Random(20261123), template)
    runs = []
    for i in range(DAGS):
        dag_id = f"scale_dag_{i:04d}"
        failing = 3 if i % 2 == 0 else 2
        ok_slots = [anchor - OK_GAP - EVERY * k for k in reversed(range(RUNS_PER_DAG - failing))]
        bad_slots = [anchor - EVERY * (failing - k) for k in range(failing)]
        runs += [maker.run(dag_id, versions[dag_id], s, False) for s in ok_slots]
        runs += [maker.run(dag_id, versions[dag_id], s, True) for s in bad_slots]
    runs.sort(key=lambda r: r[0])  # ids grow with time, as a scheduler inserts them
    oldest = anchor - OK_GAP - EVERY * (RUNS_PER_DAG + 2)
    con.execute("BEGIN")
    n_runs = insert(con, "dag_run", (r[1] for r in runs))
    n_tis = insert(con, "task_instance", (t for r in runs for t in r[2]))
    n_history = insert(con, "task_instance_history", (h for r in runs for h in r[3]))
    con.execute("delete from job where id = 1")  # the scheduler job named by creating_job_id/queued_by_job_id
    con.execute(
        "insert into job (id, dag_id, state, job_type, start_date, end_date, latest_heartbeat, executor_class,"
        " hostname, unixname) values (1, NULL, 'success', 'SchedulerJob', ?, ?, ?, NULL, 'localhost', 'airflow')",
        (
            text(oldest - timedelta(minutes=5)),
            text(anchor - timedelta(seconds=30)),
            text(anchor - timedelta(seconds=31)),
        ),
    )
    parsed = text(oldest - timedelta(minutes=10))
    for table in ("dag_version", "serialized_dag", "dag_code"):
        con.execute(f"update {table} set created_at = ?, last_updated = ?", (parsed, parsed))
    next_slot = text(anchor)
    con.execute(
        "update dag set is_paused = 0, is_stale = 0, last_parsed_time = ?, next_dagrun = ?,"
        " next_dagrun_data_interval_start = ?, next_dagrun_data_interval_end = ?, next_dagrun_create_after = ?"
        " where dag_id like 'scale_dag_%'",
        (text(anchor - timedelta(seconds=45)), next_slot, next_slot, next_slot, next_slot),
    )
    con.execute("COMMIT")
    check_keys(con)
    con.execute("ANALYZE")
    con.close()
    print(
        f"populate: {n_runs} runs, {n_tis} task instances, {n_history} earlier tries; "
        f"newest slot {next_slot}; {time.monotonic() - began:.1f} s"
    )


# -- shift -------------------------------------------------------------------------------------------------


def moved(col: str, seconds: int) -> str:
    """SQL moving a timestamp by whole seconds; the '.ffffff' tail is kept as it is (SQLite's date
    functions keep milliseconds only and would round)."""
    return (
        f"CASE WHEN {col} IS NULL THEN NULL ELSE "
        f"strftime('%Y-%m-%d %H:%M:%S', substr({col}, 1, 19), '{seconds:+d} seconds') || substr({col}, 20) END"
    )


def moved_run_id(col: str, seconds: int) -> str:
    """scheduled__YYYY-MM-DDTHH:MM:SS+00:00 with its time moved."""
    return f"'scheduled__' || strftime('%Y-%m-%dT%H:%M:%S', substr({col}, 12, 19), '{seconds:+d} seconds') || '+00:00'"


def pick_offset(con: sqlite3.Connection, now: datetime) -> int:
    ends = con.execute("select min(end_date), max(end_date) from dag_run where state = 'failed'").fetchone()
    low_end, high_end = parse(ends[0]), parse(ends[1])
    other = parse(con.execute("select max(end_date) from dag_run where state != 'failed'").fetchone()[0])
    least = (now - timedelta(seconds=FAILED_AGE_MAX) - low_end).total_seconds()
    most = min(
        (now - timedelta(seconds=FAILED_AGE_MIN) - high_end).total_seconds(),
        (now - timedelta(seconds=OK_AGE_MIN) - other).total_seconds(),
    )
    if least > most:
        sys.exit(f"failed runs ending {low_end}..{high_end} do not fit the window")
    on_schedule = int(most) // 900 * 900  # logical dates stay on the */15 schedule where that fits
    return on_schedule if on_schedule >= least else int(most)


def shift(db: str) -> None:
    began = time.monotonic()
    now = datetime.now(UTC).replace(tzinfo=None)
    con = open_db(db)
    con.execute("create table if not exists scale_decoy (id integer primary key)")
    con.execute("BEGIN")
    # Decoys are put back first, so the offset is chosen from the true shape.
    con.execute("update dag_run set state = 'success' where id in (select id from scale_decoy)")
    con.execute("delete from scale_decoy")
    seconds = pick_offset(con, now)
    if seconds:
        # (dag_id, run_id) and (dag_id, logical_date) are unique row by row in SQLite: step through a
        # '~' prefix that no real value has, then move the values.
        con.execute("update dag_run set run_id = '~' || run_id, logical_date = '~' || logical_date")
        for table in ("task_instance", "task_instance_history"):
            con.execute(f"update {table} set run_id = '~' || run_id")
        sets = [f"{c} = {moved(c, seconds)}" for c in TIMES["dag_run"] if c != "logical_date"]
        sets += [
            f"logical_date = {moved('substr(logical_date, 2)', seconds)}",
            f"run_id = {moved_run_id('substr(run_id, 2)', seconds)}",
        ]
        con.execute(f"update dag_run set {', '.join(sets)}")
        for table in ("task_instance", "task_instance_history"):
            sets = [f"{c} = {moved(c, seconds)}" for c in TIMES[table]]
            sets.append(f"run_id = {moved_run_id('substr(run_id, 2)', seconds)}")
            con.execute(f"update {table} set {', '.join(sets)}")
        for table in ("dag", "dag_version", "serialized_dag", "dag_code", "job"):
            con.execute(f"update {table} set {', '.join(f'{c} = {moved(c, seconds)}' for c in TIMES[table])}")
    con.execute(
        "insert into scale_decoy select id from dag_run where state = 'success' and id % ? = ?",
        (DECOY_MODULUS, DECOY_REMAINDER),
    )
    con.execute("update dag_run set state = 'failed' where id in (select id from scale_decoy)")
    con.execute("COMMIT")
    check_keys(con)
    decoys = con.execute("select count(*) from scale_decoy").fetchone()[0]
    newest, oldest = (
        parse(v)
        for v in con.execute(
            "select max(end_date), min(end_date) from dag_run"
            " where state = 'failed' and id not in (select id from scale_decoy)"
        ).fetchone()
    )
    other = parse(
        con.execute(
            "select max(end_date) from dag_run where state != 'failed' or id in (select id from scale_decoy)"
        ).fetchone()[0]
    )
    con.close()

    def age(t: datetime) -> float:
        return (now - t).total_seconds() / 60

    print(
        f"shift: {seconds:+d} s; failed runs ended {age(newest):.1f}..{age(oldest):.1f} min ago; "
        f"{decoys} decoys; every other run ended over {age(other):.0f} min ago; {time.monotonic() - began:.1f} s"
    )
    if not (age(newest) >= FAILED_AGE_MIN / 60 and age(oldest) <= FAILED_AGE_MAX / 60 and age(other) > 120):
        sys.exit("shift: the failed runs are not where they should be")


def stats(db: str) -> None:
    con = open_db(db)
    for label, sql in (
        ("dags (count, paused)", "select count(*), sum(is_paused) from dag"),
        ("runs by state", "select state, count(*) from dag_run group by state"),
        ("decoys", "select count(*) from scale_decoy"),
        ("failed ends", "select min(end_date), max(end_date) from dag_run where state = 'failed'"),
        ("task instances", "select task_id, state, try_number, count(*) from task_instance group by 1, 2, 3"),
        ("earlier tries", "select task_id, state, try_number, count(*) from task_instance_history group by 1, 2, 3"),
    ):
        try:
            print(f"{label}: {con.execute(sql).fetchall()}")
        except sqlite3.OperationalError as err:
            print(f"{label}: {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("populate", "shift", "stats"))
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    {"populate": populate, "shift": shift, "stats": stats}[args.command](args.db)


if __name__ == "__main__":
    main()
