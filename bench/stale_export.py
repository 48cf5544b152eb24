"""An older export imported after a newer one: does anything move back?

    .venv/bin/python bench/stale_export.py [REPS]

Loads the demo organisation (REPS reps, default 20, one year) into a scratch SQLite
database, exports it, builds the same organisation as exported 60 days earlier (deals
at the stage they had then, later history left out; see
stagecoach/pipeline/tests/test_import_stale.py), and imports newer, older, newer again,
with and without the CRM's last-modified column. Prints what each import changed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main(reps: int) -> None:
    os.environ["STAGECOACH_DATA_DIR"] = tempfile.mkdtemp()
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    from stagecoach.demo.generator import DemoConfig
    from stagecoach.demo.services import delete_demo, load_demo
    from stagecoach.pipeline.exports import export_canonical
    from stagecoach.pipeline.imports import run_import
    from stagecoach.pipeline.models import Opportunity
    from stagecoach.pipeline.tests.test_import_stale import as_exported, state

    call_command("migrate", verbosity=0)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    load_demo(config=DemoConfig(reps=reps, years=1, now=int(now.timestamp())))
    root = Path(tempfile.mkdtemp())
    export_canonical(root / "organisation")
    delete_demo()
    cut = (now - timedelta(days=60)).replace(tzinfo=None)
    for modified in (True, False):
        for name in ("newer", "older"):
            shutil.rmtree(root / name, ignore_errors=True)
        newer = as_exported(root / "organisation", root / "newer", at=None, modified=modified)
        older = as_exported(root / "organisation", root / "older", at=cut, modified=modified)
        Opportunity.objects.all().delete()
        run_import(format_name="canonical", path=newer)
        stored = state()
        old = run_import(format_name="canonical", path=older).run.counts["opportunities"]
        after_older = state()
        again = run_import(format_name="canonical", path=newer).run.counts
        print(
            f"last-modified column {'in' if modified else 'not in'} the files: "
            f"{len(stored['deals']):,} deals; the older export skipped {old['skipped']:,} "
            f"and moved {old['updated']:,}, data unchanged: {after_older == stored}; "
            f"the newer again created {again['stage_changes']['created']:,} stage changes "
            f"and moved {again['opportunities']['updated']:,} deals, "
            f"data unchanged: {state() == stored}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
