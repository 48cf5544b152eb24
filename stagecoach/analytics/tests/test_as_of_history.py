"""Figures as of a past day use the amount, close date and owner known that day
(docs/metrics.md, "Fields as known at as-of"), rebuilt from the deals' field history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.utils import timezone

from stagecoach.analytics.engine import history
from stagecoach.analytics.engine.compute import compute
from stagecoach.analytics.engine.frames import Data, Window, contract
from stagecoach.pipeline.models import FieldChange, Quota
from stagecoach.testing.factories import make_opportunity, make_person

THEN = datetime(2025, 8, 1, tzinfo=UTC)  # as-of in the past
NOW = datetime(2025, 11, 1, tzinfo=UTC)  # after every change
ANA, BEN = 1, 2
S1, WON, LOST = 11, 15, 16


def _frame(name: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=contract(name), orient="row")


def _data(*, old_values: bool = True) -> Data:
    """Deal 1 is Ben's today: 900 (1800 in its own currency at 2 per unit), closing
    2025-12-20. On 2025-08-10 it was moved from Ana, from 1000 (2000) and from a close
    date of 2025-08-20. Deal 2, Ana's, never changed."""
    changed = datetime(2025, 8, 10, tzinfo=UTC)
    created = datetime(2025, 6, 1, tzinfo=UTC)
    return Data(
        people=_frame("people", [(ANA, "Ana", "rep", 10, True), (BEN, "Ben", "rep", 10, True)]),
        teams=_frame("teams", [(10, None, None, "Alpha")]),
        stages=_frame(
            "stages",
            [
                (S1, 1, "S1", 1, "open", 10.0, False),
                (WON, 1, "Won", 2, "won", None, False),
                (LOST, 1, "Lost", 3, "lost", None, False),
            ],
        ),
        opportunities=_frame(
            "opportunities",
            [
                (1, BEN, 1, S1, 900.0, created, date(2025, 12, 20), None, "new", 2.0),
                (2, ANA, 1, S1, 300.0, created, date(2025, 9, 1), None, "new", 1.0),
            ],
        ),
        stage_changes=_frame("stage_changes", [(1, S1, created), (2, S1, created)]),
        field_changes=_frame(
            "field_changes",
            [
                (1, "amount", changed, None, "2000" if old_values else None),
                (1, "close_date", changed, True, "2025-08-20" if old_values else None),
                (1, "owner", changed, None, str(ANA) if old_values else None),
            ],
        ),
        quotas=_frame(
            "quotas",
            [
                (p, start, end, 50_000.0)
                for p in (ANA, BEN)
                for start, end in (
                    (date(2025, 7, 1), date(2025, 9, 30)),
                    (date(2025, 10, 1), date(2025, 12, 31)),
                )
            ],
        ),
    )


def _deal(data: Data, deal: int) -> dict[str, Any]:
    return data.opportunities.filter(pl.col("id") == deal).row(0, named=True)


def test_fields_are_rebuilt_as_they_were_known() -> None:
    then = _deal(history.known_at(_data(), THEN), 1)
    assert (then["amount"], then["close_date"], then["owner_id"]) == (
        1000.0,
        date(2025, 8, 20),
        ANA,
    )
    now = _deal(history.known_at(_data(), NOW), 1)
    assert (now["amount"], now["close_date"], now["owner_id"]) == (900.0, date(2025, 12, 20), BEN)
    assert _deal(history.known_at(_data(), THEN), 2)["amount"] == 300.0


def test_nothing_after_as_of_returns_the_data_untouched() -> None:
    data = _data()
    assert history.known_at(data, NOW) is data


def test_the_first_change_after_as_of_gives_the_value() -> None:
    data = _data()
    second = _frame(
        "field_changes", [(1, "amount", datetime(2025, 9, 1, tzinfo=UTC), None, "1700")]
    )
    data = Data(
        **{**data.__dict__, "field_changes": pl.concat([second, data.field_changes])},
    )
    assert _deal(history.known_at(data, THEN), 1)["amount"] == 1000.0
    # Between the two changes the amount was the second change's old value.
    assert _deal(history.known_at(data, datetime(2025, 8, 20, tzinfo=UTC)), 1)["amount"] == 850.0


