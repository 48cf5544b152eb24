"""When an export was made: what a snapshot import dates the changes it sees.

A snapshot export (a HubSpot or Pipedrive deals file, a Salesforce report) holds no
history; comparing it with what is stored shows what changed since the last one, and
those changes happened no later than the export. The export time comes from, in
order: what the user says (``--exported-at``); a date in the file's name, as HubSpot
(``hubspot-crm-exports-all-deals-2023-05-01.csv``) and Salesforce reports
(``report1683000000000.csv``, milliseconds since 1970) write it; the newest
last-modified time in the file, which the export cannot precede. Only when none of
these is there is it the time of the import, and the import says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_ISO_DAY = re.compile(
    r"(?<!\d)(20\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])"
    r"(?:[T_ -]?([01]\d|2[0-3])[-_:h]?([0-5]\d)(?:[-_:]?([0-5]\d))?)?(?!\d)"
)
_EPOCH_MS = re.compile(r"(?<!\d)(1[3-9]\d{11})(?!\d)")

# The columns each CRM writes a record's last change in (normalised labels).
MODIFIED_COLUMNS = (
    "last modified date",
    "hs_lastmodifieddate",
    "update time",
    "deal - update time",
    "last modified",
    "lastmodifieddate",
    "systemmodstamp",
    "modified time",
    "modified on",
    "data de atualização",
    "horário de atualização",
    "fecha de actualización",
    "aktualisiert am",
    "date de mise à jour",
)


@dataclass(frozen=True)
class ExportTime:
    """When the export was made, and how stagecoach knows (``how`` for messages)."""

    at: datetime
    how: str
    known: bool = True


def from_name(name: str, time_zone: tzinfo) -> ExportTime | None:
    """A date (and time) in a file's name; the end of that day when no time is given."""
    for match in _ISO_DAY.finditer(name):
        year, month, day, hour, minute, second = match.groups()
        try:
            moment_day = date(int(year), int(month), int(day))
        except ValueError:
            continue
        if hour is None:
            # A daily export named by its day was made that day, at some time: dating
            # its changes at the day's end never puts them before the export.
            at = datetime.combine(moment_day, time(23, 59, 59), time_zone)
        else:
            at = datetime.combine(
                moment_day, time(int(hour), int(minute), int(second or 0)), time_zone
            )
        return ExportTime(at, f"the date in the file name {name!r}")
    stamp = _EPOCH_MS.search(name)
    if stamp:
        at = datetime.fromtimestamp(int(stamp[1]) / 1000, UTC)
        return ExportTime(at, f"the time stamp in the file name {name!r}")
    return None


def resolve(
    *,
    given: datetime | None,
    names: list[str],
    newest_modified: datetime | None,
    now: datetime,
    time_zone: tzinfo,
) -> ExportTime:
    """The export time by the rules above; never in the future, never before a record
    the export shows was modified."""
    found: ExportTime | None = None
    if given is not None:
        if given > now + timedelta(minutes=5):
            raise ValueError(f"the export time {given.isoformat()} is in the future")
        found = ExportTime(given, "--exported-at")
    else:
        for name in names:
            found = from_name(name, time_zone)
            if found is not None:
                break
        if found is not None and newest_modified is not None and found.at < newest_modified:
            # A file renamed by hand, or named by the day it was asked for.
            found = ExportTime(newest_modified, "the newest last-modified time in the file")
        if found is None and newest_modified is not None:
            found = ExportTime(newest_modified, "the newest last-modified time in the file")
    if found is None:
        return ExportTime(now, "the time of the import", known=False)
    if found.at > now + timedelta(minutes=5):
        return ExportTime(now, f"the time of the import ({found.how} is in the future)")
    return found
