"""The engine on a real data set — Maven Analytics' "CRM Sales Opportunities" (8,800
deals, 2016-17) — against the same figures computed independently with pandas straight
from ``sales_pipeline.csv``.

The frames are built from the Maven reader's records, with no database in between.
Maven has no created date: a deal's history is its engage date (entering Engaging)
and its close date (entering Won or Lost).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import polars as pl
import pytest

from stagecoach.analytics.engine import deals
from stagecoach.analytics.engine.compute import Results, compute
from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window
from stagecoach.pipeline.importers.maven import MavenReader
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.testing.shared_data import shared_data_dir

MAVEN = shared_data_dir() / "maven-crm"
# The whole data set: engage dates from 2016-10-20, close dates up to 2017-12-31.
WINDOW = Window(datetime(2018, 1, 1, tzinfo=UTC), 500)


def frame(name: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")


def money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def read_maven() -> tuple[Data, dict[str, int]]:
    """The engine's frames from the reader's streams, drained in the loader's order."""
    reader = MavenReader(MAVEN, ImportReport(), time_zone=UTC)
    reader.open()
    list(reader.rates())
    teams = list(reader.teams())
    people = list(reader.people())
    stages = list(reader.stages())
    opportunities = list(reader.opportunities())
    stage_changes = list(reader.stage_changes())

    team_id = {t.name: i for i, t in enumerate(teams, start=1)}
    person_id = {p.source_id: i for i, p in enumerate(people, start=1)}
    stage_id = {s.name: i for i, s in enumerate(stages, start=1)}
    deal_id = {o.source_id: i for i, o in enumerate(opportunities, start=1)}
    data = Data(
        teams=frame(
            "teams",
            [
                (
                    team_id[t.name],
                    team_id.get(t.parent or ""),
                    person_id.get(t.manager_source_id or ""),
                    t.name,
                )
                for t in teams
            ],
        ),
        people=frame(
            "people",
            [
                (person_id[p.source_id], p.name, p.role, team_id.get(p.team or ""), p.is_active)
                for p in people
            ],
        ),
        stages=frame(
            "stages",
            [(stage_id[s.name], 1, s.name, s.order, s.kind, None, False) for s in stages],
        ),
        opportunities=frame(
            "opportunities",
            [
                (
                    deal_id[o.source_id],
                    person_id[o.owner_source_id],
                    1,
                    stage_id[o.stage],
                    money(o.amount),
                    o.created_at,
                    o.close_date,
                    o.closed_at,
                    o.type,
                )
                for o in opportunities
            ],
        ),
        stage_changes=frame(
            "stage_changes",
            [
                (deal_id[c.opportunity_source_id], stage_id[c.stage], c.changed_at)
                for c in stage_changes
            ],
        ),
    )
    return data, person_id


@pytest.fixture(scope="module")
def maven() -> tuple[Data, dict[str, int], Results]:
    data, person_id = read_maven()
    return data, person_id, compute(data, WINDOW, simulations=200)


def expected_by_agent() -> pd.DataFrame:
    """Won, lost, win rate, average won deal and median cycle per agent, by pandas."""
    rows = pd.read_csv(MAVEN / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    won = rows[rows["deal_stage"] == "Won"]
    lost = rows[rows["deal_stage"] == "Lost"]
    cycle = (won["close_date"] - won["engage_date"]).dt.days
    table = pd.DataFrame(
        {
            "won": won.groupby("sales_agent").size(),
            "lost": lost.groupby("sales_agent").size(),
            "avg_won_amount": won.groupby("sales_agent")["close_value"].mean(),
            "median_cycle_days": cycle.groupby(won["sales_agent"]).median(),
        }
    )
    table[["won", "lost"]] = table[["won", "lost"]].fillna(0).astype(int)
    table["win_rate"] = table["won"] / (table["won"] + table["lost"])
    return table


def test_the_cycle_starts_at_the_first_stage_entry(
    maven: tuple[Data, dict[str, int], Results],
) -> None:
    # Maven has no created date, so the engine falls back to the deal's first stage
    # entry — the engage date — and the sales cycle is close_date − engage_date.
    data, _, _ = maven
    conformed = data.conformed()
    assert conformed.opportunities["created_at"].null_count() == len(conformed.opportunities)
    states = deals.deal_states(conformed, WINDOW)
    first_entry = conformed.stage_changes.group_by("opportunity_id").agg(
        pl.col("changed_at").min().alias("first")
    )
    joined = states.join(first_entry, left_on="id", right_on="opportunity_id", how="inner")
    assert len(joined) == 8300  # every deal but the 500 Prospecting ones has a history
    assert (joined["created"] == joined["first"]).all()
    won = states.filter(pl.col("kind") == "won")
    assert len(won) == 4238 and won["closed_at"].null_count() == 0


def test_per_agent_figures_match_pandas(maven: tuple[Data, dict[str, int], Results]) -> None:
    _, person_id, results = maven
    expected = expected_by_agent()
    assert len(expected) == 30
    for agent, row in expected.iterrows():
        group = results.groups[f"rep:{person_id[str(agent)]}"]
        assert (group["won"], group["lost"]) == (row["won"], row["lost"]), agent
        assert group["win_rate"] == pytest.approx(row["win_rate"]), agent
        assert group["avg_won_amount"] == pytest.approx(row["avg_won_amount"]), agent
        assert group["median_cycle_days"] == pytest.approx(row["median_cycle_days"]), agent
        assert group["avg_won_n"] == group["cycle_n"] == row["won"], agent
    # The five agents without deals have no figures at all.
    without_deals = ("Carol Thompson", "Natalya Ivanova", "Carl Lin", "Elizabeth Anderson")
    for agent in (*without_deals, "Mei-Mei Johns"):
        assert f"rep:{person_id[agent]}" not in results.groups


def test_org_and_funnel(maven: tuple[Data, dict[str, int], Results]) -> None:
    _, _, results = maven
    org = results.groups["org"]
    assert (org["won"], org["lost"], org["open"]) == (4238, 2473, 2089)
    stages = {s["stage"]: s for s in org["stages"]}
    # Every deal with an engage date reached Engaging and so, skip-aware, Prospecting.
    # Their history starts in Engaging: they never sat in Prospecting, so they skipped
    # it, and Prospecting has no conversion to show rather than a perfect one.
    # The 500 Prospecting deals have no history and no date at all: they are open in
    # Prospecting today, but nothing places their arrival inside the window.
    prospecting = stages["Prospecting"]
    assert (prospecting["reached"], prospecting["skipped"], prospecting["advanced"]) == (
        8300,
        8300,
        0,
    )
    assert prospecting["conversion"] is None
    assert stages["Engaging"]["reached"] == 8300
    assert (stages["Engaging"]["advanced"], stages["Engaging"]["lost"]) == (4238, 2473)
    assert stages["Engaging"]["open"] == 1589
    assert stages["Prospecting"]["open_deals"] == 500
