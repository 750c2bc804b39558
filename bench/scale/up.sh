#!/usr/bin/env bash
# Start the scale fixture: up.sh PORT (builds it first if needed)
# Moves the fixture's time to now (failed runs ended 1-55 min ago, decoys re-marked), then starts the
# real `airflow api-server` on 127.0.0.1:PORT+1 and the request-counting proxy on 127.0.0.1:PORT, each
# in a process group of its own, recorded in $SCALE_PIDS for down.sh. Ready when /api/v2/version answers
# through the proxy; the proxy's count is zeroed then.
set -euo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$LIB/env.sh"
PORT=${1:?usage: up.sh PORT}
[[ $PORT =~ ^[0-9]+$ ]] || { echo "PORT must be a number" >&2; exit 2; }
scale_ports "$PORT"
[[ -f $SCALE_PIDS ]] && bash "$LIB/down.sh"
for p in "$PORT" "$((PORT + 1))"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is taken" >&2; exit 1; fi
done
bash "$LIB/build.sh"
PY=$SCALE_VENV/bin/python
"$PY" "$LIB/fixture.py" shift --db "$SCALE_HOME/airflow.db"

T=$(date +%s.%N)
# Job control on: each background job leads a process group of its own, whose id is its pid ($!).
# (setsid would fork when the caller already leads a group, and the recorded id would be a dead one.)
set -m
airflow api-server >"$SCALE_ROOT/api-server.log" 2>&1 </dev/null &
api=$!
"$PY" "$LIB/proxy.py" "$PORT" "$((PORT + 1))" >"$SCALE_ROOT/proxy.log" 2>&1 </dev/null &
proxy=$!
set +m
printf 'api-server %s\nproxy %s\n' "$api" "$proxy" >"$SCALE_PIDS"
for _ in $(seq 600); do
  if ! kill -0 "$api" 2>/dev/null || ! kill -0 "$proxy" 2>/dev/null; then break; fi
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/v2/version"; then
    curl -sf -o /dev/null -X POST "http://127.0.0.1:$PORT/__reset"
    echo "up in $(elapsed "$T"): proxy http://127.0.0.1:$PORT -> api-server :$((PORT + 1)); $(tr '\n' ' ' <"$SCALE_PIDS")"
    exit 0
  fi
  sleep 0.2
done
echo "the api-server did not answer through the proxy:" >&2
tail -20 "$SCALE_ROOT/api-server.log" >&2
bash "$LIB/down.sh"
exit 1
