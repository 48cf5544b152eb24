"""Hostile input, generated: archives that unpack past the limits, transcripts of any
shape and size, addresses with line breaks and lists, and exports older than what is
stored.

Each property runs a fixed, reproducible budget (see ``test_import_fuzz.fuzz``).
"""

from __future__ import annotations

import csv
import os
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import strategies as st

from stagecoach.accounts.models import Person
from stagecoach.coaching import asktell
from stagecoach.lib.emails import email_problem
from stagecoach.pipeline.importers.limits import DATA_SUFFIXES, MB, RATIO_FLOOR_BYTES
from stagecoach.pipeline.imports import run_import
from stagecoach.pipeline.models import ImportRun, Opportunity, StageChange
from stagecoach.pipeline.tests.test_import_canonical import small_export, write
from stagecoach.pipeline.tests.test_import_fuzz import fuzz, row_counts

pytestmark = pytest.mark.django_db

# -- archives ------------------------------------------------------------------------------

RATIO = 50
UNPACKED_MB = 3

member = st.tuples(
    st.sampled_from(["extra.csv", "notes.txt", "deals.xlsx", "logo.png", "sub/more.csv"]),
    st.integers(0, 2 * MB),
    st.booleans(),  # compressible (one byte repeated) or not (random bytes)
)


def _expected_refusal(path: Path) -> str | None:
    """The limit the archive breaks, computed from what it holds."""
    with zipfile.ZipFile(path) as archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and Path(m.filename).suffix.lower() in DATA_SUFFIXES
        ]
    for m in members:
        if m.file_size >= RATIO_FLOOR_BYTES and m.file_size / max(m.compress_size, 1) > RATIO:
            return "IMPORT_MAX_RATIO"
    if sum(m.file_size for m in members) > UNPACKED_MB * MB:
        return "IMPORT_MAX_UNPACKED_MB"
    return None


def test_archives_are_refused_exactly_when_they_break_a_limit(record_property: Any) -> None:
    def check(members: list[tuple[str, int, bool]]) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            folder = small_export(Path(scratch) / "export")
            path = Path(scratch) / "export.zip"
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for source in folder.iterdir():
                    archive.write(source, source.name)
                for index, (name, size, compressible) in enumerate(members):
                    data = b"a" * size if compressible else os.urandom(size)
                    archive.writestr(f"{index}-{name}", data)
            expected = _expected_refusal(path)
            before = row_counts()
            with override_settings(IMPORT_MAX_RATIO=RATIO, IMPORT_MAX_UNPACKED_MB=UNPACKED_MB):
                outcome = run_import(format_name="auto", path=path)
            if expected is not None:
                assert not outcome.ok
                assert expected in outcome.run.error, outcome.run.error
                assert outcome.run.error.startswith("export.zip: "), outcome.run.error
                assert row_counts() == before
            else:
                assert "IMPORT_MAX" not in (outcome.run.error or ""), outcome.run.error

    fuzz(check, st.lists(member, max_size=4), examples=25, record_property=record_property)


def test_workbooks_are_refused_exactly_when_they_break_a_limit(record_property: Any) -> None:
    """An .xlsx is a zip: every part of it counts, whatever its name."""
    from stagecoach.pipeline.tests.test_import_fuzz import Sheet, xlsx_bytes

    book = xlsx_bytes(
        Sheet(
            "deals.xlsx",
            [["Deal Name", "Deal Stage", "Amount", "Deal owner"], ["A", "Closed won", 10, "Ann"]],
        )
    )

    def check(members: list[tuple[str, int, bool]]) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "deals.xlsx"
            path.write_bytes(book)
            with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
                for index, (_, size, compressible) in enumerate(members):
                    data = b" " * size if compressible else os.urandom(size)
                    archive.writestr(f"xl/media/part{index}.xml", data)
            with zipfile.ZipFile(path) as archive:
                parts = archive.infolist()
            expected = None
            if any(
                p.file_size >= RATIO_FLOOR_BYTES and p.file_size / max(p.compress_size, 1) > RATIO
                for p in parts
            ):
                expected = "IMPORT_MAX_RATIO"
            elif sum(p.file_size for p in parts) > UNPACKED_MB * MB:
                expected = "IMPORT_MAX_UNPACKED_MB"
            before = row_counts()
            with override_settings(IMPORT_MAX_RATIO=RATIO, IMPORT_MAX_UNPACKED_MB=UNPACKED_MB):
                outcome = run_import(format_name="hubspot", path=path)
            if expected is not None:
                assert not outcome.ok
                assert expected in outcome.run.error, outcome.run.error
                assert row_counts() == before
            else:
                assert "IMPORT_MAX" not in (outcome.run.error or ""), outcome.run.error

    fuzz(check, st.lists(member, max_size=3), examples=20, record_property=record_property)


