#!/usr/bin/env bash
# Fault drill on PostgreSQL with a realistic export: the database server restarted in
# the middle of an import, an import killed (SIGKILL) half-way, a refresh killed while
# it stores its results. After each: nothing partial in the database, the run marked
# failed, the import run again giving exactly the rows of a clean import, and the
# metrics equal to a clean run's. Prints what it measured and a summary.
#
#   bench/faults.sh [REPS] [YEARS]          default: 100 reps, 2 years of history
#
# It works in databases of its own, stagecoach_faults_*, on the server in
# FAULTS_SERVER (default postgres://postgres@127.0.0.1:5432), and in FAULTS_DIR
# (default /tmp/stagecoach-faults).
#
# WARNING: the first case restarts the whole PostgreSQL server (pg_ctlcluster; set
# FAULTS_RESTART_COMMAND for another way): every other connection to it drops for a
# second or two. FAULTS_RESTART=simulate cuts only this drill's database off instead
# (its connections terminated, new ones refused for 2 s); FAULTS_RESTART=skip leaves
# that case out.
set -euo pipefail
cd "$(dirname "$0")/.."

reps="${1:-100}"
years="${2:-2}"
server="${FAULTS_SERVER:-postgres://postgres@127.0.0.1:5432}"
work="${FAULTS_DIR:-/tmp/stagecoach-faults}"
restart_mode="${FAULTS_RESTART:-server}"
cluster_version="$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)"
restart_command="${FAULTS_RESTART_COMMAND:-pg_ctlcluster $cluster_version main restart}"
as_of="$(date -u +%F)"
PY="$PWD/.venv/bin/python"
export SECRET_KEY="${SECRET_KEY:-faults-only-secret-key-faults-only-secret-key}"
export PYTHONUNBUFFERED=1
unset CACHE_URL DEBUG

summary=()
failures=0
note() { summary+=("$1"); }
check() { # check WHAT CONDITION-RESULT(0/1)
  if [ "$2" = 0 ]; then note "  ok    $1"; else note "  FAIL  $1"; failures=$((failures + 1)); fi
}
url() { echo "$server/stagecoach_faults_$1"; }
data() { echo "$work/$1"; }
# Each database gets its own data folder: the cache (progress, heartbeats) is keyed by
# run ids, which repeat from one database to the next.
sc() {
  local name="$1"
  shift
  mkdir -p "$(data "$name")"
  DATABASE_URL="$(url "$name")" STAGECOACH_DATA_DIR="$(data "$name")" .venv/bin/stagecoach "$@"
}
spawn() { # spawn NAME LOG ARGS...: `stagecoach ARGS` in the background, its pid in $spawned
  local name="$1" log="$2"
  shift 2
  mkdir -p "$(data "$name")"
  DATABASE_URL="$(url "$name")" STAGECOACH_DATA_DIR="$(data "$name")" .venv/bin/stagecoach "$@" >"$log" 2>&1 &
  spawned=$!
  started_here+=("$spawned")
}
started_here=()
# Whatever happens, leave no server, scheduler or import of this drill running.
trap 'for pid in "${started_here[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
within() { # within SECONDS COMMAND...: poll COMMAND until it succeeds, or fail the drill
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "gave up waiting for: $*" >&2
      exit 1
    fi
    sleep 0.1
  done
}
q() { psql -qAt "$(url "$1")" -c "$2"; }
answers() { curl -fso /dev/null --max-time 2 "http://127.0.0.1:$port/login/"; }
fresh_db() { # fresh_db NAME [TEMPLATE]
  local template=""
  [ -n "${2:-}" ] && template="TEMPLATE stagecoach_faults_$2"
  psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS stagecoach_faults_$1 WITH (FORCE)" \
    -c "CREATE DATABASE stagecoach_faults_$1 $template"
  rm -rf "$(data "$1")"
  mkdir -p "$(data "$1")"
}
counts() {
  q "$1" "select 'people=' || (select count(*) from accounts_person)
    || ' opportunities=' || (select count(*) from pipeline_opportunity)
    || ' stage_changes=' || (select count(*) from pipeline_stagechange)
    || ' field_changes=' || (select count(*) from pipeline_fieldchange)
    || ' activities=' || (select count(*) from pipeline_activity)
    || ' quotas=' || (select count(*) from pipeline_quota)"
}
snapshot() { # a digest of the stored analytics the pages read
  q "$1" "select count(*) || ' rows, md5 ' || coalesce(md5(string_agg(subject || as_of || window_days || data::text, '|' order by subject, as_of, window_days)), '-') from analytics_metricset"
}
last_run() { q "$1" "select status || ': ' || coalesce(nullif(error, ''), '-') from pipeline_importrun order by id desc limit 1"; }
seconds_since() { "$PY" -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }
same_metrics() { # same_metrics A.json B.json: identical, or equal to 1e-9 (float sums)
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
from stagecoach.testing.compare import differences
first, second = (json.load(open(p)) for p in sys.argv[1:])
found = differences(first, second)
# After a failed import PostgreSQL's sequences have moved on, so people imported again
# get other internal ids, and the forecast's simulation is seeded by them.
by_id = [d for d in found if d.split(":")[0].endswith(".id") or ".forecast." in d]
if first == second:
    print("identical")
elif not found:
    print("equal to 1e-9")
elif len(by_id) == len(found):
    print(f"equal to 1e-9 but for the people's internal ids and the forecast simulation "
          f"they seed ({len(by_id)} values)")
else:
    print("DIFFERENT: " + "; ".join(d for d in found if d not in by_id)[:600])
    sys.exit(1)
EOF
}
start_import() { # start_import NAME FRACTION: start an import; return once FRACTION of its rows are in
  local ready="$work/$1.ready"
  rm -f "$ready"
  # The watcher starts first: Python and Django take seconds to start, the import not many more.
  DATABASE_URL="$(url "$1")" STAGECOACH_DATA_DIR="$(data "$1")" DJANGO_SETTINGS_MODULE=stagecoach.settings \
    "$PY" - "$2" "$ready" <<'EOF' &
import sys, time
from pathlib import Path
import django
django.setup()
from stagecoach.pipeline.imports import import_progress
from stagecoach.pipeline.models import ImportRun
Path(sys.argv[2]).touch()
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    run = ImportRun.objects.filter(status="running").first()
    progress = import_progress(run) if run else None
    if progress and progress.total and progress.done >= float(sys.argv[1]) * progress.total:
        print(f"{progress.phase}: {progress.done:,} of {progress.total:,} rows")
        sys.exit(0)
    if ImportRun.objects.filter(status__in=["succeeded", "failed"]).exists():
        sys.exit("the import ended before it got that far: use a bigger export")
    time.sleep(0.02)
sys.exit("the import never got that far")
EOF
  local watcher=$!
  started_here+=("$watcher")
  within 120 test -e "$ready"
  spawn "$1" "$work/$1-import.log" import canonical "$work/export" --no-refresh
  importer=$spawned
  wait "$watcher"
}
wait_storing() { # wait_storing NAME: until a refresh holds its write on the stored results
  "$PY" - "$(url "$1")" <<'EOF'
import sys, time
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as db:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        held = db.execute(
            "select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
            "join pg_stat_activity a on a.pid = l.pid where c.relname = 'analytics_metricset' "
            "and l.mode = 'RowExclusiveLock' and a.datname = current_database() "
            "and a.pid <> pg_backend_pid()"
        ).fetchone()[0]
        if held:
            sys.exit(0)
        time.sleep(0.005)
sys.exit("the refresh never started storing")
EOF
}
restart_database() { # restart_database NAME
  if [ "$restart_mode" = simulate ]; then
    psql -q "$server/postgres" -c "ALTER DATABASE stagecoach_faults_$1 ALLOW_CONNECTIONS false" \
      -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'stagecoach_faults_$1'" >/dev/null
    sleep 2
    psql -q "$server/postgres" -c "ALTER DATABASE stagecoach_faults_$1 ALLOW_CONNECTIONS true"
  else
    $restart_command
    within 120 pg_isready -q -d "$server/postgres"
  fi
}

