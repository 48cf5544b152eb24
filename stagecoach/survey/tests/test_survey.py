"""Rounds, answers and results through the services and selectors."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stagecoach.process.models import ExitCriterion, Pipeline, Stage
from stagecoach.survey import selectors, services
from stagecoach.survey.models import (
    CustomerInvitation,
    Group,
    Pick,
    Question,
    SurveyResponse,
    SurveyRound,
)
from stagecoach.survey.tests.conftest import (
    answer_as,
    customer_answers,
    extra_reps,
    first_stage,
)

pytestmark = pytest.mark.django_db


def test_a_round_asks_about_the_open_stages_as_the_map_stood(
    survey: SurveyRound, pipeline: Pipeline
) -> None:
    names = [s["name"] for s in survey.stages]
    assert names == list(
        Stage.objects.filter(pipeline=pipeline, kind="open")
        .order_by("order")
        .values_list("name", flat=True)
    )
    stage = first_stage(survey)
    assert "Account fits the ideal customer profile" in stage["exit"]
    assert "Prospecting calls" in stage["do"] and "Meeting" in stage["do"]
    assert "Other" not in stage["do"]
    # Editing the map later does not change what the open round asks.
    ExitCriterion.objects.filter(stage_id=stage["id"]).delete()
    survey.refresh_from_db()
    assert "Account fits the ideal customer profile" in first_stage(survey)["exit"]


def test_one_open_round_per_pipeline(cast: Any, survey: SurveyRound, pipeline: Pipeline) -> None:
    with pytest.raises(ValidationError, match="already has an open survey round"):
        services.open_round(pipeline=pipeline, title="Again", by=None)
    services.close_round(survey=survey)
    services.open_round(pipeline=pipeline, title="Again", by=None)


def test_answers_are_one_set_per_person_replaced_on_each_save(
    cast: Any, survey: SurveyRound
) -> None:
    answer_as(survey, cast.alice, exit_=("Account fits the ideal customer profile",))
    answer_as(survey, cast.alice, do=("Meeting",), written="Coffee with the champion\n")
    response = SurveyResponse.objects.get(person=cast.alice)
    assert response.group == Group.REP
    assert sorted((p.label, p.written_in) for p in response.picks.all()) == [
        ("Coffee with the champion", True),
        ("Meeting", False),
    ]
    with transaction.atomic(), pytest.raises(IntegrityError):
        SurveyResponse.objects.create(round=survey, person=cast.alice, group=Group.REP)


def test_an_item_not_on_the_list_cannot_be_picked(cast: Any, survey: SurveyRound) -> None:
    with pytest.raises(ValidationError, match="not on this round's list"):
        answer_as(survey, cast.alice, exit_=("Signed in blood",))


def test_a_closed_round_takes_no_answers(cast: Any, survey: SurveyRound) -> None:
    token = customer_answers(survey, "Acme")
    services.close_round(survey=survey)
    with pytest.raises(ValidationError, match="closed"):
        answer_as(survey, cast.alice)
    with pytest.raises(ValidationError, match="closed"):
        services.create_invitation(survey=survey, label="Late", by=None)
    # The link stops working with the round.
    assert selectors.invitation_for_token(token) is None


def test_a_link_is_stored_as_a_digest_only(survey: SurveyRound) -> None:
    new = services.create_invitation(survey=survey, label="Acme", by=None)
    stored = CustomerInvitation.objects.get()
    assert new.token not in (stored.digest, stored.label)
    assert stored.digest == selectors.token_digest(new.token)
    assert selectors.invitation_for_token(new.token) == stored
    assert selectors.invitation_for_token(new.token[:-1] + "x") is None
    assert selectors.invitation_for_token("short") is None


def test_a_customers_steps_are_kept_in_order(survey: SurveyRound) -> None:
    new = services.create_invitation(survey=survey, label="Acme", by=None)
    ids = [s["id"] for s in survey.stages]
    services.save_customer_answers(invitation=new.invitation, steps=[ids[2], ids[0]], answers=[])
    steps = Pick.objects.filter(question=Question.STEP).order_by("position")
    assert [(p.stage_id, p.position) for p in steps] == [(ids[2], 1), (ids[0], 2)]
    with pytest.raises(ValidationError):
        services.save_customer_answers(
            invitation=new.invitation, steps=[ids[0], ids[0]], answers=[]
        )
    with pytest.raises(ValidationError):
        services.save_customer_answers(
            invitation=new.invitation,
            steps=[],
            answers=[services.StageAnswer(stage_id=ids[0], question=Question.DO, picked=())],
        )


def _stage_rows(survey: SurveyRound, question: Question) -> dict[str, Any]:
    stage = selectors.results(survey)[0]
    (found,) = [q for q in stage.questions if q.question == question]
    return {row.label: row for row in found.rows}


def test_results_count_each_group_and_hide_small_ones(cast: Any, survey: SurveyRound) -> None:
    fits = "Account fits the ideal customer profile"
    for rep in [cast.alice, cast.bob, cast.charlie, *extra_reps(2)]:
        answer_as(survey, rep, exit_=(fits,) if rep != cast.charlie else ())
    answer_as(survey, cast.mona, exit_=(fits,), written="Ask the CFO")
    for name in ("Acme", "Globex", "Initech", "Umbrella", "Hooli"):
        customer_answers(survey, name, exit_=(fits,))

    assert selectors.respondents(survey) == {"customer": 5, "rep": 5, "manager": 1}
    exit_rows = _stage_rows(survey, Question.EXIT)
    customer, rep, manager = exit_rows[fits].cells
    assert (customer.share, rep.share) == (1.0, pytest.approx(0.8))
    assert manager.share is None and manager.too_few
    do_rows = _stage_rows(survey, Question.DO)
    # Written in by the one manager: not listed at all, or it would be his answer.
    assert "Ask the CFO" not in do_rows
    assert do_rows["Meeting"].cells[0].asked is False  # customers are not asked this


def test_results_put_the_datas_candidates_beside_each_stage(
    cast: Any, survey: SurveyRound, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_id = first_stage(survey)["id"]
    candidate = {
        "stage_id": stage_id,
        "label": "Meeting in the first 7 days of the stage",
        "risk_ratio": 1.8,
        "low": 1.3,
        "high": 2.4,
        "with_visits": 40,
        "without_visits": 60,
        "status": "Open",
    }
    monkeypatch.setattr(selectors, "candidates_by_stage", lambda: {stage_id: [candidate]})
    found = selectors.results(survey)
    assert found[0].candidates == [candidate]
    assert found[1].candidates == []


def test_the_discovery_function_answers_with_no_stored_results(survey: SurveyRound) -> None:
    assert all(stage.candidates == [] for stage in selectors.results(survey))


def test_two_rounds_compare_item_by_item(
    cast: Any, survey: SurveyRound, pipeline: Pipeline
) -> None:
    fits = "Account fits the ideal customer profile"
    reps = [cast.alice, cast.bob, cast.charlie, *extra_reps(2)]
    for rep in reps[:2]:
        answer_as(survey, rep, exit_=(fits,))
    for rep in reps[2:]:
        answer_as(survey, rep)
    services.close_round(survey=survey)
    later = services.open_round(pipeline=pipeline, title="Autumn round", by=None)
    for rep in reps:
        answer_as(later, rep, exit_=(fits,))

    stages = selectors.comparison(survey, later)
    assert stages[0].name == first_stage(survey)["name"]
    questions = dict(stages[0].questions)
    (item,) = [c for c in questions[Question.EXIT] if c.label == fits]
    _customer, rep, _manager = item.pairs
    assert (rep[0].share, rep[1].share) == (pytest.approx(0.4), 1.0)
    assert item.changes[1] == pytest.approx(0.6)


def test_opening_and_closing_are_audited_and_answers_are_not(cast: Any, pipeline: Pipeline) -> None:
    from stagecoach.audit.context import Actor, acting_as
    from stagecoach.audit.models import AuditEvent

    user = cast.otto.user
    with acting_as(Actor(user=user, label=user.email)):
        survey = services.open_round(pipeline=pipeline, title="Audited", by=user)
        services.create_invitation(survey=survey, label="Acme", by=user)
        answer_as(survey, cast.alice, exit_=("Account fits the ideal customer profile",))
        services.close_round(survey=survey)
    summaries = list(AuditEvent.objects.values_list("object_type", "action"))
    assert ("survey.SurveyRound", "create") in summaries
    assert ("survey.SurveyRound", "change") in summaries
    assert ("survey.CustomerInvitation", "create") in summaries
    assert not any(t in ("survey.SurveyResponse", "survey.Pick") for t, _ in summaries)
