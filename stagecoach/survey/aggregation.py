"""Counting survey answers: the share of each group naming each item, commonalities first.

Pure functions over plain values (no Django), so the rules are tested on their own:

- A group's **share** for an item is the respondents of that group in the round who named
  it, divided by the group's respondents in the round (``n``). A respondent counts once
  per item, whether they picked it or wrote it in.
- A group with fewer than ``MIN_GROUP`` respondents shows no share and no count, only
  that fewer than ``MIN_GROUP`` answered: with four people, a share is a person's answer.
- A written-in item is listed only when a group that shows shares named it; otherwise
  its mere presence would tell which small group wrote it.
- **Commonalities** come first: items most groups name (a share of at least ``COMMON``),
  then by the weighted share, where customers count ``CUSTOMER_WEIGHT`` times as much as
  reps or managers ("when in doubt let the customers' responses guide the way").
- A **difference** is an item whose shown shares are at least ``DIFFERENCE`` apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import median

MIN_GROUP = 5
GROUPS = ("customer", "rep", "manager")
GROUP_LABELS = {"customer": "customers", "rep": "reps", "manager": "managers"}
CUSTOMER_WEIGHT = 2.0
COMMON = 0.5
DIFFERENCE = 0.25


def normalise(label: str) -> str:
    """The key an item is counted under: case and spacing ignored."""
    return " ".join(label.split()).casefold()


def written_in_items(text: str) -> list[str]:
    """The items in a free-text answer: one a line, blank lines and repeats dropped."""
    seen: set[str] = set()
    items = []
    for line in text.splitlines():
        label = " ".join(line.split())
        if label and normalise(label) not in seen:
            seen.add(normalise(label))
            items.append(label[:300])
    return items


@dataclass(frozen=True)
class Cell:
    """One group's answer to one item: how many named it of how many who answered."""

    group: str
    asked: bool
    n: int
    named: int

    @property
    def shown(self) -> bool:
        return self.asked and self.n >= MIN_GROUP

    @property
    def share(self) -> float | None:
        """named / n in [0, 1]; None when the group was not asked or is too small."""
        return self.named / self.n if self.shown else None

    @property
    def group_label(self) -> str:
        return GROUP_LABELS.get(self.group, self.group)

    @property
    def too_few(self) -> bool:
        return self.asked and self.n < MIN_GROUP


@dataclass(frozen=True)
class Tally:
    """Who named what, for one stage and one question of one round."""

    on_list: tuple[str, ...]
    respondents: Mapping[str, int]
    asked: frozenset[str]
    named: Mapping[str, Mapping[str, frozenset[int]]]
    labels: Mapping[str, str]

    def cell(self, key: str, group: str) -> Cell:
        return Cell(
            group=group,
            asked=group in self.asked,
            n=self.respondents.get(group, 0),
            named=len(self.named.get(key, {}).get(group, ())),
        )

    def is_listed(self, key: str) -> bool:
        if key in {normalise(label) for label in self.on_list}:
            return True
        return any(self.cell(key, group).shown for group in self.named.get(key, {}))

    def listed(self) -> list[str]:
        """The items shown: the list's, in its order, then the written-in ones."""
        keys = list(dict.fromkeys(normalise(label) for label in self.on_list))
        keys += sorted(k for k in self.named if k not in keys and self.is_listed(k))
        return keys


def tally(
    *,
    on_list: Sequence[str],
    picks: Iterable[tuple[str, int, str]],
    respondents: Mapping[str, int],
    asked: Collection[str],
) -> Tally:
    """Count ``picks`` — (group, respondent, label) — against the items ``on_list``."""
    named: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for group, respondent, label in picks:
        key = normalise(label)
        named[key][group].add(respondent)
        spellings[key][" ".join(label.split())] += 1
    labels = {
        key: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for key, c in spellings.items()
    }
    for label in on_list:
        labels[normalise(label)] = label
    return Tally(
        on_list=tuple(on_list),
        respondents=dict(respondents),
        asked=frozenset(asked),
        named={k: {g: frozenset(r) for g, r in by.items()} for k, by in named.items()},
        labels=labels,
    )


