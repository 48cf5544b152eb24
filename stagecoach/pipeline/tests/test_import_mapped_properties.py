"""Properties of the column mapping: what a profile reads does not depend on how the
file names or orders its columns, every stage value lands on the kind the profile
gives it, and no row is ever dropped silently."""

from __future__ import annotations

import csv
import string
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stagecoach.pipeline.importers.mapped import (
    FIELDS,
    MappedReader,
    Mapping,
    opportunity_type,
    suggest_columns,
)
from stagecoach.pipeline.importers.records import OpportunityRecord
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.tests.mapped_fixtures import ZOHO_HEADER, zoho_profile, zoho_rows

UTC_ZONE = ZoneInfo("UTC")
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read(path: Path, mapping: Mapping) -> tuple[list[OpportunityRecord], ImportReport]:
    report = ImportReport()
    reader = MappedReader(path, report, time_zone=UTC_ZONE, mapping=mapping)
    reader.open()
    list(reader.people())
    list(reader.stages())
    return list(reader.opportunities()), report


def essence(records: list[OpportunityRecord]) -> list[tuple[object, ...]]:
    return [
        (r.source_id, r.owner_source_id, r.name, r.account, r.stage, r.amount,
         r.created_at, r.close_date, r.type)
        for r in records
    ]  # fmt: skip


labels = st.text(alphabet=string.ascii_letters + " _-()%", min_size=1, max_size=20).filter(
    lambda s: s.strip() != ""
)


@PROPERTY
@given(
    order=st.permutations(range(len(ZOHO_HEADER))),
    names=st.lists(
        labels, min_size=12, max_size=12, unique_by=lambda s: " ".join(s.split()).lower()
    ),
)
def test_renamed_and_reordered_columns_import_identically(
    order: list[int], names: list[str]
) -> None:
    rows = zoho_rows(15)
    profile = zoho_profile()
    with tempfile.TemporaryDirectory() as folder:
        original, _ = read(
            write(Path(folder) / "a.csv", ZOHO_HEADER, rows), Mapping.from_dict(profile)
        )
        renamed = {old: names[i] for i, old in enumerate(ZOHO_HEADER)}
        header = [renamed[ZOHO_HEADER[i]] for i in order]
        shuffled = [[row[i] for i in order] for row in rows]
        columns = profile["columns"]
        assert isinstance(columns, dict)
        profile["columns"] = {f: renamed[c] for f, c in columns.items()}
        again, report = read(
            write(Path(folder) / "b.csv", header, shuffled), Mapping.from_dict(profile)
        )
    assert report.rejects == []
    assert essence(again) == essence(original)
    assert len(again) == len(rows)


@PROPERTY
@given(order=st.permutations(range(len(ZOHO_HEADER))))
def test_suggestions_do_not_depend_on_column_order(order: list[int]) -> None:
    rows = zoho_rows(20)
    header = [ZOHO_HEADER[i] for i in order]
    shuffled = [[row[i] for i in order] for row in rows]
    suggested = suggest_columns(header, shuffled)
    assert suggested == suggest_columns(ZOHO_HEADER, rows)
    chosen = [c for c in suggested.values() if c is not None]
    assert len(chosen) == len(set(chosen))
    assert set(suggested) == set(FIELDS)


@PROPERTY
@given(header=st.lists(labels, min_size=1, max_size=10, unique=True), data=st.data())
def test_suggestions_only_name_columns_of_the_file(header: list[str], data: st.DataObject) -> None:
    rows = data.draw(
        st.lists(
            st.lists(st.text(max_size=12), min_size=len(header), max_size=len(header)), max_size=5
        )
    )
    suggested = suggest_columns(header, rows)
    chosen = [c for c in suggested.values() if c is not None]
    assert set(chosen) <= set(header)
    assert len(chosen) == len(set(chosen))


stage_names = st.text(alphabet=string.ascii_letters + " /-", min_size=1, max_size=15).filter(
    lambda s: s.strip() != ""
)


