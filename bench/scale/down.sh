#!/usr/bin/env bash
# Stop what up.sh started: SIGTERM to each recorded process group, SIGKILL after 20 s. Nothing is
# matched by name; a recorded group that no longer runs the fixture's commands is left alone.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[[ -f $SCALE_PIDS ]] || { echo "nothing running ($SCALE_PIDS absent)"; exit 0; }
running() { kill -0 -- "-$1" 2>/dev/null; }
stopped=()
while read -r name pgid; do
  [[ ${pgid:-} =~ ^[0-9]+$ && $pgid -gt 1 ]] || continue
  running "$pgid" || continue
  if ps -eo pgid=,args= | awk -v g="$pgid" '$1 == g' | grep -q -e airflow -e proxy.py; then
    kill -TERM -- "-$pgid" && stopped+=("$pgid") && echo "SIGTERM $name (group $pgid)"
  else
    echo "group $pgid ($name) runs something else now: left alone" >&2
  fi
done <"$SCALE_PIDS"
for pgid in "${stopped[@]}"; do
  for _ in $(seq 100); do running "$pgid" || break; sleep 0.2; done
  running "$pgid" && { echo "group $pgid still up after 20 s: SIGKILL"; kill -KILL -- "-$pgid"; }
done
rm -f "$SCALE_PIDS"
echo down
