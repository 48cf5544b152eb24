#!/usr/bin/env bash
# How many cases the fuzz tests try: every importer (hypothesis) and every operation of
# the JSON API (schemathesis), with a budget SCALE times the one CI runs (default 10),
# then the cases per test, per API operation and in total.
#
#   bench/fuzz_counts.sh          # SQLite, 10x
#   bench/fuzz_counts.sh 1        # CI's own budget
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/fuzz_counts.sh
#
# Extra arguments go to pytest (e.g. -k hubspot). The cases are deterministic for a
# given scale (derandomized), so two runs print the same counts.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-10}"
shift || true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

started=$(date +%s)
status=0
STAGECOACH_FUZZ_SCALE="$scale" .venv/bin/pytest \
    stagecoach/pipeline/tests/test_import_fuzz.py \
    stagecoach/pipeline/tests/test_import_fuzz_*.py \
    stagecoach/analytics/tests/test_api_fuzz.py \
    -q -p no:cacheprovider -o junit_family=xunit1 --junitxml="$out/fuzz.xml" "$@" >"$out/pytest.log" 2>&1 || status=$?
elapsed=$(($(date +%s) - started))
tail -n 1 "$out/pytest.log"

.venv/bin/python - "$out/fuzz.xml" "$scale" "$elapsed" "${DATABASE_URL:-sqlite}" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, scale, elapsed, database = sys.argv[1:]
importers, api = [], []
for case in ET.parse(path).iter("testcase"):
    name = case.get("classname", "").rsplit(".", 1)[-1] + "::" + case.get("name", "")
    for prop in case.iter("property"):
        key, value = prop.get("name", ""), int(prop.get("value", "0"))
        if key == "fuzz_cases" and "test_api_fuzz" not in name:
            importers.append((name, value))
        elif key.startswith("fuzz_cases "):
            login = name.rsplit("[", 1)[-1].rstrip("]")
            api.append((f"as {login}: {key.removeprefix('fuzz_cases ')}", value))

width = max((len(n) for n, _ in importers + api), default=40)
print(f"\nfuzz cases at {scale}x the CI budget, database {database.split('@')[-1]}, {elapsed} s")
print("\nimporters (hypothesis)")
for name, value in importers:
    print(f"  {name:<{width}} {value:>7,}")
print(f"  {'total':<{width}} {sum(v for _, v in importers):>7,}")
print("\nJSON API (schemathesis), per login and operation")
for name, value in api:
    print(f"  {name:<{width}} {value:>7,}")
print(f"  {'total':<{width}} {sum(v for _, v in api):>7,}")
print(f"\nall fuzz cases: {sum(v for _, v in importers + api):,}")
PY
if [ "$status" -ne 0 ]; then
    echo "some fuzz tests failed; see the pytest output:" >&2
    grep -E "^(FAILED|SUBFAILED|ERROR)" "$out/pytest.log" >&2 || tail -n 40 "$out/pytest.log" >&2
fi
exit "$status"
