"""Run a ``stagecoach`` command that stops for good at a chosen point, for fault tests.

    python -m stagecoach.testing.pause TARGET MARKER -- COMMAND [ARGS...]

TARGET is ``module:attribute.path``, a function the command calls (for instance
``stagecoach.pipeline.importers.loader:Loader.finish_opportunities``). When the command
reaches it, the process writes the file MARKER and waits there for ever, in the middle
of whatever it was doing (an open transaction, say), until the test kills it. Waiting
for the marker instead of sleeping a fixed time makes the kill land at the same point
on any machine.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any


def pause_at(target: str, marker: Path) -> None:
    module_name, _, attributes = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = attributes.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    if not callable(getattr(owner, name, None)):
        raise SystemExit(f"pause: {target} is not a function")

    def stay(*args: object, **kwargs: object) -> None:
        marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
        while True:
            time.sleep(3600)

    setattr(owner, name, stay)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    import django

    django.setup()
    pause_at(argv[0], Path(argv[1]))
    from stagecoach.cli import main as stagecoach

    return stagecoach(argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
