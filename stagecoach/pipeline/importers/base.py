"""The one protocol every importer follows.

A reader is constructed with the export's path and the report, checks the files it
needs in ``open()`` (raising :class:`ImportFileError` for a file it cannot use at
all), then hands out record streams. The loader consumes the streams once, in this
order: rates, teams, people, stages, opportunities, stage changes, field changes,
activities, quotas. A stream the format does not have stays empty.

A bad *row* is never an exception: the reader calls ``report.reject(...)`` with the
file, line, column and reason and moves on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers.records import (
    ActivityRecord,
    FieldChangeRecord,
    OpportunityRecord,
    PersonRecord,
    QuotaRecord,
    RateRecord,
    StageChangeRecord,
    StageRecord,
    TeamRecord,
)
from stagecoach.pipeline.importers.report import ImportReport

if TYPE_CHECKING:
    from stagecoach.pipeline.importers.contacts import ContactRecord


class ImportFileError(Exception):
    """The export cannot be imported at all: a missing file or required column."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file


class Reader:
    """Base for all formats: every stream is empty until a format provides it."""

    source: Source = Source.CANONICAL
    # A snapshot of the CRM's deals, not a history: changes it shows are dated at the
    # export time, and deals an earlier snapshot had and this one lacks are reported.
    snapshot = False
    # The newest last-modified time the export shows, once its rows have been read.
    newest_modified: datetime | None = None
    # The export's own file name, when it differs from the path's (a folder, a zip).
    export_name = ""
    # The export holds the whole contact file: imported contacts it lacks are gone.
    carries_contacts = False

    def __init__(self, path: Path, report: ImportReport, *, time_zone: tzinfo) -> None:
        self.path = path
        self.report = report
        self.time_zone = time_zone

    def open(self) -> None:
        """Check the export can be read; raise ImportFileError if it cannot."""

    def total_rows(self) -> int:
        """An estimate of the rows to read, for the progress bar (0: unknown)."""
        return 0

    def rates(self) -> Iterator[RateRecord]:
        return iter(())

    def teams(self) -> Iterator[TeamRecord]:
        return iter(())

    def people(self) -> Iterator[PersonRecord]:
        return iter(())

    def stages(self) -> Iterator[StageRecord]:
        return iter(())

    def opportunities(self) -> Iterator[OpportunityRecord]:
        return iter(())

    def stage_changes(self) -> Iterator[StageChangeRecord]:
        return iter(())

    def field_changes(self) -> Iterator[FieldChangeRecord]:
        return iter(())

    def activities(self) -> Iterator[ActivityRecord]:
        return iter(())

    def quotas(self) -> Iterator[QuotaRecord]:
        return iter(())

    def contacts(self) -> Iterator[ContactRecord]:
        """The people on the customer's side of each deal (read after the deals)."""
        return iter(())
