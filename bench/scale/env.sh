# Sourced by build.sh, up.sh and down.sh: where the scale fixture lives and how its Airflow is set up.
SCALE_AIRFLOW_VERSION=3.3.2
SCALE_ROOT=${SCALE_ROOT:-${TMPDIR:-/tmp}/pipeline-sre-airflow-scale}
SCALE_VENV=$SCALE_ROOT/venv
SCALE_HOME=$SCALE_ROOT/home
SCALE_PIDS=$SCALE_ROOT/pids
SCALE_BUILT=$SCALE_HOME/.built
SCALE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

export AIRFLOW_HOME=$SCALE_HOME
export AIRFLOW__CORE__DAGS_FOLDER=$SCALE_HOME/dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$SCALE_HOME/airflow.db
# Fixture-only secrets, long enough that PyJWT does not warn; the server listens on 127.0.0.1 only.
export AIRFLOW__API_AUTH__JWT_SECRET=pipeline-sre-scale-fixture-jwt-secret-loopback-only-0123456789abcdef
export AIRFLOW__API__SECRET_KEY=pipeline-sre-scale-fixture-secret
export AIRFLOW__API__HOST=127.0.0.1
export PATH=$SCALE_VENV/bin:$PATH

# scale_ports PORT: the counting proxy listens on PORT, the api-server on PORT+1.
scale_ports() {
  export AIRFLOW__API__PORT=$(($1 + 1))
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$(($1 + 1))/execution/
}

elapsed() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f} s")' "$1"; }
