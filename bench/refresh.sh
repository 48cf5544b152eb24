#!/usr/bin/env bash
# Full analytics refresh of the benchmark organisation on PostgreSQL, against a
# hand-tuned DuckDB implementation of the core metrics (the speed reference) and a
# straightforward pandas one, then the team page's latency.
#
#   bench/generate_org.sh            # once: the 1,000-rep, 3-year organisation
#   bench/refresh.sh
#
# CANONICAL_CSV: a canonical export of the same organisation (`stagecoach export
# canonical FOLDER`), to time DuckDB from the CSV files as well.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stagecoach_bench}"
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-bench-only-secret-key}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== stagecoach refresh (load via ADBC, compute with Polars, store)"
/usr/bin/time -f "refresh: wall %e s, peak RSS %M KiB" .venv/bin/stagecoach refresh 2>&1 \
    | tee "$out/refresh"
echo "== the core metrics in DuckDB (the reference)"
csv=()
if [[ -n "${CANONICAL_CSV:-}" ]]; then csv=(--csv "$CANONICAL_CSV"); fi
/usr/bin/time -f "duckdb: wall %e s, peak RSS %M KiB" \
    .venv/bin/python bench/duckdb_metrics.py "${csv[@]}" 2>&1 | tee "$out/duckdb"
# Inside each process, from the first read to the last figure stored or computed.
.venv/bin/python - "$out" <<'PY'
import re, sys
from pathlib import Path
out = Path(sys.argv[1])
refresh = float(re.search(r"in ([\d.]+) s \(load", (out / "refresh").read_text())[1])
for variant, total in re.findall(r"duckdb \((\w+)\):.*total ([\d.]+) s", (out / "duckdb").read_text()):
    print(f"refresh / DuckDB ({variant}): {refresh:.1f} s / {float(total):.2f} s = "
          f"{refresh / float(total):.1f}×  (target: 2×)")
PY
echo "== the same core metrics in pandas"
/usr/bin/time -f "pandas: wall %e s, peak RSS %M KiB" .venv/bin/python bench/pandas_metrics.py
echo "== team page served from the stored results"
.venv/bin/python bench/team_page.py --requests 200