mkdir -p "$work"
echo "== The export: the demo organisation, $reps reps × $years years, in the canonical layout"
fresh_db source
sc source migrate --verbosity 0
sc source demo --no-serve --reps "$reps" --years "$years" >/dev/null 2>&1
rm -rf "$work/export"
sc source export canonical "$work/export" | tail -n 1
rows=$(cat "$work"/export/*.csv | wc -l)
echo "$rows lines in $(ls "$work/export" | wc -l) files, $(du -sh "$work/export" | cut -f1)"

echo "== A clean import and refresh, the reference"
fresh_db empty
sc empty migrate --verbosity 0
fresh_db clean empty
started=$(date +%s.%N)
sc clean import canonical "$work/export" --no-refresh | tail -n 1
clean_import_seconds=$(seconds_since "$started")
sc clean refresh --as-of "$as_of"
sc clean metrics --json --as-of "$as_of" >"$work/clean.json"
clean_counts=$(counts clean)
echo "$clean_counts"
note "export: $reps reps × $years years, $rows CSV lines; a clean import takes $clean_import_seconds s"

if [ "$restart_mode" != skip ]; then
  echo "== Case 1: the database restarted in the middle of an import ($restart_mode)"
  fresh_db restart empty
  # A server on the same database: does it come back by itself?
  port=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  spawn restart "$work/restart-serve.log" serve --port "$port" --workers 2
  web=$spawned
  within 120 answers
  worker_before=$(pgrep -P "$web" -f db_worker || true)
  start_import restart 0.4
  started=$(date +%s.%N)
  restart_database restart
  restart_seconds=$(seconds_since "$started")
  within 120 answers
  web_seconds=$(seconds_since "$started")
  set +e
  wait "$importer"
  import_status=$?
  set -e
  import_exit_seconds=$(seconds_since "$started")
  echo "database back after $restart_seconds s; the import exited with status $import_status after $import_exit_seconds s"
  tail -n 2 "$work/restart-import.log" | cut -c1-300
  run=$(last_run restart)
  echo "import run: $run"
  for _ in $(seq 1 60); do # a new worker, or after a minute the same one still alive
    worker_after=$(pgrep -P "$web" -f db_worker || true)
    [ -n "$worker_after" ] && [ "$worker_after" != "$worker_before" ] && break
    sleep 1
  done
  worker_seconds=$(seconds_since "$started")
  echo "web pages answered again after $web_seconds s; background worker $worker_before before, $worker_after after ($worker_seconds s)"
  kill -TERM "$web"
  wait "$web" 2>/dev/null || true
  after=$(counts restart)
  echo "rows after: $after"
  note "case 1, database restart mid-import: back in $restart_seconds s, the import exited (status $import_status) after $import_exit_seconds s, the web pages answered after $web_seconds s"
  check "the background worker is running again (pid $worker_before, then $worker_after)" "$([ -n "$worker_after" ] && echo 0 || echo 1)"
  check "the import failed and says so: $run" "$([[ "$run" == failed:* && "$import_status" != 0 ]] && echo 0 || echo 1)"
  check "nothing partial: $after" "$([[ "$after" == "people=0 opportunities=0 stage_changes=0 field_changes=0 activities=0 quotas=0" ]] && echo 0 || echo 1)"
  sc restart import canonical "$work/export" --no-refresh | tail -n 1
  again=$(counts restart)
  check "imported again: the clean counts" "$([ "$again" = "$clean_counts" ] && echo 0 || echo 1)"
  sc restart refresh --as-of "$as_of" >/dev/null
  sc restart metrics --json --as-of "$as_of" >"$work/restart.json"
  verdict=$(same_metrics "$work/clean.json" "$work/restart.json") && code=0 || code=1
  check "metrics after the re-import and a refresh: $verdict" "$code"
fi

echo "== Case 2: an import killed (SIGKILL) half-way; the scheduler notices"
fresh_db killed empty
start_import killed 0.5
kill -9 "$importer"
wait "$importer" 2>/dev/null || true
killed_at=$(date +%s.%N)
after=$(counts killed)
echo "rows after the kill: $after; import run: $(last_run killed)"
check "nothing partial after the kill: $after" "$([[ "$after" == "people=0 opportunities=0 stage_changes=0 field_changes=0 activities=0 quotas=0" ]] && echo 0 || echo 1)"
spawn killed "$work/scheduler.log" scheduler --interval 5
scheduler=$spawned
for _ in $(seq 1 600); do
  [[ "$(last_run killed)" == failed:* ]] && break
  sleep 1
done
detected_seconds=$(seconds_since "$killed_at")
kill "$scheduler"
wait "$scheduler" 2>/dev/null || true
run=$(last_run killed)
echo "marked after $detected_seconds s: $run"
note "case 2, import killed at half-way: marked failed by the scheduler $detected_seconds s after the kill"
check "the run is marked interrupted: $run" "$([[ "$run" == "failed: interrupted:"* ]] && echo 0 || echo 1)"
sc killed import canonical "$work/export" --no-refresh | tail -n 1
again=$(counts killed)
check "imported again: the clean counts, no duplicates" "$([ "$again" = "$clean_counts" ] && echo 0 || echo 1)"
sc killed refresh --as-of "$as_of" >/dev/null
sc killed metrics --json --as-of "$as_of" >"$work/killed.json"
verdict=$(same_metrics "$work/clean.json" "$work/killed.json") && code=0 || code=1
check "metrics after the re-import and a refresh: $verdict" "$code"

echo "== Case 3: a refresh killed (SIGKILL) while it stores its results"
fresh_db refresh clean
before=$(snapshot refresh)
spawn refresh "$work/killed-refresh.log" refresh --as-of "$as_of"
refresher=$spawned
started=$(date +%s.%N)
wait_storing refresh
kill -9 "$refresher"
wait "$refresher" 2>/dev/null || true
echo "killed $(seconds_since "$started") s into the refresh, while storing"
after=$(snapshot refresh)
state=$(q refresh "select status from analytics_refresh order by id desc limit 1")
echo "stored results before: $before; after: $after; the refresh: $state"
check "the previous results are still served: $after" "$([ "$before" = "$after" ] && echo 0 || echo 1)"
sc refresh metrics --json --as-of "$as_of" >"$work/refresh-before.json"
verdict=$(same_metrics "$work/clean.json" "$work/refresh-before.json") && code=0 || code=1
check "metrics served after the kill: $verdict" "$code"
sc refresh refresh --as-of "$as_of" >/dev/null
sc refresh metrics --json --as-of "$as_of" >"$work/refresh-again.json"
verdict=$(same_metrics "$work/clean.json" "$work/refresh-again.json") && code=0 || code=1
check "a new refresh equals the clean one: $verdict" "$code"

echo
echo "== Summary ($(date -u '+%Y-%m-%d %H:%M') UTC, PostgreSQL $cluster_version)"
printf '%s\n' "${summary[@]}"
if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
