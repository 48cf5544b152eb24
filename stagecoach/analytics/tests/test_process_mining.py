"""The process as deals really run it, on a hand-built history: variants, transitions
(forward, skips, losses, going back, reopening) and conformance with the map."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window
from stagecoach.analytics.engine.process_mining import discover, discover_groups

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
WINDOW = Window(AS_OF, 90)
Q, D, P, WON, LOST = 1, 2, 3, 4, 5  # Qualify (required), Discover, Propose (required)
NAMES = {Q: "Qualify", D: "Discover", P: "Propose", WON: "Won", LOST: "Lost"}

# Each deal: its stages, one every 10 days from creation, 30 days after the window opened.
PATHS: dict[int, list[int]] = {
    1: [Q, D, P, WON],
    2: [Q, P, WON],  # skips Discover, which is optional: still the process
    3: [Q, WON],  # skips Propose, required
    4: [Q, D, Q, P, LOST],  # goes back to Qualify
    5: [Q, LOST],  # lost from the first stage: the process allows it
    6: [Q, D, P, WON, P],  # reopened
    7: [D, P, WON],  # starts past Qualify, required
    8: [Q, D],  # still open
    11: [Q, D, P, WON],
}


def frame(name: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")


def history() -> Data:
    start = WINDOW.start + timedelta(days=30)
    opportunities, changes = [], []
    for deal, path in PATHS.items():
        for i, stage in enumerate(path):
            changes.append((deal, stage, start + timedelta(days=10 * i)))
        closed = start + timedelta(days=10 * (len(path) - 1)) if path[-1] in (WON, LOST) else None
        opportunities.append((deal, 1, 1, path[-1], 100.0, start, None, closed, "new"))
    # Created in the window without a stage history, and created before the window.
    opportunities.append((9, 1, 1, D, 100.0, start, None, None, "new"))
    opportunities.append(
        (10, 1, 1, WON, 100.0, WINDOW.start - timedelta(days=5), None, None, "new")
    )
    changes += [(10, Q, WINDOW.start - timedelta(days=5)), (10, WON, start)]
    return Data(
        people=frame("people", [(1, "Rep", "rep", None, True)]),
        teams=frame("teams", []),
        stages=frame(
            "stages",
            [
                (Q, 1, "Qualify", 1, "open", None, True),
                (D, 1, "Discover", 2, "open", None, False),
                (P, 1, "Propose", 3, "open", None, True),
                (WON, 1, "Won", 4, "won", None, False),
                (LOST, 1, "Lost", 5, "lost", None, False),
            ],
        ),
        opportunities=frame("opportunities", opportunities),
        stage_changes=frame("stage_changes", changes),
    )


@pytest.fixture(scope="module")
def found() -> dict[str, Any]:
    return discover(history(), WINDOW)


def test_the_cohort_is_the_windows_new_deals_with_a_history(found: dict[str, Any]) -> None:
    assert found["deals"] == 9
    assert found["without_history"] == 1


def test_variants_count_each_distinct_path_with_its_outcome(found: dict[str, Any]) -> None:
    top = found["variants"][0]
    assert top["path"] == ["Qualify", "Discover", "Propose", "Won"]
    assert (top["deals"], top["won"], top["lost"], top["open"]) == (2, 2, 0, 0)
    assert top["win_rate"] == 1.0
    assert top["median_cycle_days"] == pytest.approx(30.0)
    assert len(found["variants"]) == 8
    assert sum(v["deals"] for v in found["variants"]) == 9
    reopened = next(v for v in found["variants"] if v["path"][-2:] == ["Won", "Propose"])
    assert (reopened["won"], reopened["lost"], reopened["open"]) == (0, 0, 1)
    assert reopened["win_rate"] is None


def transitions(found: dict[str, Any]) -> dict[tuple[str, str], tuple[str, int]]:
    return {(t["from"], t["to"]): (t["kind"], t["count"]) for t in found["transitions"]}


def test_each_step_has_its_kind_and_count(found: dict[str, Any]) -> None:
    assert transitions(found) == {
        ("Qualify", "Discover"): ("forward", 5),
        ("Qualify", "Propose"): ("skip", 2),
        ("Qualify", "Won"): ("skip", 1),
        ("Qualify", "Lost"): ("lost", 1),
        ("Discover", "Propose"): ("forward", 4),
        ("Discover", "Qualify"): ("back", 1),
        ("Propose", "Won"): ("forward", 5),
        ("Propose", "Lost"): ("lost", 1),
        ("Won", "Propose"): ("reopen", 1),
    }


def test_a_steps_share_is_of_the_steps_out_of_its_stage(found: dict[str, Any]) -> None:
    share = {(t["from"], t["to"]): t["share"] for t in found["transitions"]}
    assert share[("Qualify", "Discover")] == pytest.approx(5 / 9)
    assert share[("Discover", "Qualify")] == pytest.approx(1 / 5)
    assert sum(s for (a, _), s in share.items() if a == "Qualify") == pytest.approx(1.0)
    assert all(t["median_days"] == pytest.approx(10.0) for t in found["transitions"])


def test_conformance_says_who_follows_the_map_and_where_the_others_left_it(
    found: dict[str, Any],
) -> None:
    conformance = found["conformance"]
    assert conformance["share"] == pytest.approx(5 / 9)
    assert conformance["following"] == {"deals": 5, "won": 3, "lost": 1, "win_rate": 0.75}
    assert conformance["leaving"]["deals"] == 4
    assert (conformance["leaving"]["won"], conformance["leaving"]["lost"]) == (2, 1)
    where = {(w["left_by"], w["stage"]): w["deals"] for w in conformance["where"]}
    assert where == {
        ("skipped", "Propose"): 1,  # deal 3
        ("skipped", "Qualify"): 1,  # deal 7, which started past it
        ("went back", "Qualify"): 1,  # deal 4
        ("reopened", "Propose"): 1,  # deal 6
    }


def test_one_reps_deals_alone(found: dict[str, Any]) -> None:
    assert discover(history(), WINDOW, owners=[1])["deals"] == 9
    nobody = discover(history(), WINDOW, owners=[2])
    assert nobody["deals"] == 0 and nobody["variants"] == [] and nobody["transitions"] == []
    assert nobody["conformance"]["share"] is None


def test_every_group_at_once_equals_each_group_alone() -> None:
    data = history()
    data = replace(
        data,
        opportunities=data.opportunities.with_columns(
            pl.when(pl.col("id") % 2 == 0).then(2).otherwise(1).alias("owner_id")
        ),
    )
    membership = pl.DataFrame(
        {"group": ["rep:1", "rep:2", "org", "org", "rep:3"], "person_id": [1, 2, 1, 2, 3]}
    )
    together = discover_groups(data, WINDOW, membership)
    for group, owners in {"rep:1": [1], "rep:2": [2], "org": [1, 2], "rep:3": [3]}.items():
        assert together[group] == discover(data, WINDOW, owners=owners), group
    assert together["org"] == discover(data, WINDOW)
    assert together["rep:1"]["deals"] + together["rep:2"]["deals"] == 9
    assert together["rep:3"]["deals"] == 0