@PROPERTY
@given(
    values=st.dictionaries(
        stage_names.map(lambda s: " ".join(s.split())),
        st.sampled_from(["open", "won", "lost"]),
        min_size=1,
        max_size=6,
    ),
    picks=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=25),
    shout=st.booleans(),
)
def test_every_stage_value_gets_the_kind_the_profile_gives_it(
    values: dict[str, str], picks: list[int], shout: bool
) -> None:
    unique = {}
    for value, kind in values.items():
        unique.setdefault(value.casefold(), (value, kind))
    mapped = list(unique.values())
    unmapped = "Not In The Profile"
    rows = []
    for n, pick in enumerate(picks):
        value = mapped[pick][0] if pick < len(mapped) else unmapped
        written = f"  {value.upper() if shout else value} "
        rows.append([str(n), "Ana Lima", written])
    # Each stage keeps its own name, so kinds cannot clash.
    profile = Mapping.from_dict(
        {
            "name": "p",
            "columns": {"opportunity_id": "Id", "owner": "Owner", "stage": "Stage"},
            "stages": [
                {"value": v, "stage": f"S{i} {v}", "kind": k} for i, (v, k) in enumerate(mapped)
            ],
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "deals.csv", ["Id", "Owner", "Stage"], rows)
        report = ImportReport()
        reader = MappedReader(path, report, time_zone=UTC_ZONE, mapping=profile)
        reader.open()
        stages = {(s.name, s.kind) for s in reader.stages()}
        records = list(reader.opportunities())
    kinds = dict(stages)
    by_id = {r.source_id: r for r in records}
    for n, pick in enumerate(picks):
        if pick < len(mapped):
            value, kind = mapped[pick]
            assert kinds[by_id[str(n)].stage] == kind
        else:
            assert str(n) not in by_id
    # Every row is either read or rejected with the value named.
    assert len(records) + len(report.rejects) == len(rows)
    assert all("is not in profile 'p'" in r.reason for r in report.rejects)


@PROPERTY
@given(
    status=st.sampled_from(["Won", "won", " LOST ", "Open", "closed won"]),
    stage_kind=st.sampled_from(["open", "won", "lost"]),
)
def test_a_status_column_says_how_a_deal_ended(status: str, stage_kind: str) -> None:
    profile = Mapping.from_dict(
        {
            "name": "p",
            "columns": {
                "opportunity_id": "Id",
                "owner": "Owner",
                "stage": "Phase",
                "status": "Status",
            },
            "stages": [{"value": "Propose", "stage": "Propose", "kind": stage_kind}],
        }
    )
    expected = {"won": "won", "closed won": "won", "lost": "lost", "open": "open"}[
        status.strip().lower()
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = write(
            Path(folder) / "deals.csv",
            ["Id", "Owner", "Phase", "Status"],
            [["1", "A", "Propose", status]],
        )
        report = ImportReport()
        reader = MappedReader(path, report, time_zone=UTC_ZONE, mapping=profile)
        reader.open()
        kinds = {s.name: s.kind for s in reader.stages()}
        records = list(reader.opportunities())
    if expected == "open" and stage_kind != "open":
        assert records == [] and "the status says open" in report.rejects[0].reason
    else:
        (record,) = records
        assert kinds[record.stage] == (expected if expected != "open" else stage_kind)


@given(value=st.text(max_size=30))
def test_an_unknown_type_is_never_a_rejection(value: str) -> None:
    assert opportunity_type(value) in ("new", "renewal", "expansion", None)


@given(
    spacing=st.sampled_from(["", " ", "  "]),
    value=st.sampled_from(["New Business", "Existing Customer - Upgrade", "Renewal", "Upsell"]),
)
def test_types_ignore_case_and_spacing(spacing: str, value: str) -> None:
    written = spacing + value.upper().replace(" ", " " + spacing) + spacing
    assert opportunity_type(written) == opportunity_type(value) is not None


@given(data=st.data())
def test_a_profile_survives_its_json_form(data: st.DataObject) -> None:
    base = zoho_profile(data.draw(labels))
    base["date_format"] = data.draw(st.sampled_from(["dmy", "mdy"]))
    mapping = Mapping.from_dict(base)
    assert Mapping.from_dict(mapping.to_dict()) == mapping
