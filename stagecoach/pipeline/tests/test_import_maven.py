from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from stagecoach.pipeline.importers.base import ImportFileError, Reader
from stagecoach.pipeline.importers.maven import MavenReader
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
from stagecoach.testing.shared_data import shared_data_dir

MAVEN = shared_data_dir() / "maven-crm"


@dataclass
class Streams:
    rates: list[RateRecord] = field(default_factory=list)
    teams: list[TeamRecord] = field(default_factory=list)
    people: list[PersonRecord] = field(default_factory=list)
    stages: list[StageRecord] = field(default_factory=list)
    opportunities: list[OpportunityRecord] = field(default_factory=list)
    stage_changes: list[StageChangeRecord] = field(default_factory=list)
    field_changes: list[FieldChangeRecord] = field(default_factory=list)
    activities: list[ActivityRecord] = field(default_factory=list)
    quotas: list[QuotaRecord] = field(default_factory=list)


def drain(reader: Reader) -> Streams:
    """Open the reader and read every stream in the loader's order."""
    reader.open()
    return Streams(
        rates=list(reader.rates()),
        teams=list(reader.teams()),
        people=list(reader.people()),
        stages=list(reader.stages()),
        opportunities=list(reader.opportunities()),
        stage_changes=list(reader.stage_changes()),
        field_changes=list(reader.field_changes()),
        activities=list(reader.activities()),
        quotas=list(reader.quotas()),
    )