@dataclass(frozen=True)
class ItemRow:
    key: str
    label: str
    on_list: bool
    cells: tuple[Cell, ...]

    @property
    def shown(self) -> list[Cell]:
        return [c for c in self.cells if c.shown]

    @property
    def agreement(self) -> int:
        """How many groups (of those showing shares) name the item at least COMMON."""
        return sum(1 for c in self.shown if (c.share or 0) >= COMMON)

    @property
    def weighted(self) -> float | None:
        """Σ wᵍ·shareᵍ / Σ wᵍ over the groups showing shares; customers weigh
        CUSTOMER_WEIGHT, the others 1. None when no group shows a share."""
        cells = self.shown
        if not cells:
            return None
        weights = [CUSTOMER_WEIGHT if c.group == "customer" else 1.0 for c in cells]
        return sum(w * (c.share or 0) for w, c in zip(weights, cells, strict=True)) / sum(weights)

    @property
    def gap(self) -> float | None:
        """The largest share minus the smallest, over at least two groups showing them."""
        shares = [c.share or 0 for c in self.shown]
        return max(shares) - min(shares) if len(shares) >= 2 else None

    @property
    def highest(self) -> Cell | None:
        return max(self.shown, key=lambda c: c.share or 0, default=None)

    @property
    def lowest(self) -> Cell | None:
        return min(self.shown, key=lambda c: c.share or 0, default=None)


def rows(t: Tally) -> list[ItemRow]:
    """Every listed item with each group's cell, commonalities first."""
    on_list = {normalise(label) for label in t.on_list}
    found = [
        ItemRow(
            key=key,
            label=t.labels.get(key, key),
            on_list=key in on_list,
            cells=tuple(t.cell(key, g) for g in GROUPS),
        )
        for key in t.listed()
    ]
    order = {key: i for i, key in enumerate(t.listed())}
    return sorted(
        found,
        key=lambda r: (-r.agreement, -(r.weighted if r.weighted is not None else -1), order[r.key]),
    )


def differences(found: Sequence[ItemRow], *, limit: int = 5) -> list[ItemRow]:
    """The items whose groups disagree most (a gap of at least DIFFERENCE), largest first;
    where customers are one side of a gap, it sorts before an equal gap without them."""
    gaps = [r for r in found if r.gap is not None and r.gap >= DIFFERENCE]

    def customers_in_it(r: ItemRow) -> bool:
        return "customer" in {getattr(r.highest, "group", ""), getattr(r.lowest, "group", "")}

    return sorted(gaps, key=lambda r: (-(r.gap or 0), not customers_in_it(r)))[:limit]


@dataclass(frozen=True)
class Step:
    """How many customers went through a stage, and where in their sale it came."""

    n: int
    took: int
    positions: tuple[int, ...]

    @property
    def shown(self) -> bool:
        return self.n >= MIN_GROUP

    @property
    def share(self) -> float | None:
        return self.took / self.n if self.shown else None

    @property
    def median_position(self) -> float | None:
        """The median of the step's place among each customer's steps (1 is first)."""
        return median(self.positions) if self.shown and self.positions else None


def steps(*, positions: Mapping[int, Sequence[int]], customers: int) -> dict[int, Step]:
    """Stage id → its Step, from each customer's position for the stage."""
    return {
        stage: Step(n=customers, took=len(places), positions=tuple(places))
        for stage, places in positions.items()
    }


@dataclass(frozen=True)
class Compared:
    """One item in two rounds: each group's cell in the first and the second."""

    key: str
    label: str
    pairs: tuple[tuple[Cell, Cell], ...]

    @property
    def changes(self) -> tuple[float | None, ...]:
        return tuple(
            (b.share - a.share) if a.share is not None and b.share is not None else None
            for a, b in self.pairs
        )


def compare(first: Tally, second: Tally) -> list[Compared]:
    """Every item listed in either round, with both rounds' cells per group: the
    first round's order, then the second's new items."""
    keys = list(dict.fromkeys(first.listed() + second.listed()))
    return [
        Compared(
            key=key,
            label=second.labels.get(key) or first.labels.get(key, key),
            pairs=tuple((first.cell(key, g), second.cell(key, g)) for g in GROUPS),
        )
        for key in keys
    ]
