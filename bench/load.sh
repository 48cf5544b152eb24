#!/usr/bin/env bash
# Load test: 50 people (25 managers, 15 reps, 10 leaders of the 1,000-rep organisation)
# using `stagecoach serve` on PostgreSQL at once, each a different real login.
#
#   bench/load.sh                      # 5 minutes
#   LOAD_DURATION=60s bench/load.sh    # any locust run time: 90s, 10m, …
#
# Generates the organisation first when its database is missing (bench/generate_org.sh),
# installs locust into .venv-load from bench/load/requirements.txt, starts the server
# with production settings (DEBUG off, a SECRET_KEY, gunicorn with the background
# worker), warms it up, runs locust headless and prints throughput, p50/p95/p99 and
# errors per group of requests and overall, the server's CPU use and peak memory.
# Everything it writes goes to bench/out/load/.
#
# Settings (environment): LOAD_DURATION (5m), LOAD_SPAWN_RATE (users started a second,
# 2), LOAD_WARMUP (20s; 0 for none), WEB_CONCURRENCY (gunicorn workers, default
# cores + 1), BENCH_DATABASE_URL (default: database stagecoach_bench on the local server).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
url="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stagecoach_bench}"
duration="${LOAD_DURATION:-5m}"
spawn_rate="${LOAD_SPAWN_RATE:-2}"
warmup="${LOAD_WARMUP:-20s}"
out="$root/bench/out/load"
mkdir -p "$out"

# -- locust, in its own environment: the app's dependencies stay as they are ----------
requirements="$root/bench/load/requirements.txt"
if ! cmp -s "$requirements" "$root/.venv-load/requirements.txt" 2>/dev/null; then
  echo "Installing locust into .venv-load …" >&2
  rm -rf "$root/.venv-load"
  python3 -m venv "$root/.venv-load"
  "$root/.venv-load/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$root/.venv-load/requirements.txt"
fi

# -- the organisation ---------------------------------------------------------------
name="${url##*/}"
if ! psql -q "${url%/*}/postgres" -At -c "select 1 from pg_database where datname = '$name'" |
  grep -q 1; then
  BENCH_DATABASE_URL="$url" bench/generate_org.sh
fi

export DATABASE_URL="$url"
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-bench-only-secret-key}"
export DEBUG=false
export ALLOWED_HOSTS=127.0.0.1
# A data folder of its own: the file cache and static files of this server only.
export STAGECOACH_DATA_DIR="$out/data"
rm -rf "$STAGECOACH_DATA_DIR"
mkdir -p "$STAGECOACH_DATA_DIR"
.venv/bin/stagecoach migrate --verbosity 0
# The steady state of a database that autovacuum looks after (this server may run with
# it off): planner statistics, and visibility maps that let index-only scans skip the
# table. Right after the bulk load neither exists, and autovacuum catching up in the
# middle of a run would change the figures under it.
echo "VACUUM (ANALYZE) of $name …" >&2
psql -q "$url" -c "VACUUM (ANALYZE)"
.venv/bin/python bench/load/cast.py "$out/cast.json"

# -- the server ---------------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host="http://127.0.0.1:$port"
# LOAD_SERVE_ARGS: extra options for the server, e.g. "--workers 5 --threads 2".
# shellcheck disable=SC2086
.venv/bin/stagecoach serve --port "$port" ${LOAD_SERVE_ARGS:-} >"$out/server.log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
  fi
}
trap stop_server EXIT
for _ in $(seq 100); do
  curl -fs -o /dev/null "$host/login/" && break
  kill -0 "$server" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
  sleep 0.3
done

# Every process the server started: gunicorn's master and workers, the background
# worker and the scheduler.
tree() {
  local pid=$1 child
  echo "$pid"
  for child in $(ps -o pid= --ppid "$pid"); do tree "$child"; done
}
cpu_ticks() {
  local total=0 pid fields
  for pid in $(tree "$server"); do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    # utime and stime: fields 14 and 15 of /proc/PID/stat, 12 and 13 after the name.
    total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
  done
  echo "$total"
}

locust() {
  LOAD_CAST="$out/cast.json" "$root/.venv-load/bin/locust" -f bench/load/locustfile.py \
    --headless --host "$host" --users 50 --spawn-rate "$spawn_rate" --stop-timeout 10 \
    --only-summary --loglevel WARNING "$@"
}

if [ "$warmup" != 0 ]; then
  echo "Warming up for $warmup …" >&2
  LOAD_REQUESTS= locust --run-time "$warmup" --spawn-rate 10 >/dev/null 2>&1 || true
fi

rm -f "$out"/locust_*.csv "$out/requests.csv"
load_before=$(uptime)
ticks_before=$(cpu_ticks)
started=$(date +%s.%N)
echo "Running 50 users for $duration against $host (spawn rate $spawn_rate/s) …" >&2
status=0
LOAD_REQUESTS="$out/requests.csv" locust --run-time "$duration" --csv "$out/locust" \
  >"$out/locust.log" 2>&1 || status=$?
ended=$(date +%s.%N)
ticks_after=$(cpu_ticks)
load_after=$(uptime)

# Peak resident memory of each server process (VmHWM), before it stops.
memory=$(for pid in $(tree "$server"); do
  awk -v pid="$pid" '/^VmHWM/ {printf "%d %s ", $2, pid}' "/proc/$pid/status" 2>/dev/null || true
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60 || true
  echo
done)
stop_server
trap - EXIT

echo
echo "== bench/load.sh: 50 users (25 managers, 15 reps, 10 leaders), $duration, $(nproc) cores"
echo "machine load before: $load_before"
echo "machine load after:  $load_after"
echo
.venv-load/bin/python bench/load/report.py "$out/requests.csv" --failures "$out/locust_failures.csv"
echo
python3 - "$ticks_before" "$ticks_after" "$started" "$ended" "$(getconf CLK_TCK)" "$(nproc)" <<'EOF'
import sys
before, after, started, ended, hz, cores = map(float, sys.argv[1:])
seconds = (after - before) / hz
wall = ended - started
print(f"server CPU: {seconds:.0f} s over {wall:.0f} s = {seconds / wall:.2f} cores "
      f"({100 * seconds / wall / cores:.0f}% of {cores:.0f})")
EOF
# Summed peaks overstate the whole: each process counts the pages it shares.
awk '$1 ~ /^[0-9]+$/ {
  mib = $1 / 1024; total += mib; n += 1
  if ($0 !~ /db_worker|scheduler/ && mib > top) top = mib
} END {
  printf "server peak RSS: %.0f MiB summed over its %d processes (largest web process %.0f MiB)\n", total, n, top
}' <<<"$memory"
echo "CSV: $out/locust_stats.csv, $out/requests.csv; server log: $out/server.log"
if [ "$status" != 0 ]; then
  echo "locust exited with status $status (it does so when any request failed)" >&2
fi
exit "$status"