# -- transcripts ---------------------------------------------------------------------------

PIECES = [
    "<v ", "<v Coach>", "<v Rep>", "</v>", "WEBVTT", "\n", "\r\n", "\r", "00:00:01.000 --> "
    "00:00:02.000", "12", "Coach: ", "Rep: ", "What do you think?", "Send it today.",
    "Tell me more", "?", "!", ".", "<b>", "<", ">", " ", "-", "NOTE", "\u202e", "\x00",
]  # fmt: skip

transcripts = st.tuples(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=12),
    st.integers(1, 40_000),  # times the pattern repeats: up to some 1.5 million characters
    st.text(max_size=40),
)


def test_any_transcript_is_tallied_and_read_no_further_than_the_limit(
    record_property: Any,
) -> None:
    def check(case: tuple[list[str], int, str]) -> None:
        pattern, repeats, tail = case
        text = "".join(pattern) * repeats + tail
        tally = asktell.count(text, coach="Coach")
        assert tally.questions >= 0 and tally.directives >= 0
        read = text[: asktell.MAX_TRANSCRIPT]
        # A sentence ends at . ! or ? or its line: no more of them are counted.
        assert tally.questions + tally.directives <= sum(map(read.count, ".!?")) + tally.lines
        if len(text) > asktell.MAX_TRANSCRIPT:
            same = asktell.count(text[: asktell.MAX_TRANSCRIPT], coach="Coach")
            assert (tally.questions, tally.directives, tally.lines) == (
                same.questions,
                same.directives,
                same.lines,
            )

    fuzz(check, transcripts, examples=30, record_property=record_property)


# -- addresses -----------------------------------------------------------------------------

INJECTIONS = [
    "rob@example.com\r\nBcc: all@evil.example",
    "rob@example.com\nSubject: hi",
    "rob@example.com, boss@evil.example",
    "rob@example.com;boss@evil.example",
    "rob@example.com boss@evil.example",
    "Rob <rob@example.com>",
    "rob@example.com\x00",
    "=cmd|' /C calc'!A0",
    "rob@@example.com",
    "a" * 250 + "@example.com",
    "rob@example.com",
    "",
]

addresses = st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=40))


def test_an_imported_address_is_one_address_or_none(record_property: Any) -> None:
    def check(emails: list[str]) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            folder = small_export(Path(scratch) / "export")
            people = [["person_id", "name", "email", "role", "manager_id", "team"]]
            people.append(["m1", "Mia Manager", "mia@example.com", "manager", "", "East"])
            ids = []
            for index, email in enumerate(emails):
                ids.append(f"r{index + 1}")
                people.append([ids[-1], f"Rep {index + 1}", email, "rep", "m1", "East"])
            write(folder, "people.csv", people)
            outcome = run_import(format_name="canonical", path=folder)
            assert outcome.ok, outcome.run.error
            kept = dict(
                Person.objects.filter(
                    source_ids__source_id__in=ids, source_ids__source="canonical"
                ).values_list("source_ids__source_id", "email")
            )
            assert set(kept) == set(ids), "a person with a bad address is still imported"
            for email in kept.values():
                assert email == "" or email_problem(email) is None, email

    fuzz(
        check,
        st.lists(addresses, min_size=1, max_size=4),
        examples=25,
        record_property=record_property,
    )