def test_unknown_or_unreadable_old_values_keep_the_current_value() -> None:
    unknown = _deal(history.known_at(_data(old_values=False), THEN), 1)
    assert (unknown["amount"], unknown["owner_id"]) == (900.0, BEN)
    data = _data()
    odd = _frame(
        "field_changes",
        [
            (1, "amount", datetime(2025, 8, 10, tzinfo=UTC), None, "a lot"),
            (1, "owner", datetime(2025, 8, 10, tzinfo=UTC), None, "99"),  # nobody
            (1, "close_date", datetime(2025, 8, 10, tzinfo=UTC), None, ""),  # had none
        ],
    )
    deal = _deal(history.known_at(Data(**{**data.__dict__, "field_changes": odd}), THEN), 1)
    assert (deal["amount"], deal["owner_id"], deal["close_date"]) == (900.0, BEN, None)


def test_engine_figures_at_a_past_day_use_the_old_values() -> None:
    then = compute(_data(), Window(THEN, 90), seed=1, simulations=200)
    ana = then.group("rep:1")
    assert ana["open"] == 2 and ana["open_amount"] == pytest.approx(1300.0)
    assert "rep:2" not in then.groups or then.group("rep:2")["open"] == 0
    # Pipeline closing this quarter: the deal's old close date was inside it.
    assert ana["coverage"]["pipeline"] == pytest.approx(1300.0)

    now = compute(_data(), Window(NOW, 200), seed=1, simulations=200)
    assert now.group("rep:1")["open_amount"] == pytest.approx(300.0)
    assert now.group("rep:2")["open_amount"] == pytest.approx(900.0)
    assert now.group("rep:2")["coverage"]["pipeline"] == pytest.approx(900.0)


@pytest.mark.django_db
def test_metrics_as_of_a_past_day_shows_what_was_known_then() -> None:
    today = timezone.localdate()
    ana, ben = make_person("Ana"), make_person("Ben")
    created = timezone.now() - timedelta(days=120)
    day = today - timedelta(days=60)
    changed = timezone.now() - timedelta(days=30)
    deal = make_opportunity(
        ben,
        history=[("Discovery", created)],
        amount=1800,
        currency="EUR",
        fx_rate=2,
        close_date=today + timedelta(days=200),
    )
    for field, old, new in (
        ("amount", "2000.00", "1800.00"),
        ("owner", str(ana.pk), str(ben.pk)),
        ("close_date", (day + timedelta(days=10)).isoformat(), deal.close_date.isoformat()),
    ):
        FieldChange.objects.create(
            opportunity=deal, field=field, old_value=old, new_value=new, changed_at=changed
        )
    for person in (ana, ben):
        Quota.objects.create(
            person=person,
            period_start=day - timedelta(days=30),
            period_end=day + timedelta(days=30),
            amount=10_000,
            currency="USD",
        )

    def report(*args: str) -> dict[str, dict[str, Any]]:
        out = StringIO()
        call_command("metrics", "--json", *args, stdout=out)
        return {r["name"]: r for r in json.loads(out.getvalue())}

    then = report("--as-of", day.isoformat())
    assert then["Ana"]["open"] == 1 and then["Ana"]["open_amount"] == pytest.approx(1000.0)
    assert then["Ana"]["coverage"]["pipeline"] == pytest.approx(1000.0)
    assert then.get("Ben", {}).get("open", 0) == 0
    now = report("--as-of", today.isoformat())
    assert now["Ben"]["open"] == 1 and now["Ben"]["open_amount"] == pytest.approx(900.0)
    assert now.get("Ana", {}).get("open", 0) == 0
