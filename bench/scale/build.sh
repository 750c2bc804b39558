#!/usr/bin/env bash
# Build the Airflow 3 scale fixture once (~100 s plus the Airflow install): build.sh [--force]
# A venv with apache-airflow (Python 3.12+: the api-server of CPython 3.11.7 segfaulted in the garbage
# collector on large list answers), `airflow db migrate`, 2,000 DAGs from one generated file parsed by
# `airflow dags reserialize`, then the runs and task instances in bulk (fixture.py populate).
# Does nothing when $SCALE_HOME/.built exists; --force rebuilds the DB (the venv is kept).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[[ ${1:-} == --force ]] && rm -f "$SCALE_BUILT"
T0=$(date +%s.%N)
mkdir -p "$SCALE_ROOT"

python312() {
  local c
  for c in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[23]*/bin/python3 /usr/bin/python3.12; do
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo "$c"; return; fi
  done
  echo "no Python 3.12+ found; the api-server may crash on large answers under 3.11" >&2
  echo python3
}
if [[ ! -x $SCALE_VENV/bin/python ]]; then "$(python312)" -m venv "$SCALE_VENV"; fi
PY=$SCALE_VENV/bin/python
have=$("$PY" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))' 2>/dev/null || true)
if [[ $have != "$SCALE_AIRFLOW_VERSION" ]]; then
  T=$(date +%s.%N)
  if command -v uv >/dev/null; then
    uv pip install --python "$PY" -q "apache-airflow==$SCALE_AIRFLOW_VERSION"
  else
    "$PY" -m pip install -q "apache-airflow==$SCALE_AIRFLOW_VERSION"
  fi
  echo "airflow $SCALE_AIRFLOW_VERSION installed: $(elapsed "$T")"
fi

if [[ -f $SCALE_BUILT && -f $SCALE_HOME/airflow.db ]]; then echo "built already: $(cat "$SCALE_BUILT")"; exit 0; fi
if [[ -f $SCALE_PIDS ]]; then echo "the fixture is running ($SCALE_PIDS): down.sh first" >&2; exit 1; fi

rm -rf "$SCALE_HOME"
mkdir -p "$SCALE_HOME/dags"
cat >"$SCALE_HOME/dags/scale_dags.py" <<'PYEOF'
"""pipeline-sre scale fixture: 2,000 small pipelines, extract >> transform >> load every 15 minutes."""
import datetime

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

for n in range(2000):
    owner = f"team_{n % 20:02d}"
    with DAG(
        dag_id=f"scale_dag_{n:04d}",
        description=f"scale fixture pipeline {n}",
        schedule="*/15 * * * *",
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["scale", owner],
        default_args={"owner": owner, "retries": 1, "retry_delay": datetime.timedelta(minutes=5)},
    ):
        steps = [BashOperator(task_id=name, bash_command=f"echo {name} {n}") for name in ("extract", "transform", "load")]
        steps[0] >> steps[1] >> steps[2]
PYEOF

T=$(date +%s.%N)
airflow db migrate >"$SCALE_ROOT/migrate.log" 2>&1 || { tail -20 "$SCALE_ROOT/migrate.log"; exit 1; }
echo "db migrate: $(elapsed "$T")"
T=$(date +%s.%N)
AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING airflow dags reserialize >"$SCALE_ROOT/reserialize.log" 2>&1 \
  || { tail -20 "$SCALE_ROOT/reserialize.log"; exit 1; }
parsed=$("$PY" -c '
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(*con.execute("select (select count(*) from dag where dag_id like \"scale_dag_%\" and not is_stale),"
                   " (select count(*) from serialized_dag), (select count(*) from import_error)").fetchone())
' "$SCALE_HOME/airflow.db")
echo "dags reserialize: $(elapsed "$T"); dags, serialized, import errors: $parsed"
[[ $parsed == "2000 2000 0" ]] || { echo "the DAG file did not parse into 2,000 DAGs" >&2; exit 1; }

"$PY" "$SCALE_LIB/fixture.py" populate --db "$SCALE_HOME/airflow.db"
echo "airflow $SCALE_AIRFLOW_VERSION, 2000 dags, 100000 runs (5000 failed), $(du -m "$SCALE_HOME/airflow.db" | cut -f1) MiB," \
  "built $(date -u +%FT%TZ) in $(elapsed "$T0")" >"$SCALE_BUILT"
echo "built: $(cat "$SCALE_BUILT")"
