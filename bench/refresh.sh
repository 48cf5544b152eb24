#!/usr/bin/env bash
# Full analytics refresh of the benchmark organisation on PostgreSQL, against a
# straightforward pandas implementation, then the team page's latency.
#
#   bench/generate_org.sh            # once: the 1,000-rep, 3-year organisation
#   bench/refresh.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stagecoach_bench}"
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-bench-only-secret-key}"

echo "== stagecoach refresh (load via ADBC, compute with Polars, store)"
/usr/bin/time -f "refresh: wall %e s, peak RSS %M KiB" .venv/bin/stagecoach refresh
echo "== the same core metrics in pandas"
/usr/bin/time -f "pandas: wall %e s, peak RSS %M KiB" .venv/bin/python bench/pandas_metrics.py
echo "== team page served from the stored results"
.venv/bin/python bench/team_page.py --requests 200
