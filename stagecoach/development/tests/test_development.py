"""Skills inventory, development and action plans, check-ins, wins and measured impact."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from stagecoach.coaching.agenda import build_agenda
from stagecoach.coaching.models import Session, SessionItem
from stagecoach.coaching.services import SessionLog, log_session
from stagecoach.development import services
from stagecoach.development.impact import (
    focus_areas,
    measure_action_plans,
    summarise,
    summary_from_json,
    summary_json,
)
from stagecoach.development.models import (
    ActionPlan,
    CheckIn,
    DevelopmentPlan,
    SkillExpectation,
    SkillRating,
    TargetMetric,
    Win,
)
from stagecoach.development.selectors import competency_model, heat_map, skill_profile
from stagecoach.process.models import Skill
from stagecoach.testing.factories import default_pipeline, make_activity, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def process(cast):  # type: ignore[no-untyped-def]
    default_pipeline()
    return cast


def _plan(cast, *, weeks_ago: int = 2, metric: str = TargetMetric.ACTIVITIES) -> ActionPlan:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    plan = services.create_plan(
        rep=cast.alice, by=cast.mona, title="Alice 2026", starts_on=today - timedelta(weeks=20)
    )
    start = today - timedelta(weeks=weeks_ago)
    return services.add_action_plan(
        plan=plan,
        draft=services.ActionPlanDraft(
            title="More calls",
            starts_on=start,
            ends_on=start + timedelta(weeks=6),
            metric=metric,
            metric_activity="call",
            target=20.0,
            baseline=10.0,
            actions=("Block two hours a morning", "Call ten new accounts a week"),
        ),
        by=cast.mona,
    )


def test_the_competency_model_follows_the_process_then_general_skills(process) -> None:  # type: ignore[no-untyped-def]
    model = competency_model()
    names = [c.skill.name for c in model]
    assert names[0] == "Prospecting"
    assert names.index("Qualification") < names.index("Negotiation")
    general = [c.skill.name for c in model if c.skill.category == "general"]
    assert names[-len(general) :] == general
    assert {c.expected for c in model} == {3}
    SkillExpectation.objects.create(role="rep", skill=Skill.objects.get(name="Closing"), level=4)
    assert next(c for c in competency_model() if c.skill.name == "Closing").expected == 4


def test_a_manager_rates_and_the_manager_rating_stands_over_the_self_rating(process, login) -> None:  # type: ignore[no-untyped-def]
    closing = Skill.objects.get(name="Closing")
    client = login(process.alice)
    response = client.post(
        reverse("skills", args=[process.alice.pk]),
        {"rated_on": timezone.localdate().isoformat(), f"level-{closing.pk}": "4"},
    )
    assert response.status_code == 302
    assert SkillRating.objects.get().source == SkillRating.Source.SELF

    client = login(process.mona)
    client.post(
        reverse("skills", args=[process.alice.pk]),
        {
            "rated_on": timezone.localdate().isoformat(),
            f"level-{closing.pk}": "2",
            f"note-{closing.pk}": "Gave a discount unasked",
        },
    )
    row = next(r for r in skill_profile(process.alice) if r.competency.skill == closing)
    assert (row.level, row.gap, row.self_rating.level) == (2, 1, 4)  # type: ignore[union-attr]
    assert row.manager.note == "Gave a discount unasked"  # type: ignore[union-attr]
    model, rows = heat_map([process.alice, process.bob])
    closing_cell = rows[0][1][[c.skill for c in model].index(closing)]
    assert (closing_cell.level, closing_cell.tone, closing_cell.is_self) == (2, "gap-1", False)


def test_rating_form_rejects_nothing_chosen_and_future_dates(process, login) -> None:  # type: ignore[no-untyped-def]
    closing = Skill.objects.get(name="Closing")
    client = login(process.mona)
    url = reverse("skills", args=[process.alice.pk])
    assert client.post(url, {"rated_on": timezone.localdate().isoformat()}).status_code == 200
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(url, {"rated_on": tomorrow, f"level-{closing.pk}": "3"})
    assert b"cannot be dated in the future" in response.content
    assert not SkillRating.objects.exists()


@pytest.mark.parametrize("who", ["bob", "charlie", "nate", "stranger"])
def test_nobody_else_reads_or_rates_alices_skills(process, login, who: str) -> None:  # type: ignore[no-untyped-def]
    closing = Skill.objects.get(name="Closing")
    client = login(getattr(process, who))
    url = reverse("skills", args=[process.alice.pk])
    assert client.get(url).status_code == 404
    post = client.post(
        url, {"rated_on": timezone.localdate().isoformat(), f"level-{closing.pk}": "1"}
    )
    assert post.status_code == 404
    assert not SkillRating.objects.exists()


def test_team_heat_map_and_its_csv(process, login) -> None:  # type: ignore[no-untyped-def]
    services.rate_skills(
        rep=process.alice,
        by=process.mona,
        source="manager",
        levels={Skill.objects.get(name="Closing").pk: 1},
        rated_on=timezone.localdate(),
    )
    client = login(process.mona)
    page = client.get(reverse("team-skills", args=[process.alpha.pk]))
    assert page.status_code == 200 and b"Alice Rep" in page.content and b"gap-2" in page.content
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("team-skills", args=[process.alpha.pk]) + "?format=csv"
                ).content.decode("utf-8-sig")
            )
        )
    )
    closing = rows[0].index("Closing")
    assert [r[closing] for r in rows[1:] if r[0] == "Alice Rep"] == ["1"]
    assert (
        login(process.nate).get(reverse("team-skills", args=[process.alpha.pk])).status_code == 404
    )


def test_a_plan_starts_from_the_largest_gaps(process, login) -> None:  # type: ignore[no-untyped-def]
    skills = {s.name: s.pk for s in Skill.objects.all()}
    services.rate_skills(
        rep=process.alice,
        by=process.mona,
        source="manager",
        levels={skills["Closing"]: 1, skills["Discovery questioning"]: 2, skills["Prospecting"]: 4},
        rated_on=timezone.localdate(),
    )
    goals = services.suggested_goals(process.alice)
    assert [g.skill_id for g in goals] == [skills["Closing"], skills["Discovery questioning"]]

    assert login(process.alice).get(reverse("plan-new", args=[process.alice.pk])).status_code == 404
    client = login(process.mona)
    form = client.get(reverse("plan-new", args=[process.alice.pk]))
    assert b"Closing: from 1 to 3" in form.content
    today = timezone.localdate()
    response = client.post(
        reverse("plan-new", args=[process.alice.pk]),
        {
            "title": "Alice's year",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
            "goals-TOTAL_FORMS": "2",
            "goals-INITIAL_FORMS": "0",
            "goals-0-include": "on",
            "goals-0-text": "Closing: from 1 to 3",
            "goals-0-skill": str(skills["Closing"]),
            "goals-0-target_level": "3",
            "goals-1-text": "Not kept",
        },
    )
    assert response.status_code == 302
    plan = DevelopmentPlan.objects.get()
    assert [g.text for g in plan.goals.all()] == ["Closing: from 1 to 3"]
    with pytest.raises(ValidationError):
        services.create_plan(rep=process.alice, by=None, title="Second", starts_on=today)


def test_an_action_plan_runs_six_to_eight_weeks_and_rates_are_entered_in_percent(
    process, login
) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    plan = services.create_plan(rep=process.alice, by=process.mona, title="Y", starts_on=today)
    with pytest.raises(ValidationError, match="six to eight weeks"):
        services.validate_period(today, today + timedelta(weeks=4))
    client = login(process.mona)
    url = reverse("action-plan-new", args=[process.alice.pk])
    base = {
        "title": "Qualify harder",
        "starts_on": today.isoformat(),
        "weeks": "6",
        "metric": "conversion",
        "target": "35",
        "baseline": "28",
        "actions": "Ask for the compelling event\n\nName the economic buyer",
    }
    missing_stage = client.post(url, base)
    assert b"Choose the stage" in missing_stage.content
    response = client.post(url, {**base, "metric_stage": stage("Qualification").pk})
    assert response.status_code == 302
    action_plan = ActionPlan.objects.get(plan=plan)
    assert (action_plan.baseline, action_plan.target) == pytest.approx((0.28, 0.35))
    assert (action_plan.ends_on - action_plan.starts_on).days == 42
    assert [a.text for a in action_plan.actions.all()] == [
        "Ask for the compelling event",
        "Name the economic buyer",
    ]
    page = client.get(reverse("action-plan", args=[action_plan.pk]))
    assert "28% → 35%" in re.sub(r"<[^>]+>", "", page.content.decode())


def test_check_in_revises_the_plan_and_closing_it_celebrates_a_win(process, login) -> None:  # type: ignore[no-untyped-def]
    action_plan = _plan(process)
    client = login(process.mona)
    new_end = action_plan.starts_on + timedelta(weeks=8)
    client.post(
        reverse("action-plan-check-in", args=[action_plan.pk]),
        {
            "progress": "at_risk",
            "note": "Quarter end ate the mornings",
            "new_ends_on": new_end.isoformat(),
            "new_target": "18",
            "new_actions": "Ask Bob to cover Tuesdays",
        },
    )
    check = CheckIn.objects.get()
    assert check.progress == "at_risk"
    assert "end moved" in check.revision.lower() and "target changed" in check.revision
    action_plan.refresh_from_db()
    assert (action_plan.ends_on, action_plan.target, action_plan.actions.count()) == (
        new_end,
        18.0,
        3,
    )
    too_long = client.post(
        reverse("action-plan-check-in", args=[action_plan.pk]),
        {
            "progress": "on_track",
            "new_ends_on": (action_plan.starts_on + timedelta(weeks=12)).isoformat(),
        },
    )
    assert too_long.status_code == 302 and CheckIn.objects.count() == 1

    alice = login(process.alice)
    action = action_plan.actions.first()
    alice.post(reverse("action-done", args=[action.pk]), {"done": "1"})  # type: ignore[union-attr]
    action.refresh_from_db()  # type: ignore[union-attr]
    assert action.done_on == timezone.localdate()  # type: ignore[union-attr]
    # Alice ticks her own actions but does not close or check in on her plan.
    assert (
        alice.post(
            reverse("action-plan-close", args=[action_plan.pk]), {"outcome": "achieved"}
        ).status_code
        == 404
    )

    client = login(process.mona)
    client.post(
        reverse("action-plan-close", args=[action_plan.pk]),
        {"outcome": "achieved", "note": "Twenty calls a week for six weeks", "celebrate": "on"},
    )
    win = Win.objects.get()
    assert win.rep == process.alice and "achieved" in win.title
    assert (
        b"Twenty calls a week"
        in login(process.alice).get(reverse("development", args=[process.alice.pk])).content
    )


@pytest.mark.parametrize("who", ["bob", "charlie", "nate", "stranger"])
def test_nobody_else_sees_or_changes_alices_plan(process, login, who: str) -> None:  # type: ignore[no-untyped-def]
    action_plan = _plan(process)
    client = login(getattr(process, who))
    for url in (
        reverse("development", args=[process.alice.pk]),
        reverse("action-plan", args=[action_plan.pk]),
        reverse("plan-new", args=[process.alice.pk]),
        reverse("action-plan-new", args=[process.alice.pk]),
        reverse("skills", args=[process.alice.pk]) + "?format=csv",
        reverse("development", args=[process.alice.pk]) + "?format=csv",
    ):
        assert client.get(url).status_code == 404
    for url, data in (
        (reverse("action-plan-check-in", args=[action_plan.pk]), {"progress": "on_track"}),
        (reverse("action-plan-close", args=[action_plan.pk]), {"outcome": "achieved"}),
        (reverse("action-done", args=[action_plan.actions.first().pk]), {"done": "1"}),  # type: ignore[union-attr]
        (reverse("win-new", args=[process.alice.pk]), {"title": "x"}),
        (reverse("plan-close", args=[action_plan.plan_id]), {"outcome": "x"}),
    ):
        assert client.post(url, data).status_code == 404
    action_plan.refresh_from_db()
    assert action_plan.status == ActionPlan.Status.ACTIVE and not CheckIn.objects.exists()


def test_impact_is_measured_against_the_rest_of_the_team(process) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    action_plan = _plan(process, weeks_ago=8)
    start = timezone.make_aware(
        timezone.datetime.combine(action_plan.starts_on, timezone.datetime.min.time())
    )
    # Alice: 5 calls a week before the plan, 15 during; Bob and Charlie: 10 throughout.
    for week in range(-13, 6):
        at = start + timedelta(weeks=week, days=1)
        for _ in range(5 if week < 0 else 15):
            make_activity(process.alice, occurred_at=at)
        for rep in (process.bob, process.charlie):
            for _ in range(10):
                make_activity(rep, occurred_at=at)
    assert measure_action_plans(now=now) == 1
    action_plan.refresh_from_db()
    impact = action_plan.impact
    assert impact is not None
    assert impact["verdict"] == "improved"
    assert impact["effect"] == pytest.approx(10.0)
    assert impact["comparison"] == "all other reps"  # Alpha has only Bob besides Alice
    assert impact["target_met"] is False  # 15 a week against a target of 20
    # Measured once: a later run leaves ended plans alone.
    assert measure_action_plans(now=now) == 0
    (row,) = focus_areas([action_plan])
    assert (row.plans, row.verdicts["improved"], row.mean_effect) == (1, 1, pytest.approx(10.0))


def test_a_running_plan_is_interim_not_a_verdict(process, login) -> None:  # type: ignore[no-untyped-def]
    # Measured at every refresh while it runs: judging each of those looks would find a
    # change by chance far too often, so the verdict waits for the declared end date.
    action_plan = _plan(process, weeks_ago=3)
    start = timezone.make_aware(
        timezone.datetime.combine(action_plan.starts_on, timezone.datetime.min.time())
    )
    for week in range(-13, 3):
        for rep, calls in ((process.alice, 2 if week < 0 else 30), (process.bob, 10)):
            for _ in range(calls):
                make_activity(rep, occurred_at=start + timedelta(weeks=week, days=1))
    assert measure_action_plans() == 1
    action_plan.refresh_from_db()
    assert action_plan.impact is None
    assert action_plan.progress is not None
    assert action_plan.progress["verdict"] == "interim"
    assert action_plan.progress["reason"].startswith("Interim, not a verdict")
    page = login(process.mona).get(reverse("action-plan", args=[action_plan.pk])).content
    assert b"interim, not a verdict" in page and b"Improved" not in page


def test_days_in_stage_effects_read_as_a_change_of_the_typical_visit(process, login) -> None:  # type: ignore[no-untyped-def]
    # Days in stage is compared on the log scale: its effect is a relative change, stored
    # as a fraction (−0.3, 30% shorter). One measured before that is a difference in days
    # and keeps reading as days, on its own row and chart, never averaged with the other.
    relative = _plan(process, weeks_ago=8)
    relative.metric, relative.metric_stage = TargetMetric.STAGE_DAYS, stage("Discovery")
    relative.impact = {
        "verdict": "improved",
        "effect": -0.3,
        "low": -0.45,
        "high": -0.1,
        "effect_unit": "relative",
        "reason": "",
    }
    relative.save()
    days = ActionPlan.objects.get(pk=relative.pk)
    days.pk, days.title = None, "Shorter discovery"
    days.impact = {"verdict": "no_evidence", "effect": -2.5, "low": -6.0, "high": 1.0}
    days.save()
    rows = {row.unit: row for row in focus_areas([relative, days])}
    assert rows["%"].mean_effect == pytest.approx(-30.0)
    assert rows["days"].mean_effect == pytest.approx(-2.5)
    summary = summarise([relative, days])
    assert [e.unit for e in summary.effects] == ["%", "days"]
    # A summary stored before effects carried their unit.
    stored = summary_json(summary)
    for e in stored["effects"]:
        del e["unit"]
    assert [e.unit for e in summary_from_json(stored).effects] == ["days", "days"]
    client = login(process.mona)
    page = client.get(reverse("impact")).content.decode()
    assert "Days in stage (change in the typical visit)" in page
    assert "-30.0%" in page
    assert "-30.0 %" in page  # the focus-area table's mean effect
    csv_rows = list(
        csv.DictReader(
            io.StringIO(client.get(reverse("impact") + "?format=csv").content.decode("utf-8-sig"))
        )
    )
    assert sorted(r["effect_unit"] for r in csv_rows) == ["%", "days"]


def test_the_impact_page_is_for_those_who_coach(process, login) -> None:  # type: ignore[no-untyped-def]
    _plan(process, weeks_ago=8)
    measure_action_plans()
    for who in ("alice", "bob", "charlie", "stranger"):
        assert login(getattr(process, who)).get(reverse("impact")).status_code == 404
    assert b"More calls" in login(process.mona).get(reverse("impact")).content
    assert b"More calls" not in login(process.nate).get(reverse("impact")).content
    rows = list(
        csv.DictReader(
            io.StringIO(
                login(process.lena)
                .get(reverse("impact") + "?format=csv")
                .content.decode("utf-8-sig")
            )
        )
    )
    assert [(r["rep"], r["verdict"], r["final"]) for r in rows] == [
        ("Alice Rep", rows[0]["verdict"], "yes")
    ]


def test_the_impact_page_lists_plans_a_page_at_a_time_and_the_csv_has_them_all(
    process, login
) -> None:  # type: ignore[no-untyped-def]
    measured = _plan(process, weeks_ago=8)
    measure_action_plans()
    measured.refresh_from_db()
    assert measured.impact is not None
    copies = []
    for n in range(60):
        copy = ActionPlan.objects.get(pk=measured.pk)
        copy.pk = None
        copy.title = f"Ended plan {n}"
        copies.append(copy)
    running = ActionPlan.objects.get(pk=measured.pk)
    running.pk, running.title, running.impact = None, "Still running", None
    running.status = ActionPlan.Status.ACTIVE
    copies.append(running)
    ActionPlan.objects.bulk_create(copies)
    client = login(process.mona)

    def rows(page: bytes, table: str) -> list[str]:
        body = page.split(f'class="compact {table}"'.encode())[1].split(b"</table>")[0]
        return re.findall(r'href="/development/action-plans/\d+/">([^<]+)<', body.decode())

    first = client.get(reverse("impact")).content
    assert b'Ended action plans <span class="n">(61)</span>' in first
    assert len(rows(first, "ended-plans")) == 50
    assert b"Page 1 of 2" in first
    assert rows(first, "running-plans") == [running.title]
    second = client.get(reverse("impact"), {"page": 2, "running": 1}).content
    assert len(rows(second, "ended-plans")) == 11
    assert b"page=1" in second and b"running=1" in second  # the pager keeps the other list
    # Every plan, on no page at all, in the download.
    csv_rows = list(
        csv.DictReader(
            io.StringIO(client.get(reverse("impact") + "?format=csv").content.decode("utf-8-sig"))
        )
    )
    assert len(csv_rows) == 62


def test_the_agenda_checks_in_on_the_current_action_plan_and_the_log_records_it(process) -> None:  # type: ignore[no-untyped-def]
    action_plan = _plan(process)
    agenda = build_agenda(process.alice)
    item = next(i for i in agenda.items if i.kind == SessionItem.Kind.PLAN)
    assert item.title == "Action plan check-in: More calls"
    assert any("Open: Block two hours a morning" in line for line in item.detail)

    session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=process.mona,
        rep=process.alice,
        scheduled_at=timezone.now() - timedelta(hours=1),
    )
    planned = SessionItem.objects.create(
        session=session, kind=SessionItem.Kind.PLAN, tag="skill", title=item.title
    )
    log = SessionLog(
        held_at=timezone.now(),
        duration_minutes=30,
        notes="",
        covered={planned.pk: True},
        item_notes={planned.pk: "Two mornings blocked, calls up"},
        questions_asked=None,
        directives_given=None,
        tally_source="",
    )
    log_session(session, log, by=process.mona.user)
    log_session(session, log, by=process.mona.user)  # logged twice: still one check-in
    check = CheckIn.objects.get()
    assert (check.action_plan, check.session, check.note) == (
        action_plan,
        session,
        "Two mornings blocked, calls up",
    )
