"""One figure, one value, on every page.

A number a page prints twice (a flag's headline and the chart beside it, a card and
its chart, an action plan's baseline in its card and in its impact table and chart)
carries the same ``data-figure`` name in each place. On the demo organisation, every
page the leader can reach must show each named figure with one value only; and the
cases once seen disagreeing are planted and checked by name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from stagecoach.accounts.models import Person, Role, User
from stagecoach.analytics.engine.flags import conversion_gap_title
from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.analytics.selectors import latest_as_of
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.demo import services
from stagecoach.demo.generator import DemoConfig
from stagecoach.development.models import ActionPlan, TargetMetric
from stagecoach.web.tests.test_links import crawl

NOW = int(datetime(2026, 6, 17, 12, tzinfo=UTC).timestamp())
SMALL = DemoConfig(reps=12, years=0.75, now=NOW)

pytestmark = pytest.mark.django_db(transaction=False)


class _Figures(HTMLParser):
    """The text of every element marked ``data-figure``, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[str]] = defaultdict(list)
        self._open: list[tuple[str | None, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        self._open.append((dict(attrs).get("data-figure"), []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if not self._open or tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        name, text = self._open.pop()
        if name:
            self.found[name].append(" ".join("".join(text).split()))
        for _, outer in self._open:
            outer.extend(text)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)


def figures_on(html: str) -> dict[str, list[str]]:
    parser = _Figures()
    parser.feed(html)
    return dict(parser.found)


def contradictions(html: str) -> dict[str, set[str]]:
    return {name: set(values) for name, values in figures_on(html).items() if len(set(values)) > 1}


@pytest.fixture
def demo() -> dict[str, str]:
    cache.clear()
    logins = services.load_demo(config=SMALL).logins
    # The first page that needs figures computes and stores them.
    _page(_client(logins["leader"]), "/teams/")
    return logins


def _client(email: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def _page(client: Client, url: str) -> str:
    response: Any = client.get(url)
    assert response.status_code == 200, url
    return str(response.content.decode())


def _rep() -> Person:
    """The first rep with stored figures and a stage with enough evidence to shrink."""
    as_of = latest_as_of(DEFAULT_WINDOW_DAYS)
    for subject, data in MetricSet.objects.filter(
        as_of=as_of, window_days=DEFAULT_WINDOW_DAYS, subject__startswith="rep:"
    ).values_list("subject", "data"):
        if any(r.get("conversion_shrunk") is not None for r in data.get("stages", [])):
            return Person.objects.get(pk=int(subject.split(":")[1]))
    raise AssertionError("the demo computes its reps' figures")


def _rep_metrics(person: Person) -> MetricSet:
    as_of = latest_as_of(DEFAULT_WINDOW_DAYS)
    return MetricSet.objects.get(
        subject=f"rep:{person.pk}", as_of=as_of, window_days=DEFAULT_WINDOW_DAYS
    )


def test_no_figure_shows_two_values_on_any_page_of_the_demo(demo: dict[str, str]) -> None:
    _, _, pages = crawl(_client(demo["leader"]), keep_html=True)
    found: dict[str, dict[str, set[str]]] = {}
    names: set[str] = set()
    for url, html in pages.items():
        names |= {name.split(":")[0] for name in figures_on(html)}
        if clash := contradictions(html):
            found[url] = clash
    assert found == {}
    # The figures the pages print twice are marked at all: a page that marks nothing
    # would pass the check above without checking anything.
    assert {"conversion", "baseline"} <= names


def _plant_conversion_gap(person: Person) -> Flag:
    """A conversion-gap flag on the rep's first stage with a shrunk rate, its evidence
    taken from the stored stage row as the rule takes it."""
    metrics = _rep_metrics(person)
    row = next(
        r
        for r in metrics.data["stages"]
        if r.get("conversion_shrunk") is not None and r["advanced"] + r["lost"] > 0
    )
    # A raw rate well away from the shrunk one, as a small sample gives.
    row["advanced"], row["lost"] = 7, 18
    row["conversion"] = 7 / 25
    row["evidence"] = "gap"
    metrics.save(update_fields=["data"])
    return Flag.objects.create(
        person=person,
        as_of=metrics.as_of,
        window_days=DEFAULT_WINDOW_DAYS,
        code="conversion_gap",
        severity="medium",
        stage_id=row["stage_id"],
        title=conversion_gap_title(
            row["stage"],
            advanced=7,
            resolved=25,
            shrunk=row["conversion_shrunk"],
            peers=row["team_conversion"],
        ),
        evidence={
            "advanced": 7,
            "lost": 18,
            "open": row["open"],
            "resolved": 25,
            "conversion": row["conversion"],
            "conversion_shrunk": row["conversion_shrunk"],
            "interval": [row["conversion_low"], row["conversion_high"]],
            "peers": row["team_conversion"],
            "benchmark": row.get("benchmark_conversion"),
            "probability": 0.95,
            "margin": 0.1,
        },
        computed_at=metrics.computed_at,
    )


def test_a_conversion_flag_names_raw_and_shrunk_and_the_chart_agrees(
    demo: dict[str, str],
) -> None:
    flag = _plant_conversion_gap(_rep())
    html = _page(_client(demo["leader"]), f"/people/{flag.person_id}/")
    figures = figures_on(html)
    name = f"conversion:{flag.person_id}:{flag.stage_id}"
    shown = figures.get(name, [])
    assert len(shown) == 2, f"{name} should be in the headline and on the funnel: {shown}"
    assert len(set(shown)) == 1, shown
    assert figures.get(f"conversion-raw:{flag.person_id}:{flag.stage_id}") == ["28%"]
    text = re.sub(r"<[^>]+>", "", html)
    assert "28% raw (7 of 25)" in text and "after shrinking toward the team" in text
    # The team page lists the same flag beside each rep's funnel.
    team = _page(_client(demo["leader"]), f"/teams/{flag.person.team_id}/")
    assert len(figures_on(team).get(name, [])) == 2
    assert contradictions(team) == {}


def _plant_forecast(person: Person, **values: float) -> None:
    """A forecast as the engine stores it, with the given figures."""
    metrics = _rep_metrics(person)
    metrics.data["forecast"] = {
        "quota": 200_000.0,
        "won_to_date": 20_000.0,
        "expected": 60_000.0,
        "expected_open": 40_000.0,
        "p_attain": 0.3,
        "p10": 30_000.0,
        "p50": 60_000.0,
        "p90": 120_000.0,
        "attainment_p10": 0.15,
        "attainment_p50": 0.3,
        "attainment_p90": 0.6,
        "deals": 5,
        "samples": [20_000.0 + 1_000.0 * i for i in range(200)],
        "period_start": "2026-04-01",
        "period_end": "2026-06-30",
        "days_left": 14,
        **values,
    }
    metrics.save(update_fields=["data"])


def test_a_small_chance_of_quota_reads_the_same_on_the_card_and_the_chart(
    demo: dict[str, str],
) -> None:
    rep = _rep()
    # Half a percent: "1%" rounded one way, "0.5%" the other, "0%" a third.
    _plant_forecast(rep, p_attain=0.005)
    html = _page(_client(demo["leader"]), f"/people/{rep.pk}/")
    shown = figures_on(html).get(f"chance-of-quota:{rep.pk}", [])
    assert shown == ["<1%", "<1%"]


def test_expected_from_open_deals_leaves_out_what_is_won(demo: dict[str, str]) -> None:
    rep = _rep()
    # Won 50,000 already; the open deals are expected to add 41,212 more.
    _plant_forecast(rep, won_to_date=50_000.0, expected=91_212.0, expected_open=41_212.0, deals=7)
    html = _page(_client(demo["leader"]), f"/people/{rep.pk}/")
    assert figures_on(html).get(f"expected-open:{rep.pk}") == ["$41,212"]
    assert "more from 7 open deals" in html


def test_an_action_plan_has_one_baseline(demo: dict[str, str]) -> None:
    action_plan = ActionPlan.objects.filter(metric=TargetMetric.STAGE_DAYS).first() or (
        ActionPlan.objects.first()
    )
    assert action_plan is not None, "the demo has action plans"
    action_plan.metric = TargetMetric.STAGE_DAYS
    if action_plan.metric_stage_id is None:
        from stagecoach.process.models import Stage

        action_plan.metric_stage = Stage.objects.filter(kind="open").first()
    # Planned from the trailing twelve months; measured over the quarter before it.
    action_plan.baseline, action_plan.baseline_n = 14.0, 30
    before = {"value": 16.6, "n": 12, "start": "2026-01-01", "end": "2026-03-31", "people": 1}
    during = {"value": 12.0, "n": 9, "start": "2026-04-01", "end": "2026-06-17", "people": 1}
    action_plan.progress = {
        "verdict": "no_evidence",
        "reason": "Too early to tell.",
        "comparison": "the rest of the team",
        "rep_before": before,
        "rep_during": during,
        "team_before": {**before, "value": 15.0, "people": 3},
        "team_during": {**during, "value": 15.0, "people": 3},
    }
    action_plan.impact = None
    action_plan.save()
    html = _page(_client(demo["leader"]), f"/development/action-plans/{action_plan.pk}/")
    shown = figures_on(html).get(f"baseline:{action_plan.pk}", [])
    assert len(shown) >= 3, shown
    assert set(shown) == {"16.6 d"}


def test_a_user_who_may_not_see_the_rep_sees_none_of_their_figures(
    demo: dict[str, str],
) -> None:
    rep = _rep()
    other = (
        Person.objects.filter(role=Role.REP, is_active=True, user__isnull=False)
        .exclude(pk=rep.pk)
        .first()
    )
    assert other is not None and other.user is not None
    response: Any = _client(other.user.email).get(f"/people/{rep.pk}/")
    assert response.status_code == 404
