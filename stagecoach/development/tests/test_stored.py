"""Stored coaching health and impact: the same figures as computed on a request, a
clear state before they exist, and recomputed when an input changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person, Role
from stagecoach.analytics.services import refresh
from stagecoach.coaching.models import Session
from stagecoach.demo import services as demo
from stagecoach.demo.generator import DemoConfig
from stagecoach.development import health, impact
from stagecoach.development import stored as stored_results
from stagecoach.development.health import stored as health_stored
from stagecoach.development.models import StoredResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_org(db: None) -> None:
    """A demo organisation as of now: twelve reps, their coaching, plans and analytics."""
    now = timezone.now()
    demo.load_demo(config=DemoConfig(reps=12, years=0.75, now=int(now.timestamp())))
    refresh(as_of=now)
    impact.measure_action_plans(now=now)


def test_stored_figures_are_the_figures_computed_on_a_request(demo_org) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    stored_results.compute_all(now=now)
    managers = health.all_managers()
    assert len(managers) >= 2
    for weeks in health.WEEK_CHOICES:
        row = StoredResult.objects.get(key=health_stored.key(weeks))
        assert row.data is not None
        figures = health_stored.rebuild(row.data, managers)
        window = health.window_for(weeks, now=now)
        assert figures.window == window
        computed = health.accountabilities(managers, window=window)
        assert figures.rows == computed
        assert figures.bands == health.org_bands(window)
    # Not a comparison of empty tables: the demo coaches, and its analytics are there.
    assert sum(r.sessions.held for r in computed) > 0
    assert sum(r.adherence.deals for r in computed) > 0

    summary = impact.summary_from_json(StoredResult.objects.get(key=stored_results.IMPACT).data)
    assert summary == impact.summarise(impact.ended_plans())
    assert summary.ended > 0


class _Waiting:
    """The task queue with no worker running yet: what is queued stays queued."""

    def __init__(self) -> None:
        self.queued = 0

    def enqueue(self) -> None:
        self.queued += 1


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch) -> _Waiting:
    from stagecoach.development import tasks

    waiting = _Waiting()
    monkeypatch.setattr(tasks, "compute_stored_results", waiting)
    return waiting


def held(manager: Person, rep: Person, *, minutes: int = 45) -> Session:
    at = timezone.now() - timedelta(days=2)
    return Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        scheduled_at=at,
        held_at=at,
        duration_minutes=minutes,
        status=Session.Status.HELD,
    )


@pytest.mark.parametrize("page", ["coaching-health", "impact"])
def test_before_the_first_computation_the_page_says_it_is_being_computed(  # type: ignore[no-untyped-def]
    cast, login, no_worker, page: str
) -> None:
    response = login(cast.lena).get(reverse(page))
    assert response.status_code == 200
    assert "being computed" in response.content.decode()
    assert no_worker.queued == 1
    # Another visit does not queue it again while it waits.
    login(cast.lena).get(reverse(page))
    assert no_worker.queued == 1


def test_once_computed_the_page_shows_the_stored_figures(cast, login, no_worker) -> None:  # type: ignore[no-untyped-def]
    held(cast.mona, cast.alice)
    stored_results.compute_all()
    content = login(cast.lena).get(reverse("coaching-health")).content.decode()
    assert "being computed" not in content
    assert "Being updated" not in content
    assert "Mona Manager" in content
    assert no_worker.queued == 0


@pytest.mark.django_db(transaction=True)
def test_a_change_marks_the_results_out_of_date_and_queues_them_once(  # type: ignore[no-untyped-def]
    cast, login, no_worker
) -> None:
    stored_results.compute_all()
    with transaction.atomic():
        held(cast.mona, cast.alice)
        held(cast.mona, cast.bob)
        assert no_worker.queued == 0  # not before the change is committed
    assert no_worker.queued == 1  # one recomputation for the whole change
    row = StoredResult.objects.get(key=health_stored.key(health.DEFAULT_WEEKS))
    assert row.changed_at is not None and row.computed_at is not None
    assert row.changed_at > row.computed_at
    # Until the worker has run, the page shows the previous figures and says so.
    content = login(cast.lena).get(reverse("coaching-health")).content.decode()
    assert "Being updated" in content
    stored_results.compute_all()
    content = login(cast.lena).get(reverse("coaching-health")).content.decode()
    assert "Being updated" not in content


def test_the_recomputation_picks_up_the_change(cast) -> None:  # type: ignore[no-untyped-def]
    # With the inline task runner, reading queues and runs the recomputation. The test's
    # transaction never commits: what runs once a change commits is called directly.
    key = health_stored.key(health.DEFAULT_WEEKS)
    before = health_stored.rebuild(stored_results.read(key).data or {}, [cast.mona])
    held(cast.mona, cast.alice, minutes=60)
    stored_results._after_change()
    after = health_stored.rebuild(stored_results.read(key).data or {}, [cast.mona])
    assert after.rows[0].total_minutes == before.rows[0].total_minutes + 60


def test_figures_from_yesterday_are_out_of_date(cast, no_worker) -> None:  # type: ignore[no-untyped-def]
    stored_results.compute_all(now=timezone.now() - timedelta(days=1))
    assert not stored_results.read(stored_results.IMPACT).current
    assert no_worker.queued == 1


@pytest.mark.parametrize("who", ["alice", "stranger"])
def test_reps_and_strangers_see_no_stored_figures(cast, login, who: str) -> None:  # type: ignore[no-untyped-def]
    stored_results.compute_all()
    for page in ("coaching-health", "impact", "coaching-health-csv"):
        assert login(getattr(cast, who)).get(reverse(page)).status_code == 404


def test_a_manager_sees_only_their_own_row_of_the_stored_table(cast, login) -> None:  # type: ignore[no-untyped-def]
    held(cast.nate, cast.charlie)
    stored_results.compute_all()
    content = login(cast.mona).get(reverse("coaching-health")).content.decode()
    assert "Mona Manager" in content
    assert "Nate Manager" not in content
    assert Person.objects.filter(role=Role.MANAGER).count() == 2


def test_the_table_is_rendered_once_per_computation_and_set_of_managers(  # type: ignore[no-untyped-def]
    cast, login, monkeypatch
) -> None:
    held(cast.mona, cast.alice, minutes=60)
    stored_results.compute_all()
    rebuilds: list[int] = []
    rebuild = health_stored.rebuild
    monkeypatch.setattr(
        health_stored,
        "rebuild",
        lambda data, managers: rebuilds.append(len(managers)) or rebuild(data, managers),
    )
    leader = login(cast.lena)
    first = leader.get(reverse("coaching-health")).content.decode()
    again = leader.get(reverse("coaching-health")).content.decode()
    table = "<h2>Accountability"
    assert rebuilds == [2] and "Nate Manager" in first
    assert first.split(table)[1] == again.split(table)[1]
    # Another set of managers is another table: Mona sees only her own row.
    mona = login(cast.mona).get(reverse("coaching-health")).content.decode()
    assert rebuilds == [2, 1] and "Nate Manager" not in mona and "Mona Manager" in mona
    leader = login(cast.lena)
    # A new computation is a new table, with the new figures.
    minutes = r"(\d+) min<div class=\"n\">"
    assert re.findall(minutes, first)[0] == "8"  # 60 minutes over 8 weeks, rounded
    held(cast.mona, cast.bob, minutes=120)
    stored_results.compute_all()
    after = leader.get(reverse("coaching-health")).content.decode()
    assert rebuilds == [2, 1, 2]
    assert re.findall(minutes, after)[0] == "23"  # 180 minutes over 8 weeks, rounded
