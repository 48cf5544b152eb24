#!/usr/bin/env bash
# Integrity under load: the whole app served (web workers, background worker,
# scheduler) with many readers and writers at once against one database, then
# the database's integrity check and every recorded write compared with what is
# stored (stagecoach/testing/stress.py). The suite runs a 10-second form.
#
#   bench/stress.sh                 # 10 minutes on SQLite, then 10 on PostgreSQL
#   MINUTES=2 bench/stress.sh sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${MINUTES:-10}"
postgres="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p bench/out
status=0
for kind in ${1:-sqlite postgresql}; do
  echo "== $kind, $minutes minutes"
  database=()
  [ "$kind" = postgresql ] && database=(--database "$postgres")
  .venv/bin/python -m stagecoach.testing.stress --minutes "$minutes" "${database[@]}" \
    --readers "${READERS:-6}" --viewers "${VIEWERS:-6}" --loggers "${LOGGERS:-3}" \
    > "bench/out/stress-$kind.json" || status=1
  cat "bench/out/stress-$kind.json"
done
exit $status
