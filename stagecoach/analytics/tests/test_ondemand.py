"""Figures computed on request stay bounded (analytics/ondemand.py): dates within the
data, an hourly allowance per login, a cap on concurrent runs, a bounded store — and
old data shown as of its own last day rather than as an empty today."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from stagecoach.analytics import ondemand
from stagecoach.analytics.models import MetricSet, Refresh
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS, evict_on_demand, refresh
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _deals(cast: Any, *, ending: datetime) -> None:
    for rep in (cast.alice, cast.bob, cast.charlie):
        for i in range(4):
            start = ending - timedelta(days=30 + 20 * i)
            steps = [("Prospecting", 0), ("Qualification", 6), ("Closed Won", 30)]
            make_opportunity(rep, history=[(n, start + timedelta(days=d)) for n, d in steps])


@pytest.fixture
def refreshed(cast: Any) -> Any:
    _deals(cast, ending=timezone.now())
    refresh()
    return cast


def _api(client: Any, cast: Any, day: date, window: int = 90) -> Any:
    return client.get(f"/api/people/{cast.alice.pk}/metrics?as_of={day}&window={window}")


def test_a_date_before_the_data_is_a_clear_400(refreshed: Any, login: Any) -> None:
    first = ondemand.data_span().first
    assert first is not None
    response = _api(login(refreshed.alice), refreshed, first - timedelta(days=1))
    assert response.status_code == 400
    assert "before the data begins" in response.json()["detail"]
    assert _api(login(refreshed.alice), refreshed, first + timedelta(days=40)).status_code == 200


@override_settings(ANALYTICS_ON_DEMAND_PER_HOUR=2)
def test_one_login_has_an_hourly_allowance_and_stored_figures_stay_free(
    refreshed: Any, login: Any
) -> None:
    browser = login(refreshed.alice)
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in (10, 20, 30)]
    assert _api(browser, refreshed, days[0]).status_code == 200
    assert _api(browser, refreshed, days[1]).status_code == 200
    refused = _api(browser, refreshed, days[2])
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "ANALYTICS_ON_DEMAND_PER_HOUR" in refused.json()["detail"]
    # What is stored is read, never refused; another login has its own allowance.
    assert _api(browser, refreshed, days[0]).status_code == 200
    assert _api(login(refreshed.mona), refreshed, days[2]).status_code == 200


def test_concurrent_computations_are_capped(
    refreshed: Any, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ondemand, "WAIT_FOR_SLOT", 0.3)
    for n in range(2):  # the default cap: two running elsewhere
        Refresh.objects.create(
            as_of=timezone.now() - timedelta(days=50 + n),
            window_days=90,
            trigger=Refresh.Trigger.PAGE,
            status=Refresh.Status.RUNNING,
        )
    response = _api(login(refreshed.alice), refreshed, timezone.localdate() - timedelta(days=5))
    assert response.status_code == 503
    assert response["Retry-After"]
    # A run claimed long ago is dead, not running: it no longer takes a slot.
    Refresh.objects.filter(status=Refresh.Status.RUNNING).update(
        created_at=timezone.now() - ondemand.STALE_AFTER - timedelta(minutes=1)
    )
    response = _api(login(refreshed.alice), refreshed, timezone.localdate() - timedelta(days=5))
    assert response.status_code == 200


def test_a_pair_someone_else_computes_is_waited_for_not_computed_twice(
    refreshed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = timezone.localdate() - timedelta(days=12)
    other = Refresh.objects.create(
        as_of=timezone.now() - timedelta(days=12),
        window_days=90,
        trigger=Refresh.Trigger.PAGE,
        status=Refresh.Status.RUNNING,
    )
    polls: list[int] = []

    def finish_the_other(seconds: float) -> None:
        # The other request finishes while this one waits.
        polls.append(1)
        if len(polls) == 2:
            refresh(as_of=ondemand._moment(day), window_days=90, run=other)

    monkeypatch.setattr(ondemand.time, "sleep", finish_the_other)
    before = Refresh.objects.count()
    assert ondemand.ensure_for(refreshed.alice.user, as_of=day, window_days=90) == day
    assert Refresh.objects.count() == before
    assert len(polls) == 2


def test_only_a_bounded_number_of_dates_is_kept(refreshed: Any) -> None:
    latest = timezone.localdate()
    for n in range(1, 6):
        ondemand.ensure_for(None, as_of=latest - timedelta(days=n), window_days=90)
    evict_on_demand(keep=3)
    pairs = set(MetricSet.objects.filter(subject="org").values_list("as_of", "window_days"))
    assert (latest, DEFAULT_WINDOW_DAYS) in pairs  # the latest figures always stay
    assert len(pairs) == 4
    assert {(latest - timedelta(days=n), 90) for n in (3, 4, 5)} <= pairs


@override_settings(ANALYTICS_ON_DEMAND_KEEP=2)
def test_computing_on_request_evicts_as_it_goes(refreshed: Any) -> None:
    for n in range(1, 6):
        ondemand.ensure_for(None, as_of=timezone.localdate() - timedelta(days=n), window_days=90)
    assert MetricSet.objects.filter(subject="org").count() == 3


def test_pages_say_what_they_did_with_odd_filters(refreshed: Any, login: Any) -> None:
    first = ondemand.data_span().first
    assert first is not None
    page = login(refreshed.mona).get(
        f"/teams/{refreshed.alpha.pk}/?as_of={first - timedelta(days=30)}&window=33"
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ignored window=33: not a window this page offers" in text
    assert f"The data begins on {first:%-d %b %Y}" in text
    assert MetricSet.objects.filter(as_of=first, window_days=DEFAULT_WINDOW_DAYS).exists()
    assert login(refreshed.mona).get(f"/teams/{refreshed.alpha.pk}/?as_of=soon").status_code == 200


def test_a_refused_page_says_why(refreshed: Any, login: Any) -> None:
    with override_settings(ANALYTICS_ON_DEMAND_PER_HOUR=1):
        browser = login(refreshed.mona)
        today = timezone.localdate()
        assert browser.get(f"/people/{refreshed.alice.pk}/?as_of={today - timedelta(days=3)}")
        page = browser.get(f"/people/{refreshed.alice.pk}/?as_of={today - timedelta(days=4)}")
    assert page.status_code == 429
    assert "computed in the last hour" in page.content.decode()


def test_someone_who_sees_no_one_computes_nothing(refreshed: Any, login: Any) -> None:
    before = Refresh.objects.count()
    day = timezone.localdate() - timedelta(days=9)
    assert login(refreshed.stranger).get(f"/teams/?as_of={day}&window=90").status_code in (
        200,
        404,
    )
    assert Refresh.objects.count() == before


def test_old_data_is_shown_as_of_its_last_day(cast: Any, login: Any) -> None:
    ending = datetime(2019, 6, 28, 12, tzinfo=UTC)
    _deals(cast, ending=ending)
    run = refresh()
    assert timezone.localtime(run.as_of).date() == date(2019, 6, 28)
    assert run.data_last is not None and run.data_last.date() == date(2019, 6, 28)
    alice = MetricSet.objects.get(subject=f"rep:{cast.alice.pk}")
    assert alice.data["won"] == 4
    page = login(cast.mona).get(f"/teams/{cast.alpha.pk}/").content.decode()
    assert "The data ends on 28 Jun 2019" in page


def test_metrics_command_says_the_figures_are_old(cast: Any, capsys: Any) -> None:
    _deals(cast, ending=datetime(2019, 6, 28, 12, tzinfo=UTC))
    call_command("refresh", stdout=io.StringIO())
    out = io.StringIO()
    call_command("metrics", "--json", stdout=out)
    assert "Figures as of 2019-06-28, the latest computed (the data ends on 2019-06-28)" in (
        capsys.readouterr().err
    )
    assert '"won": 4' in out.getvalue()


def test_a_scoped_refresh_on_a_new_day_stores_everyone(refreshed: Any) -> None:
    tomorrow = timezone.now() + timedelta(days=1)
    refresh(as_of=tomorrow, people=[refreshed.alice.pk])
    day = timezone.localtime(tomorrow).date()
    reps = MetricSet.objects.filter(as_of=day, kind=MetricSet.Kind.REP).count()
    assert reps == 3


@pytest.mark.django_db(transaction=True)
def test_claims_never_exceed_the_cap(refreshed: Any) -> None:
    """On PostgreSQL, threads with their own connections claim at once and the advisory
    lock serialises them. The in-memory SQLite test database is one connection, so
    there the claims come one after another (the stress test runs SQLite's real
    concurrency: stagecoach/testing/stress.py)."""
    from django.db import connection

    claims: list[Any] = []

    def claim(n: int) -> None:
        from django.db import connection as own

        claims.append(ondemand._claim(None, timezone.localdate() - timedelta(days=n), 90))
        if own.vendor == "postgresql":
            own.close()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=claim, args=(n,)) for n in range(1, 7)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for n in range(1, 7):
            claim(n)
    assert sum(isinstance(c, Refresh) for c in claims) == 2
    assert sorted(c for c in claims if isinstance(c, str)) == ["busy"] * 4


def test_pressing_refresh_again_queues_nothing_more(refreshed: Any, login: Any) -> None:
    # Inside the test's transaction the queued run is never picked up: it stays queued.
    browser = login(refreshed.mona)
    for _ in range(3):
        assert browser.post("/analytics/refresh/", {"next": "/"}).status_code == 302
    assert Refresh.objects.filter(status=Refresh.Status.QUEUED, people=[]).count() == 1