def pipeline_rows() -> list[dict[str, str]]:
    with (MAVEN / "sales_pipeline.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def list_prices() -> dict[str, Decimal]:
    with (MAVEN / "products.csv").open(encoding="utf-8", newline="") as handle:
        return {
            re.sub(r"\s", "", row["product"]).lower(): Decimal(row["sales_price"])
            for row in csv.DictReader(handle)
        }


@pytest.fixture(scope="module")
def maven() -> tuple[Streams, ImportReport]:
    report = ImportReport()
    return drain(MavenReader(MAVEN, report, time_zone=UTC)), report


def test_every_deal_is_read_with_its_outcome(maven: tuple[Streams, ImportReport]) -> None:
    streams, report = maven
    kinds = {s.name: s.kind for s in streams.stages}
    outcome = Counter(kinds[o.stage] for o in streams.opportunities)
    assert len(streams.opportunities) == 8800
    assert outcome["won"] == 4238
    assert outcome["lost"] == 2473
    assert Counter(o.stage for o in streams.opportunities)["Prospecting"] == 500
    assert len({o.owner_source_id for o in streams.opportunities}) == 30
    assert report.rejects == []
    assert report.table("opportunities").read == 8800
    assert sum(1 for o in streams.opportunities if not o.account) == 1425
    assert all(o.created_at is None and o.currency is None for o in streams.opportunities)
    assert streams.rates == streams.field_changes == streams.activities == streams.quotas == []


def test_people_form_agent_manager_office_tree(maven: tuple[Streams, ImportReport]) -> None:
    streams, _ = maven
    roles = Counter(p.role for p in streams.people)
    assert roles == {"rep": 35, "manager": 6}
    managers = {p.source_id: p for p in streams.people if p.role == "manager"}
    assert {m.parent_team for m in managers.values()} == {"Central", "East", "West"}
    for rep in (p for p in streams.people if p.role == "rep"):
        manager = managers[rep.manager_source_id or ""]
        assert rep.team == manager.team == f"{manager.name}'s team"
        assert rep.parent_team == manager.parent_team
    dustin = managers["Dustin Brinkmann"]
    assert (dustin.team, dustin.parent_team) == ("Dustin Brinkmann's team", "Central")
    assert [(t.name, t.parent, t.manager_source_id) for t in streams.teams][:4] == [
        ("Central", None, None),
        ("East", None, None),
        ("West", None, None),
        ("Dustin Brinkmann's team", "Central", "Dustin Brinkmann"),
    ]
    assert len(streams.teams) == 9
    assert streams.people.index(dustin) < min(
        i for i, p in enumerate(streams.people) if p.manager_source_id == "Dustin Brinkmann"
    )


def test_four_stages_in_process_order(maven: tuple[Streams, ImportReport]) -> None:
    streams, _ = maven
    assert [(s.name, s.kind, s.order, s.pipeline) for s in streams.stages] == [
        ("Prospecting", "open", 1, ""),
        ("Engaging", "open", 2, ""),
        ("Won", "won", 3, ""),
        ("Lost", "lost", 4, ""),
    ]


def test_stage_changes_come_from_engage_and_close_dates(
    maven: tuple[Streams, ImportReport],
) -> None:
    streams, report = maven
    rows = pipeline_rows()
    engaged = sum(1 for r in rows if r["engage_date"])
    closed = sum(1 for r in rows if r["deal_stage"] in ("Won", "Lost"))
    assert len(streams.stage_changes) == engaged + closed
    assert report.table("stage_changes").read == engaged + closed
    first = rows[0]
    assert [
        (c.stage, c.changed_at)
        for c in streams.stage_changes
        if c.opportunity_source_id == first["opportunity_id"]
    ] == [
        ("Engaging", datetime.fromisoformat(first["engage_date"]).replace(tzinfo=UTC)),
        (first["deal_stage"], datetime.fromisoformat(first["close_date"]).replace(tzinfo=UTC)),
    ]
    by_id = {o.source_id: o for o in streams.opportunities}
    assert not any(
        by_id[c.opportunity_source_id].stage == "Prospecting" for c in streams.stage_changes
    )


def test_won_counts_per_agent_match_the_file(maven: tuple[Streams, ImportReport]) -> None:
    streams, _ = maven
    expected = Counter(r["sales_agent"] for r in pipeline_rows() if r["deal_stage"] == "Won")
    actual = Counter(o.owner_source_id for o in streams.opportunities if o.stage == "Won")
    assert actual == expected


def test_amounts_use_close_value_or_the_list_price(maven: tuple[Streams, ImportReport]) -> None:
    streams, report = maven
    prices = list_prices()
    rows = {r["opportunity_id"]: r for r in pipeline_rows()}
    for deal in streams.opportunities:
        row = rows[deal.source_id]
        price = prices[re.sub(r"\s", "", row["product"]).lower()]
        if deal.stage == "Won":
            assert deal.amount == Decimal(row["close_value"])
            assert deal.closed_at == datetime.fromisoformat(row["close_date"]).replace(tzinfo=UTC)
        else:
            assert deal.amount == price, deal
        if deal.stage in ("Prospecting", "Engaging"):
            assert deal.closed_at is None and deal.close_date is None
    gtx_pro = [o for o in streams.opportunities if rows[o.source_id]["product"] == "GTXPro"]
    assert len(gtx_pro) == 1480
    assert all(o.name.startswith("GTX Pro — ") for o in gtx_pro)
    assert {o.amount for o in gtx_pro if o.stage != "Won"} == {Decimal(4821)}
    assert any("'GTXPro' read as 'GTX Pro'" in w for w in report.warnings)
    assert any("lost deals have close_value 0" in w for w in report.warnings)
    assert any("no currency" in w for w in report.warnings)
    assert any(o.name.endswith(" — no account") for o in streams.opportunities)


def test_each_stream_call_reads_the_file_afresh() -> None:
    reader = MavenReader(MAVEN, ImportReport(), time_zone=UTC)
    reader.open()
    first = list(reader.opportunities())
    reader.report = ImportReport()
    again = list(reader.opportunities())
    assert again == first
    assert reader.report.table("opportunities").read == 8800
    assert len(list(reader.stage_changes())) == 15011


# -- bad rows on a small copy ---------------------------------------------------------


def small_copy(folder: Path, edit: dict[int, dict[str, str]], extra: list[list[str]]) -> None:
    """The first 12 deals of the data set, with cells replaced and rows added."""
    for name in ("sales_teams.csv", "products.csv", "accounts.csv"):
        (folder / name).write_text((MAVEN / name).read_text(encoding="utf-8"), encoding="utf-8")
    rows = pipeline_rows()[:12]
    for index, cells in edit.items():
        rows[index].update(cells)
    with (folder / "sales_pipeline.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(rows[0].keys())
        out.writerows(r.values() for r in rows)
        out.writerows(extra)


def test_bad_rows_are_rejected_with_file_line_and_column(tmp_path: Path) -> None:
    small_copy(
        tmp_path,
        {
            1: {"close_date": "2017-02-30"},
            2: {"deal_stage": "Negotiating"},
            3: {"engage_date": "soon"},
            4: {"close_value": "lots"},
            5: {"sales_agent": "Nobody Known"},
        },
        [
            ["ZZNEW001", "Nobody Known", "GTX Basic", "", "Engaging", "2017-01-02", "", ""],
            ["ZZNEW002", "Moses Frase", "Unheard Of", "Cancity", "Prospecting", "", "", ""],
            ["ZZNEW001", "Moses Frase", "GTX Basic", "", "Engaging", "2017-01-02", "", ""],
        ],
    )
    report = ImportReport()
    streams = drain(MavenReader(tmp_path, report, time_zone=UTC))
    rejects = [(r.file, r.line, r.column, r.reason) for r in report.rejects]
    hint = "(use YYYY-MM-DD or M/D/YYYY)"
    assert rejects == [
        ("sales_pipeline.csv", 3, "close_date", f"not a date: '2017-02-30' {hint}"),
        ("sales_pipeline.csv", 4, "deal_stage",
         "unknown stage 'Negotiating': expected Prospecting, Engaging, Won or Lost"),
        ("sales_pipeline.csv", 5, "engage_date", f"not a date: 'soon' {hint}"),
        ("sales_pipeline.csv", 6, "close_value", "not an amount: 'lots'"),
        ("sales_pipeline.csv", 16, "opportunity_id", "duplicate id 'ZZNEW001': first on line 14"),
    ]  # fmt: skip
    assert report.rejects[0].row is not None and report.rejects[0].row[6] == "2017-02-30"
    assert report.table("opportunities").read == 15
    assert report.table("opportunities").rejected == 5
    ids = [o.source_id for o in streams.opportunities]
    assert len(ids) == 10 and "ZZNEW001" in ids
    rejected_ids = {r.row[0] for r in report.rejects if r.row and r.row[0] != "ZZNEW001"}
    assert not rejected_ids & {c.opportunity_source_id for c in streams.stage_changes}
    assert [w for w in report.warnings if "Nobody Known" in w] == [
        "sales_pipeline.csv: sales agent 'Nobody Known' is not in sales_teams.csv"
    ]
    unknown = next(o for o in streams.opportunities if o.source_id == "ZZNEW002")
    assert unknown.amount is None and unknown.name == "Unheard Of — Cancity"
    assert any("'Unheard Of' is not in products.csv" in w for w in report.warnings)


def test_products_are_optional(tmp_path: Path) -> None:
    small_copy(tmp_path, {}, [])
    (tmp_path / "products.csv").unlink()
    report = ImportReport()
    streams = drain(MavenReader(tmp_path, report, time_zone=UTC))
    assert len(streams.opportunities) == 12
    assert all(o.amount is not None for o in streams.opportunities if o.stage == "Won")
    assert any("no products.csv" in w for w in report.warnings)


def test_missing_required_file_or_column_stops_the_import(tmp_path: Path) -> None:
    small_copy(tmp_path, {}, [])
    (tmp_path / "sales_teams.csv").unlink()
    with pytest.raises(ImportFileError, match=r"sales_teams\.csv"):
        MavenReader(tmp_path, ImportReport(), time_zone=UTC).open()
    small_copy(tmp_path, {}, [])
    (tmp_path / "sales_pipeline.csv").write_text("opportunity_id,sales_agent\nX1,Moses Frase\n")
    with pytest.raises(ImportFileError, match="deal_stage"):
        MavenReader(tmp_path, ImportReport(), time_zone=UTC).open()
