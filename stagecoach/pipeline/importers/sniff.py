"""What an export is, from its file names and header row, before anything is read.

Each format has a signature: the files or column labels that its exports always
carry. A path is the format whose signature it matches best; a file that matches
none is ``unknown`` (the column mapping reads it), and a file that matches another
CRM stagecoach has no importer for (Zoho CRM, Dynamics 365) is named as such so a
message can say what it looks like.

Only the header row is read (and, for Pipedrive without its ``Deal - `` prefix, a
few status values), so sniffing a large export is quick.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stagecoach.pipeline.importers.base import ImportFileError
from stagecoach.pipeline.importers.labels import SPREADSHEET_SUFFIXES, Sheet, open_sheet
from stagecoach.pipeline.importers.limits import check_archive
from stagecoach.pipeline.importers.pipedrive import (
    COLUMNS,
    DEAL_PREFIXES,
    STATUS_WORDS,
    find_columns,
    language,
    strip_prefix,
)

UNKNOWN = "unknown"
AUTO = "auto"
MAPPED = "mapped"

# What to call each sniffed kind in a message.
LABELS = {
    "canonical": "stagecoach CSV folder",
    "salesforce": "Salesforce Data Export",
    "salesforce-report": "Salesforce report export",
    "hubspot": "HubSpot deals export",
    "pipedrive": "Pipedrive deals export",
    "maven": "Maven CRM data set",
    "zoho": "Zoho CRM export",
    "dynamics": "Dynamics 365 export",
    UNKNOWN: "unknown export",
}
# The importer that reads each kind; the others go through the column mapping.
IMPORTER = {
    "canonical": "canonical",
    "salesforce": "salesforce",
    "salesforce-report": "salesforce",
    "hubspot": "hubspot",
    "pipedrive": "pipedrive",
    "maven": "maven",
}

PIPEDRIVE_CORE = ("id", "title", "owner", "value", "stage", "status")
HUBSPOT_LABELS = ("record id", "deal id", "deal name", "deal stage", "deal owner", "pipeline")
HUBSPOT_PROPERTIES = ("hs_object_id", "dealname", "dealstage", "hubspot_owner_id", "closedate")
SALESFORCE_REPORT_LABELS = (
    "opportunity name",
    "opportunity owner",
    "opportunity id",
    "opportunity id (18 digit)",
    "opportunity id (15 digit)",
    "account name",
    "close date",
    "created date",
    "forecast category",
    "fiscal period",
)
ZOHO_LABELS = (
    "potential id",
    "potential name",
    "potential owner",
    "closing date",
    "created time",
    "modified time",
    "record id",
    "deal owner",
    "expected revenue",
)
DYNAMICS_LABELS = (
    "(do not modify) opportunity",
    "(do not modify) row checksum",
    "(do not modify) modified on",
    "est. close date",
    "est. revenue",
    "status reason",
    "potential customer",
    "topic",
)
MAVEN_COLUMNS = ("opportunity_id", "sales_agent", "deal_stage", "engage_date", "close_value")
CANONICAL_COLUMNS = ("opportunity_id", "owner_id", "stage")
SALESFORCE_COLUMNS = ("id", "ownerid", "stagename", "closedate")


@dataclass(frozen=True)
class Sniff:
    """What a path looks like: ``kind`` (a key of LABELS), how sure, and why."""

    kind: str
    confidence: float
    reason: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def importer(self) -> str:
        """The format that reads it: one of the importers, or ``mapped``."""
        return IMPORTER.get(self.kind, MAPPED)

    def __str__(self) -> str:
        return f"{self.label} ({self.confidence:.0%}: {self.reason})"


def _share(columns: set[str], signature: Iterable[str]) -> tuple[float, list[str]]:
    wanted = list(signature)
    found = [c for c in wanted if c in columns]
    return len(found) / len(wanted), found


def sniff_header(header: list[str], *, statuses: Iterable[str] = ()) -> Sniff:
    """The kind of a deals file from its header (and, when given, its status values)."""
    columns = {" ".join(h.replace("\ufeff", "").split()).lower() for h in header}
    candidates: list[Sniff] = []

    share, found = _share(columns, CANONICAL_COLUMNS)
    if share == 1:
        candidates.append(Sniff("canonical", 0.9, "columns opportunity_id, owner_id, stage"))

    share, found = _share(columns, SALESFORCE_COLUMNS)
    if "stagename" in columns and share >= 0.5:
        candidates.append(Sniff("salesforce", share, f"API names {', '.join(found)}"))

    share, found = _share(columns, MAVEN_COLUMNS)
    if share >= 0.6 and "deal_stage" in columns:
        candidates.append(Sniff("maven", share, f"columns {', '.join(found)}"))

    hub_labels = [c for c in HUBSPOT_LABELS if c in columns]
    hub_props = [c for c in HUBSPOT_PROPERTIES if c in columns]
    history = any(c.startswith(("date entered ", "date exited ")) for c in columns)
    if "deal stage" in columns and (len(hub_labels) >= 2 or history):
        confidence = min(1.0, 0.5 + 0.1 * len(hub_labels) + (0.3 if history else 0))
        candidates.append(Sniff("hubspot", confidence, f"labels {', '.join(hub_labels)}"))
    elif "dealstage" in columns and len(hub_props) >= 2:
        candidates.append(
            Sniff("hubspot", 0.5 + 0.1 * len(hub_props), f"properties {', '.join(hub_props)}")
        )

    pipedrive = find_columns(sorted(columns))
    prefixed = [c for c in columns if c.startswith(DEAL_PREFIXES)]
    if pipedrive["stage"] in prefixed or (pipedrive["id"] in prefixed and len(prefixed) >= 2):
        candidates.append(Sniff("pipedrive", 0.95, '"Deal - " labels'))
    elif pipedrive["stage"] and pipedrive["status"]:
        found = [k for k in PIPEDRIVE_CORE if pipedrive[k]]
        share = len(found) / len(PIPEDRIVE_CORE)
        # "Stage" and "Status" alone could be any CRM; Pipedrive's own status words
        # settle it.
        known = {" ".join(s.split()).casefold() for s in statuses if s.strip()}
        words = known <= set(STATUS_WORDS) if known else None
        if share >= 0.66 and words is not False:
            labels = ", ".join(str(pipedrive[k]) for k in found)
            code = language(sorted(columns))
            candidates.append(
                Sniff("pipedrive", share * (1.0 if words else 0.8), f"{code} labels {labels}")
            )

    zoho = [c for c in ZOHO_LABELS if c in columns]
    potential = any(c.startswith("potential ") for c in columns)
    if (potential and len(zoho) >= 2) or ("closing date" in columns and "created time" in columns):
        candidates.append(
            Sniff("zoho", min(1.0, 0.4 + 0.1 * len(zoho)), f"labels {', '.join(zoho)}")
        )

    dynamics = [c for c in DYNAMICS_LABELS if c in columns]
    if any(c.startswith("(do not modify)") for c in columns) or len(dynamics) >= 3:
        candidates.append(
            Sniff(
                "dynamics",
                min(1.0, 0.4 + 0.1 * len(dynamics)),
                f"labels {', '.join(dynamics) or '(do not modify) …'}",
            )
        )

    report = [c for c in SALESFORCE_REPORT_LABELS if c in columns]
    if "stage" in columns and "stagename" not in columns and report:
        confidence = min(0.9, 0.4 + 0.15 * len(report))
        candidates.append(Sniff("salesforce-report", confidence, f"Stage with {', '.join(report)}"))

    if not candidates:
        return Sniff(UNKNOWN, 0.0, "no known CRM's columns")
    # The others name a CRM by labels only it writes; a Salesforce report's labels
    # ("Close Date", "Created Date") are common, so it yields to any of them.
    specific = [c for c in candidates if c.kind != "salesforce-report"]
    return max(specific or candidates, key=lambda c: c.confidence)


def _status_values(sheet: Sheet, limit: int = 200) -> list[str]:
    column = next((c for c in sheet.columns if strip_prefix(c) in COLUMNS["status"]), None)
    if column is None:
        return []
    values = []
    for number, row in enumerate(sheet.rows()):
        if number >= limit:
            break
        values.append(row.get(column))
    return values


def sniff_file(path: Path) -> Sniff:
    sheet = open_sheet(path)
    return sniff_header(sheet.header, statuses=_status_values(sheet))


def _data_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in (".csv", *SPREADSHEET_SUFFIXES)
        and not p.name.startswith(("~$", "."))
    )


def sniff_folder(names: Iterable[str]) -> Sniff | None:
    """The kind of a multi-file export from its file names alone, if they settle it."""
    lowered = {Path(n).name.lower() for n in names}
    stems = {Path(n).stem.lower() for n in lowered}
    if {"people.csv", "opportunities.csv"} <= lowered:
        return Sniff("canonical", 1.0, "files people.csv and opportunities.csv")
    if "opportunity" in stems and len(stems & {"opportunityhistory", "user", "account"}) >= 1:
        return Sniff("salesforce", 1.0, "files Opportunity.csv and its related objects")
    if {"sales_pipeline.csv", "sales_teams.csv"} <= lowered:
        return Sniff("maven", 1.0, "files sales_pipeline.csv and sales_teams.csv")
    return None


def sniff(path: Path) -> Sniff:
    """What the export at ``path`` (a folder, a file or a .zip) is."""
    if not path.exists():
        raise ImportFileError(path.name or str(path), "file or folder not found")
    if path.is_file() and path.suffix.lower() == ".zip":
        check_archive(path, data_only=True)
        try:
            with zipfile.ZipFile(path) as archive:
                names = [m.filename for m in archive.infolist() if not m.is_dir()]
        except zipfile.BadZipFile:
            raise ImportFileError(path.name, "not a valid .zip file") from None
        by_names = sniff_folder(n for n in names if not n.startswith("__MACOSX"))
        if by_names is not None:
            return by_names
        from stagecoach.pipeline.imports import usable_path

        with usable_path(path) as folder:
            return sniff(folder)
    if path.is_dir():
        files = _data_files(path)
        by_names = sniff_folder(p.name for p in files)
        if by_names is not None:
            return by_names
        if len(files) == 1:
            return sniff_file(files[0])
        if not files:
            return Sniff(UNKNOWN, 0.0, "no .csv or .xlsx file in the folder")
        kinds = {sniff_file(p) for p in files}
        known = [k for k in kinds if k.kind != UNKNOWN]
        return (
            max(known, key=lambda k: k.confidence)
            if known
            else Sniff(UNKNOWN, 0.0, f"{len(files)} files, none a known export")
        )
    return sniff_file(path)


def check_claim(format_name: str, path: Path) -> Sniff:
    """Refuse an export given to the wrong importer, naming what it looks like.

    ``mapped`` reads any file, so it is never refused. A folder that is no known
    export is left to the importer, whose message names the files it misses.
    """
    found = sniff(path)
    if format_name == MAPPED or found.importer == format_name:
        return found
    if found.kind == UNKNOWN and path.is_dir():
        return found
    claimed = LABELS.get(format_name, format_name)
    if format_name == "salesforce":
        claimed = "Salesforce Data Export or report"
    if found.importer == MAPPED:
        advice = f"use `stagecoach import mapped {path.name} --profile NAME` (a column mapping)"
    else:
        advice = f"use `stagecoach import {found.importer}` (or `stagecoach import auto`)"
    raise ImportFileError(
        path.name,
        f"this looks like {article(found.label)} ({found.reason}), not a {claimed}; {advice}",
    )


def article(label: str) -> str:
    return f"an {label}" if label[0].lower() in "aeiou" else f"a {label}"
