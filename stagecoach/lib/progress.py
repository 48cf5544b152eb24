"""Progress bars for long work on the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

ProgressFn = Callable[[str, int, int], None]


@contextmanager
def progress_bar(console: Console | None = None) -> Iterator[ProgressFn]:
    """Yield a ``report(phase, done, total)`` callback drawing one bar per phase.

    On a terminal the bars redraw in place; in a log (no terminal) rich prints nothing
    live, so a finished line is printed per phase instead.
    """
    console = console or Console(stderr=True)
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=console, transient=False) as progress:

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)
            if not console.is_terminal and done == total:
                console.print(f"{phase}: {done}/{total}")

        yield report
