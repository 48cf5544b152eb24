"""What an import tells its user: counts per table, warnings, and every rejected row."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from stagecoach.lib.csvexport import defused
from stagecoach.lib.filenames import fitting

MAX_KEPT_WARNINGS = 500
# Values inside a reason ('GTXPro', line 12) vary row by row; the reason's shape does not.
_QUOTED = re.compile(r"'[^']*\d[^']*'|\(line \d+\)|\b\d[\d,.]*\b")


class Located(Protocol):
    """A record that knows where it was read: file, line and the cells as written."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def raw(self) -> list[str] | None: ...


@dataclass
class TableCounts:
    """Every row read ends up in exactly one of the other counts.

    ``skipped`` rows are read and deliberately not imported: deleted in the CRM, a
    history row that changes nothing stagecoach keeps, the organisation's own exchange
    rate, a repeat of an activity id already read.
    """

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0

    @property
    def accounted(self) -> int:
        """Rows that ended in one of the other counts; equals ``read`` when all is well."""
        return self.created + self.updated + self.unchanged + self.rejected + self.skipped

    def as_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
        }


@dataclass
class Reject:
    file: str
    line: int
    column: str
    reason: str
    row: list[str] | None
    table: str = ""


@dataclass(frozen=True)
class StageNote:
    """A CRM stage, the kind it was given, and what said so (empty: nothing did)."""

    pipeline: str
    name: str
    kind: str
    why: str

    def __str__(self) -> str:
        where = f"{self.pipeline} / " if self.pipeline else ""
        why = self.why or "nothing in the export says; taken as open"
        return f"{where}{self.name}: {self.kind} ({why})"


@dataclass
class ImportReport:
    """Collects what happened. Readers and the loader both write to it.

    Warnings that repeat (the same message for the same file) are kept once with a
    count, so a million rows with one quirk give one line, not a million.
    """

    counts: dict[str, TableCounts] = field(default_factory=lambda: defaultdict(TableCounts))
    rejects: list[Reject] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    stages: dict[tuple[str, str], StageNote] = field(default_factory=dict)
    _warnings: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _repeats: dict[tuple[str, str], int] = field(default_factory=dict)

    def table(self, name: str) -> TableCounts:
        return self.counts[name]

    def stage(self, pipeline: str, name: str, kind: str, why: str) -> None:
        """Say which kind a stage was given and why (the first word on a stage stands)."""
        self.stages.setdefault((pipeline, name), StageNote(pipeline, name, kind, why))

    def header(self, file: str, header: list[str]) -> None:
        """Remember a file's header so its rejected rows are saved under it."""
        self.headers[file] = header

    def reject_record(self, table: str, record: Located, column: str, reason: str) -> None:
        """Reject a record read from a file, where it was read."""
        self.reject(
            table=table,
            file=record.file,
            line=record.line,
            column=column,
            reason=reason,
            row=record.raw,
        )

    def reject(
        self,
        *,
        table: str,
        file: str,
        line: int,
        column: str,
        reason: str,
        row: list[str] | None,
    ) -> None:
        self.counts[table].rejected += 1
        self.rejects.append(Reject(file, line, column, reason, row, table))

    def warn(self, message: str, *, file: str = "", line: int | None = None) -> None:
        lines = self._warnings.setdefault((file, message), [])
        if line is not None and len(lines) < 5:
            lines.append(line)
        elif line is None and not lines:
            lines.append(0)
        self._repeats[(file, message)] = self._repeats.get((file, message), 0) + 1

    def cut(self, value: str, limit: int, what: str, *, file: str = "", line: int = 0) -> str:
        """``value`` within the column's ``limit``, and a warning when it had to be cut
        (descriptive text only: an identifying field is refused, never cut)."""
        if len(value) <= limit:
            return value
        self.warn(
            f"{what} longer than {limit:,} characters cut to {limit:,} (the CRM keeps the rest)",
            file=file,
            line=line or None,
        )
        return value[:limit]

    @property
    def warnings(self) -> list[str]:
        """One line per distinct warning: where, what, and how often."""
        out: list[str] = []
        for (file, message), lines in self._warnings.items():
            times = self._repeats[(file, message)]
            where = file
            shown = [str(n) for n in lines if n]
            if shown:
                where += f", line {', '.join(shown)}" + (" …" if times > len(shown) else "")
            suffix = f" ({times:,} times)" if times > 1 else ""
            out.append(f"{where}: {message}{suffix}" if where else message + suffix)
        return out[:MAX_KEPT_WARNINGS]

    @property
    def warning_count(self) -> int:
        return sum(self._repeats.values())

    def unaccounted(self) -> dict[str, TableCounts]:
        """Tables where some row read is in no other count, or a count has no row read.

        Empty after every import: each row read is created, updated, unchanged,
        rejected or skipped, exactly once.
        """
        return {name: c for name, c in self.counts.items() if c.read != c.accounted}

    def reject_reasons(
        self, limit: int = 50, *, table: str | None = None
    ) -> list[dict[str, str | int]]:
        """Rejected rows grouped by file, column and reason (values elided), biggest first.

        ``table``: only the rows rejected from that table.
        """
        groups: dict[tuple[str, str, str], int] = defaultdict(int)
        for reject in self.rejects:
            if table is not None and reject.table != table:
                continue
            pattern = _QUOTED.sub("…", reject.reason)
            groups[(reject.file, reject.column, pattern)] += 1
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
        return [
            {"file": file, "column": column, "reason": reason, "rows": rows}
            for (file, column, reason), rows in ordered[:limit]
        ]

    def write_rejects(self, folder: Path) -> list[Path]:
        """One CSV per input file: its own header, then line, column and reason.

        Fix the rows in that file and import it again; nothing is lost.
        """
        if not self.rejects:
            return []
        folder.mkdir(parents=True, exist_ok=True)
        by_file: dict[str, list[Reject]] = defaultdict(list)
        for reject in self.rejects:
            by_file[reject.file].append(reject)
        written: list[Path] = []
        for file, rejects in sorted(by_file.items()):
            path = folder / fitting(Path(file).stem or "import", ".rejects.csv")
            header = self.headers.get(file, [])
            with path.open("w", newline="", encoding="utf-8") as handle:
                out = csv.writer(handle)
                out.writerow(defused(["_line", "_column", "_reason", *header]))
                for reject in sorted(rejects, key=lambda r: r.line):
                    out.writerow(
                        defused([reject.line, reject.column, reject.reason, *(reject.row or [])])
                    )
            written.append(path)
        return written
