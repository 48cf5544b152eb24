"""Canonical import at scale, against PostgreSQL's own COPY of the same files.

    .venv/bin/python bench/import_canonical.py [--reps 1000] [--years 3] [--skip-sqlite]
        [--database-prefix stagecoach_bench]

1. Makes the canonical export of the generated organisation (cached in bench/out/).
2. Imports it into a fresh PostgreSQL database and a fresh SQLite file with
   ``stagecoach import canonical --no-refresh``, under /usr/bin/time for wall time and
   peak RSS.
3. Loads the same CSV files with PostgreSQL's COPY into tables shaped like the files
   (no indexes, no parsing beyond the column types): the floor any importer stands on.
4. Prints rows per second per table and the ratio to the floor.

BENCH_POSTGRES_URL picks the server (default: postgres://postgres@127.0.0.1:5432);
``--database-prefix`` the names of the databases it creates and drops
(``<prefix>_import``, ``<prefix>_floor``), so two runs on one server keep apart.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGECOACH = ROOT / ".venv" / "bin" / "stagecoach"
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
KEY = "bench-only-secret-key-bench-only-secret-key"

# How each canonical file lands in a plain table for the COPY floor.
FLOOR_TABLES = {
    "people.csv": "person_id text, name text, email text, role text, manager_id text, "
    "team text, title text",
    "opportunities.csv": "opportunity_id text, owner_id text, name text, account text, "
    "amount numeric, currency text, created_at timestamptz, close_date date, stage text, "
    "pipeline text, type text, modified_at timestamptz",
    "stage_changes.csv": "opportunity_id text, stage text, changed_at timestamptz, pipeline text",
    "field_changes.csv": "opportunity_id text, field text, old_value text, new_value text, "
    "changed_at timestamptz",
    "activities.csv": "activity_id text, owner_id text, type text, occurred_at timestamptz, "
    "opportunity_id text, subject text",
    "quotas.csv": "person_id text, period_start date, period_end date, amount numeric, "
    "currency text",
}


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-q", url, "-c", sql], check=True, capture_output=True)


def export(reps: int, years: float) -> Path:
    folder = ROOT / "bench" / "out" / f"canonical-{reps}x{years:g}"
    if (folder / "activities.csv").exists():
        return folder
    data = Path(tempfile.mkdtemp(prefix="stagecoach-bench-"))
    env = {**os.environ, "STAGECOACH_DATA_DIR": str(data), "SECRET_KEY": KEY}
    env.pop("DATABASE_URL", None)
    print(f"Generating {reps} reps × {years:g} years and exporting it …", flush=True)
    run([str(STAGECOACH), "demo", "--no-serve", "--reps", str(reps), "--years", str(years)], env)
    run([str(STAGECOACH), "export", "canonical", str(folder)], env)
    shutil.rmtree(data)
    return folder


def timed_import(folder: Path, env: dict[str, str]) -> tuple[float, int, dict[str, float], str]:
    run([str(STAGECOACH), "migrate", "--verbosity", "0"], env)
    out = run(
        [
            "/usr/bin/time",
            "-f",
            "TIME %e %M",
            str(STAGECOACH),
            "import",
            "canonical",
            str(folder),
            "--verbosity",
            "2",
            # The analytics refresh that follows an import has its own benchmark.
            "--no-refresh",
        ],
        env,
    )
    match = re.search(r"TIME ([\d.]+) (\d+)", out)
    assert match, out
    phases = {
        name.strip(): float(seconds)
        for name, seconds in re.findall(
            r"([a-z_ ]+) ([\d.]+) s", out.split("Phases:")[1].split("\n")[0]
        )
    }
    return float(match[1]), int(match[2]), phases, out


def copy_floor(folder: Path, prefix: str) -> dict[str, float]:
    url = f"{SERVER}/{prefix}_floor"
    psql(f"{SERVER}/postgres", f"DROP DATABASE IF EXISTS {prefix}_floor")
    psql(f"{SERVER}/postgres", f"CREATE DATABASE {prefix}_floor")
    seconds: dict[str, float] = {}
    for name, columns in FLOOR_TABLES.items():
        table = name.removesuffix(".csv")
        psql(url, f"CREATE TABLE {table} ({columns})")
        started = time.perf_counter()
        subprocess.run(
            ["psql", "-q", url, "-c", f"\\copy {table} FROM '{folder / name}' CSV HEADER"],
            check=True,
        )
        seconds[name] = time.perf_counter() - started
    psql(f"{SERVER}/postgres", f"DROP DATABASE {prefix}_floor")
    return seconds


def keyed_copy_floor(url: str) -> float:
    """COPY of the imported stage changes (ids resolved) into a table with stagecoach's
    keys: what any importer that enforces identity pays the database at least."""
    dump = Path(tempfile.mkdtemp()) / "stage_changes.tsv"
    psql(
        url,
        f"\\copy (SELECT opportunity_id, stage_id, changed_at FROM pipeline_stagechange) TO '{dump}'",
    )
    psql(url, "CREATE TABLE keyed_floor (LIKE pipeline_stagechange INCLUDING ALL)")
    started = time.perf_counter()
    psql(url, f"\\copy keyed_floor (opportunity_id, stage_id, changed_at) FROM '{dump}'")
    seconds = time.perf_counter() - started
    shutil.rmtree(dump.parent)
    return seconds


def rows(folder: Path) -> dict[str, int]:
    return {p.name: sum(1 for _ in p.open("rb")) - 1 for p in sorted(folder.glob("*.csv"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--database-prefix", default="stagecoach_bench")
    args = parser.parse_args()

    folder = export(args.reps, args.years)
    counts = rows(folder)
    total_rows = sum(counts.values())
    print(
        f"Export: {folder} — {total_rows:,} rows "
        f"({counts['stage_changes.csv']:,} stage changes, {counts['activities.csv']:,} activities)"
    )

    prefix = args.database_prefix
    floor = copy_floor(folder, prefix)
    floor_total = sum(floor.values())

    results: dict[str, tuple[float, int, dict[str, float]]] = {}
    psql(f"{SERVER}/postgres", f"DROP DATABASE IF EXISTS {prefix}_import")
    psql(f"{SERVER}/postgres", f"CREATE DATABASE {prefix}_import")
    data = Path(tempfile.mkdtemp(prefix="stagecoach-bench-"))
    env = {
        **os.environ,
        "SECRET_KEY": KEY,
        "STAGECOACH_DATA_DIR": str(data),
        "DATABASE_URL": f"{SERVER}/{prefix}_import",
    }
    wall, rss, phases, _ = timed_import(folder, env)
    results["PostgreSQL"] = (wall, rss, phases)
    keyed_floor = keyed_copy_floor(f"{SERVER}/{prefix}_import")
    psql(f"{SERVER}/postgres", f"DROP DATABASE {prefix}_import")
    if not args.skip_sqlite:
        env = {**os.environ, "SECRET_KEY": KEY, "STAGECOACH_DATA_DIR": str(data / "sqlite")}
        env.pop("DATABASE_URL", None)
        wall, rss, phases, _ = timed_import(folder, env)
        results["SQLite"] = (wall, rss, phases)
    shutil.rmtree(data)

    print()
    print(
        f"PostgreSQL COPY of the same files (the floor): {floor_total:.1f} s "
        f"({total_rows / floor_total:,.0f} rows/s); stage_changes.csv "
        f"{floor['stage_changes.csv']:.1f} s"
    )
    for database, (wall, rss, phases) in results.items():
        sc = phases.get("stage_changes", 0.0)
        print(
            f"{database}: {wall:.1f} s wall, {total_rows / wall:,.0f} rows/s overall, "
            f"peak RSS {rss / 1024:.0f} MiB; stage changes {sc:.1f} s = "
            f"{counts['stage_changes.csv'] / sc:,.0f} rows/s"
            + (
                f" ({sc / floor['stage_changes.csv']:.1f}× their COPY)"
                if database == "PostgreSQL"
                else ""
            )
            + (f"; whole import {wall / floor_total:.1f}× COPY" if database == "PostgreSQL" else "")
            + (
                f"\n  COPY of the same stage changes into a table with stagecoach's keys: "
                f"{keyed_floor:.1f} s, so the import is {sc / keyed_floor:.1f}× that"
                if database == "PostgreSQL"
                else ""
            )
        )
        print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))


if __name__ == "__main__":
    main()
