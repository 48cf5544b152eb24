#!/usr/bin/env bash
# Generate the benchmark-size organisation (default: 1,000 reps, 3 years) into a fresh
# PostgreSQL database and report the wall time and peak memory of the load.
#
#   bench/generate_org.sh [REPS] [YEARS]
#
# BENCH_DATABASE_URL picks the server (default: the local one, database stagecoach_bench).
# NO_REFRESH=1 stops after the load, so that the first refresh can be timed on its own
# (`stagecoach refresh`) and the load's peak memory is the load's alone.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-1000}"
years="${2:-3}"
url="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stagecoach_bench}"
name="${url##*/}"
admin_url="${url%/*}/postgres"

psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$name\"" -c "CREATE DATABASE \"$name\""
export DATABASE_URL="$url"
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-bench-only-secret-key}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code, not the installed one
stagecoach=(.venv/bin/python -m stagecoach.cli)
"${stagecoach[@]}" migrate --verbosity 0
flags=()
if [[ "${NO_REFRESH:-0}" == 1 ]]; then flags+=(--no-refresh); fi

echo "Loading $reps reps × $years years into $name …" >&2
/usr/bin/time -f "wall %e s, peak RSS %M KiB" \
  "${stagecoach[@]}" demo --no-serve "${flags[@]}" --reps "$reps" --years "$years" 2>&1 \
  | grep -v "━"
psql -q "$url" -At -c "select 'opportunities', count(*) from pipeline_opportunity union all
  select 'stage_changes', count(*) from pipeline_stagechange union all
  select 'activities', count(*) from pipeline_activity union all
  select 'database_bytes', pg_database_size(current_database())"