# -- older exports ---------------------------------------------------------------------------

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
PATHS = [
    ["Lead"],
    ["Lead", "Demo"],
    ["Lead", "Demo", "Proposal"],
    ["Lead", "Demo", "Won"],
    ["Lead", "Lost"],
    ["Lead", "Demo", "Proposal", "Won"],
    ["Lead", "Demo", "Proposal", "Lost"],
]

deals = st.lists(
    st.tuples(st.sampled_from(PATHS), st.lists(st.integers(1, 40), min_size=4, max_size=4)),
    min_size=1,
    max_size=6,
)
exports = st.tuples(deals, st.integers(0, 120), st.booleans())


def _export(
    folder: Path, deals: list[tuple[list[str], list[int]]], cut: datetime | None, modified: bool
) -> Path:
    """The deals as an export made at ``cut`` would show them (None: today)."""
    write(
        folder,
        "people.csv",
        [
            ["person_id", "name", "role", "manager_id", "team"],
            ["m1", "Mia", "manager", "", "E"],
            ["r1", "Rob", "rep", "m1", "E"],
        ],
    )
    write(
        folder,
        "stages.csv",
        [
            ["stage", "order", "kind"],
            *[["Lead", 1, "open"], ["Demo", 2, "open"], ["Proposal", 3, "open"]],
            *[["Won", 4, "won"], ["Lost", 5, "lost"]],
        ],
    )
    opportunities = [["opportunity_id", "owner_id", "stage", "created_at", "modified_at"]]
    changes = [["opportunity_id", "stage", "changed_at"]]
    for number, (path, gaps) in enumerate(deals):
        at = START + timedelta(days=number)
        seen: list[tuple[str, datetime]] = []
        for stage, gap in zip(path, gaps, strict=False):
            if cut is not None and at > cut:
                break
            seen.append((stage, at))
            at += timedelta(days=gap)
        if not seen:
            continue
        deal = f"o{number}"
        opportunities.append(
            [deal, "r1", seen[-1][0], seen[0][1].isoformat(), seen[-1][1].isoformat()]
        )
        changes += [[deal, stage, moment.isoformat()] for stage, moment in seen]
    if not modified:
        opportunities = [row[:4] for row in opportunities]
    write(folder, "opportunities.csv", opportunities)
    write(folder, "stage_changes.csv", changes)
    return folder


def _state() -> tuple[object, ...]:
    return (
        sorted(Opportunity.objects.values_list("source_id", "stage__name", "closed_at")),
        StageChange.objects.count(),
    )


def test_an_older_export_never_moves_data_back(record_property: Any) -> None:
    def check(case: tuple[list[tuple[list[str], list[int]]], int, bool]) -> None:
        deals, cut_day, modified = case
        cut = START + timedelta(days=cut_day)
        with tempfile.TemporaryDirectory() as scratch:
            newer = _export(Path(scratch) / "newer", deals, None, modified)
            older = _export(Path(scratch) / "older", deals, cut, modified)
            assert run_import(format_name="canonical", path=newer).ok
            stored = _state()
            outcome = run_import(format_name="canonical", path=older)
            if _has_deals(older):
                assert outcome.ok, outcome.run.error
                assert outcome.run.counts["opportunities"]["updated"] == 0
            assert _state() == stored
            again = run_import(format_name="canonical", path=newer)
            assert again.ok, again.run.error
            assert _state() == stored
            assert again.run.counts["stage_changes"]["created"] == 0
            assert again.run.status == ImportRun.Status.SUCCEEDED

    fuzz(check, exports, examples=25, record_property=record_property)


def _has_deals(folder: Path) -> bool:
    with (folder / "opportunities.csv").open(newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) > 1
