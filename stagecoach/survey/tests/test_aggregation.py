"""The counting rules: shares, small groups hidden, commonalities first, rounds compared."""

from __future__ import annotations

import random

import pytest

from stagecoach.survey.aggregation import (
    CUSTOMER_WEIGHT,
    MIN_GROUP,
    compare,
    differences,
    normalise,
    rows,
    steps,
    tally,
    written_in_items,
)

EVERYONE = ("customer", "rep", "manager")


def _picks(group: str, named: dict[str, int], start: int = 0) -> list[tuple[str, int, str]]:
    """``named[label]`` respondents of ``group`` (ids from ``start``) name ``label``."""
    return [(group, start + i, label) for label, count in named.items() for i in range(count)]


def test_normalise_ignores_case_and_spacing() -> None:
    assert normalise("  Budget   known ") == normalise("budget KNOWN") == "budget known"


def test_written_in_items_are_one_a_line_without_repeats() -> None:
    text = "Pilot agreed\n\n  pilot   AGREED \nLegal review done\n"
    assert written_in_items(text) == ["Pilot agreed", "Legal review done"]


@pytest.mark.parametrize(
    ("named", "n", "share"),
    [(0, 5, 0.0), (5, 5, 1.0), (3, 6, 0.5), (1, 10, 0.1)],
)
def test_share_is_named_over_respondents(named: int, n: int, share: float) -> None:
    t = tally(
        on_list=["Budget known"],
        picks=_picks("rep", {"Budget known": named}),
        respondents={"rep": n},
        asked=EVERYONE,
    )
    cell = t.cell("budget known", "rep")
    assert cell.share == pytest.approx(share)
    assert cell.n == n


@pytest.mark.parametrize("n", range(MIN_GROUP))
def test_a_group_below_the_minimum_shows_no_share(n: int) -> None:
    t = tally(
        on_list=["Budget known"],
        picks=_picks("manager", {"Budget known": n}),
        respondents={"manager": n},
        asked=EVERYONE,
    )
    cell = t.cell("budget known", "manager")
    assert cell.share is None
    assert cell.too_few and not cell.shown


def test_a_group_not_asked_shows_no_share_and_is_not_too_few() -> None:
    t = tally(on_list=["Demo"], picks=[], respondents={"customer": 9}, asked=("rep",))
    cell = t.cell("demo", "customer")
    assert cell.share is None and not cell.asked and not cell.too_few


def test_one_respondent_picking_and_writing_in_the_same_item_counts_once() -> None:
    t = tally(
        on_list=["Budget known"],
        picks=[("rep", 1, "Budget known"), ("rep", 1, "budget  known")],
        respondents={"rep": 5},
        asked=EVERYONE,
    )
    assert t.cell("budget known", "rep").named == 1


def test_written_in_items_named_only_by_a_small_group_are_not_listed() -> None:
    t = tally(
        on_list=["Budget known"],
        picks=[
            ("manager", 1, "Ask the CFO"),  # two managers answered: hidden
            *_picks("rep", {"Pilot agreed": 1}),  # six reps answered: listed
        ],
        respondents={"manager": 2, "rep": 6},
        asked=EVERYONE,
    )
    labels = [row.label for row in rows(t)]
    assert "Pilot agreed" in labels
    assert "Ask the CFO" not in labels
    assert "Budget known" in labels  # on the list: always shown, even unnamed


def test_a_written_in_item_takes_its_most_common_spelling() -> None:
    t = tally(
        on_list=[],
        picks=[("rep", 1, "pilot agreed"), ("rep", 2, "Pilot agreed"), ("rep", 3, "Pilot agreed")],
        respondents={"rep": 5},
        asked=EVERYONE,
    )
    assert [row.label for row in rows(t)] == ["Pilot agreed"]


