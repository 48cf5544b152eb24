"""The demo generator is deterministic, realistic in the ways analytics care about, and
plants its coaching needs in a known minority of reps."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from stagecoach.demo.generator import (
    LOST_STAGE,
    OPEN_STAGES,
    WON_STAGE,
    DemoConfig,
    DemoOrg,
)

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())


def digest(org: DemoOrg) -> str:
    h = hashlib.sha256()
    for row in (*org.teams, *org.people, *org.planted, *org.quotas()):
        h.update(repr(row).encode())
    for batch in org.rep_batches():
        h.update(repr((batch.opportunities, batch.stage_changes, batch.field_changes)).encode())
        for columns in batch.activities:
            h.update(columns.occurred_at.tobytes())
            h.update(columns.type_index.tobytes())
            h.update(repr(columns.opportunity).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def org() -> DemoOrg:
    return DemoOrg(DemoConfig(now=NOW))


@pytest.fixture(scope="module")
def batches(org: DemoOrg) -> list:  # type: ignore[type-arg]
    return list(org.rep_batches())


def test_same_seed_same_organisation() -> None:
    small = DemoConfig(reps=6, years=1, now=NOW)
    assert digest(DemoOrg(small)) == digest(DemoOrg(small))


def test_another_seed_another_organisation() -> None:
    a = DemoOrg(DemoConfig(reps=6, years=1, now=NOW, seed=1))
    b = DemoOrg(DemoConfig(reps=6, years=1, now=NOW, seed=2))
    assert digest(a) != digest(b)


def test_the_default_shape(org: DemoOrg) -> None:
    roles = Counter(p.role for p in org.people)
    assert roles == {"leader": 2, "manager": 6, "rep": 40, "ops": 1}
    keys = {p.key for p in org.people}
    assert all(p.manager in keys for p in org.people if p.manager)
    assert all(t.manager in keys for t in org.teams)
    assert len({p.email for p in org.people}) == len(org.people)


def test_a_known_minority_has_planted_needs(org: DemoOrg) -> None:
    kinds = Counter(n.kind for n in org.planted)
    assert set(kinds) == {"weak_conversion", "slow_stage", "activity_drop"}
    people = {n.person for n in org.planted}
    assert len(people) == len(org.planted), "one need per planted rep"
    assert 3 <= len(people) <= 40 * 0.25
    for need in org.planted:
        if need.kind != "activity_drop":
            assert need.stage in OPEN_STAGES


def test_histories_are_well_formed(batches: list) -> None:  # type: ignore[type-arg]
    for batch in batches:
        history: dict[str, list[tuple[str, int]]] = {}
        for source_id, stage, at in batch.stage_changes:
            history.setdefault(source_id, []).append((stage, at))
        for opp in batch.opportunities:
            changes = history[opp.source_id]
            times = [at for _, at in changes]
            assert times == sorted(times)
            assert times[0] == opp.created_at
            assert changes[-1][0] == opp.stage
            assert all(at < NOW for at in times)
            if opp.stage in (WON_STAGE, LOST_STAGE):
                assert opp.closed_at == times[-1]
            else:
                assert opp.closed_at is None


def test_history_has_the_awkward_cases_analytics_must_handle(batches: list) -> None:  # type: ignore[type-arg]
    order = {name: i for i, name in enumerate(OPEN_STAGES)}
    seen = Counter()
    for batch in batches:
        history: dict[str, list[str]] = {}
        for source_id, stage, _ in batch.stage_changes:
            history.setdefault(source_id, []).append(stage)
        for stages in history.values():
            opens = [order[s] for s in stages if s in order]
            if any(b - a > 1 for a, b in pairwise(opens)):
                seen["skip"] += 1
            if any(b < a for a, b in pairwise(opens)):
                seen["regression"] += 1
            if LOST_STAGE in stages[:-1]:
                seen["reopened"] += 1
            if stages[0] != OPEN_STAGES[0]:
                seen["created_later"] += 1
        seen["open"] += sum(o.stage in order for o in batch.opportunities)
        seen["owner_change"] += sum(f[1] == "owner" for f in batch.field_changes)
        seen["close_date_push"] += sum(f[1] == "close_date" for f in batch.field_changes)
        seen["currencies"] = max(seen["currencies"], len({o.currency for o in batch.opportunities}))
    for case in (
        "skip",
        "regression",
        "reopened",
        "created_later",
        "open",
        "owner_change",
        "close_date_push",
    ):
        assert seen[case] >= 10, case
    assert seen["currencies"] >= 2


def test_realistic_volumes_and_win_rate(batches: list) -> None:  # type: ignore[type-arg]
    opportunities = [o for b in batches for o in b.opportunities]
    outcomes = Counter(o.stage for o in opportunities)
    win_rate = outcomes[WON_STAGE] / (outcomes[WON_STAGE] + outcomes[LOST_STAGE])
    assert 5_000 <= len(opportunities) <= 12_000
    assert 0.08 <= win_rate <= 0.25
    assert sum(b.activity_count for b in batches) > 100_000


def test_the_activity_drop_is_visible_in_the_raw_data(org: DemoOrg, batches: list) -> None:  # type: ignore[type-arg]
    dropped = {n.person for n in org.planted if n.kind == "activity_drop"}
    week = 7 * 86_400
    for batch in batches:
        if batch.rep not in dropped:
            continue
        times = batch.activities[0].occurred_at
        recent = (times >= NOW - 6 * week).sum() / 6
        before = ((times >= NOW - 30 * week) & (times < NOW - 8 * week)).sum() / 22
        assert recent < 0.6 * before


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="reps"):
        DemoConfig(reps=0, now=NOW)
    with pytest.raises(ValueError, match="currencies"):
        DemoConfig(currency="XYZ", now=NOW)
    with pytest.raises(ValueError, match="now"):
        DemoOrg(DemoConfig())