def test_commonalities_come_first_and_customers_break_ties() -> None:
    on_list = ["A", "B", "C"]
    picks = (
        # A: every group names it: the commonality.
        _picks("customer", {"A": 5, "C": 4})
        + _picks("rep", {"A": 5, "B": 4}, start=100)
        + _picks("manager", {"A": 5, "B": 4}, start=200)
    )
    t = tally(
        on_list=on_list,
        picks=picks,
        respondents={"customer": 5, "rep": 5, "manager": 5},
        asked=EVERYONE,
    )
    found = rows(t)
    assert [r.label for r in found] == ["A", "B", "C"]
    assert found[0].agreement == 3
    # B is named by two groups at 80%, C by customers alone at 80%: B agrees more.
    assert found[1].agreement == 2 and found[2].agreement == 1
    # With agreement equal, the customers' weight decides.
    t2 = tally(
        on_list=["Rep thing", "Customer thing"],
        picks=_picks("customer", {"Customer thing": 3}) + _picks("rep", {"Rep thing": 3}, 100),
        respondents={"customer": 5, "rep": 5},
        asked=EVERYONE,
    )
    assert [r.label for r in rows(t2)] == ["Customer thing", "Rep thing"]


def test_weighted_share_golden_value() -> None:
    t = tally(
        on_list=["X"],
        picks=_picks("customer", {"X": 5}) + _picks("rep", {"X": 0}, 100),
        respondents={"customer": 5, "rep": 10, "manager": 3},
        asked=EVERYONE,
    )
    (row,) = rows(t)
    # Managers are too few and left out: (2·1.0 + 1·0.0) / 3.
    assert row.weighted == pytest.approx(CUSTOMER_WEIGHT / (CUSTOMER_WEIGHT + 1))
    assert row.gap == pytest.approx(1.0)


def test_differences_are_the_largest_gaps_customers_first_on_a_tie() -> None:
    picks = (
        _picks("customer", {"Legal": 5, "Same": 5})
        + _picks("rep", {"Demo": 5, "Same": 5}, 100)
        + _picks("manager", {"Same": 5, "Demo": 0}, 200)
    )
    t = tally(
        on_list=["Demo", "Legal", "Same"],
        picks=picks,
        respondents={"customer": 5, "rep": 5, "manager": 5},
        asked=EVERYONE,
    )
    found = differences(rows(t))
    assert [r.label for r in found] == ["Legal", "Demo"]
    assert all(r.label != "Same" for r in found)


def test_steps_give_the_share_and_median_place_only_from_the_minimum() -> None:
    found = steps(positions={1: [1, 1, 2, 1, 1], 2: [2, 3]}, customers=5)
    assert found[1].share == pytest.approx(1.0)
    assert found[1].median_position == 1
    assert found[2].share == pytest.approx(0.4)
    few = steps(positions={1: [1, 1]}, customers=4)
    assert few[1].share is None and few[1].median_position is None


def test_rounds_compare_item_by_item_and_keep_suppression_per_round() -> None:
    first = tally(
        on_list=["Budget known"],
        picks=_picks("rep", {"Budget known": 2}),
        respondents={"rep": 5, "customer": 3},
        asked=EVERYONE,
    )
    second = tally(
        on_list=["budget KNOWN", "Pilot agreed"],
        picks=_picks("rep", {"Budget known": 4, "Pilot agreed": 5}),
        respondents={"rep": 5, "customer": 6},
        asked=EVERYONE,
    )
    found = {c.key: c for c in compare(first, second)}
    assert list(found) == ["budget known", "pilot agreed"]
    customer, rep, _manager = found["budget known"].pairs
    assert (rep[0].share, rep[1].share) == (pytest.approx(0.4), pytest.approx(0.8))
    assert found["budget known"].changes[1] == pytest.approx(0.4)
    assert customer[0].share is None and customer[0].too_few
    assert customer[1].share == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_shares_stay_in_0_1_and_hidden_groups_never_show(seed: int) -> None:
    rng = random.Random(seed)
    labels = [f"item {i}" for i in range(6)]
    sizes = {g: rng.randint(0, 9) for g in EVERYONE}
    picks = [
        (g, r, label)
        for g, n in sizes.items()
        for r in range(n)
        for label in rng.sample(labels, rng.randint(0, 4))
    ]
    t = tally(on_list=labels[:3], picks=picks, respondents=sizes, asked=EVERYONE)
    for row in rows(t):
        for cell in row.cells:
            if sizes[cell.group] < MIN_GROUP:
                assert cell.share is None
            else:
                assert cell.share is not None and 0 <= cell.share <= 1
        if not row.on_list:
            assert any(c.shown and c.named for c in row.cells)
