"""Writes for the process survey: rounds, customers' links and answers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from stagecoach.accounts.models import Person, User
from stagecoach.process.models import Pipeline
from stagecoach.survey import aggregation
from stagecoach.survey.models import (
    CustomerInvitation,
    Group,
    Pick,
    Question,
    SurveyResponse,
    SurveyRound,
)
from stagecoach.survey.selectors import map_items, token_digest


def open_round(*, pipeline: Pipeline, title: str, note: str = "", by: User | None) -> SurveyRound:
    """Open a round on the pipeline's map as it stands now."""
    try:
        with transaction.atomic():
            return SurveyRound.objects.create(
                pipeline=pipeline,
                title=title.strip(),
                note=note.strip(),
                opened_by=by,
                items=map_items(pipeline),
            )
    except IntegrityError:
        raise ValidationError(
            f"{pipeline.name} already has an open survey round: close it first."
        ) from None


def close_round(*, survey: SurveyRound) -> None:
    """Close the round: answers stop, customers' links stop working."""
    if survey.closed_at is None:
        survey.closed_at = timezone.now()
        survey.save(update_fields=["closed_at"])


@dataclass(frozen=True)
class NewInvitation:
    invitation: CustomerInvitation
    # The only time the token exists outside the customer's link.
    token: str


def create_invitation(*, survey: SurveyRound, label: str, by: User | None) -> NewInvitation:
    if not survey.is_open:
        raise ValidationError("The round is closed: its links would not work.")
    token = secrets.token_urlsafe(32)
    invitation = CustomerInvitation.objects.create(
        round=survey, label=label.strip(), digest=token_digest(token), created_by=by
    )
    return NewInvitation(invitation=invitation, token=token)


@dataclass(frozen=True)
class StageAnswer:
    """What a respondent said for one stage and question."""

    stage_id: int
    question: Question
    picked: Sequence[str] = ()
    written: str = ""


def _picks(survey: SurveyRound, answers: Sequence[StageAnswer]) -> list[Pick]:
    lists = {
        (stage["id"], question): stage[question]
        for stage in survey.stages
        for question in (Question.DO, Question.EXIT)
    }
    picks = []
    for answer in answers:
        on_list = lists.get((answer.stage_id, answer.question))
        if on_list is None:
            raise ValidationError("That stage is not in this survey round.")
        offered = {aggregation.normalise(label): label for label in on_list}
        named: set[str] = set()
        for label in answer.picked:
            key = aggregation.normalise(label)
            if key not in offered:
                raise ValidationError(f"“{label}” is not on this round's list.")
            named.add(key)
            picks.append(
                Pick(stage_id=answer.stage_id, question=answer.question, label=offered[key])
            )
        for label in aggregation.written_in_items(answer.written):
            if aggregation.normalise(label) in named:
                continue
            named.add(aggregation.normalise(label))
            picks.append(
                Pick(
                    stage_id=answer.stage_id,
                    question=answer.question,
                    label=label,
                    written_in=True,
                )
            )
    return picks


def _locked_open_round(survey: SurveyRound) -> SurveyRound:
    # Locked so that a round closing meanwhile takes no answer after it closed.
    locked = SurveyRound.objects.select_for_update().get(pk=survey.pk)
    if not locked.is_open:
        raise ValidationError("This survey round has closed: answers can no longer change.")
    return locked


def _replace(response: SurveyResponse, picks: list[Pick]) -> None:
    response.picks.all().delete()
    for pick in picks:
        pick.response = response
    Pick.objects.bulk_create(picks)


@transaction.atomic
def save_answers(
    *, survey: SurveyRound, person: Person, group: Group, answers: Sequence[StageAnswer]
) -> SurveyResponse:
    """A rep's or manager's answers to the open round, replacing any they gave before."""
    if group == Group.CUSTOMER:
        raise ValidationError("Customers answer through their link.")
    survey = _locked_open_round(survey)
    picks = _picks(survey, answers)
    response, created = SurveyResponse.objects.get_or_create(
        round=survey, person=person, defaults={"group": group}
    )
    if not created:
        response.group = group
        response.changed_at = timezone.now()
        response.save(update_fields=["group", "changed_at"])
    _replace(response, picks)
    return response


@transaction.atomic
def save_customer_answers(
    *,
    invitation: CustomerInvitation,
    steps: Sequence[int],
    answers: Sequence[StageAnswer],
) -> SurveyResponse:
    """A customer's answers: the stages they went through (``steps``: stage ids in the
    order they happened) and what mattered before they decided, replacing any earlier."""
    survey = _locked_open_round(invitation.round)
    stage_ids = {stage["id"] for stage in survey.stages}
    if len(set(steps)) != len(steps) or not set(steps) <= stage_ids:
        raise ValidationError("Each step can come once, and only the steps listed.")
    if any(answer.question != Question.EXIT for answer in answers):
        raise ValidationError("Customers say what mattered, nothing else.")
    picks = _picks(survey, answers)
    names = {stage["id"]: stage["name"] for stage in survey.stages}
    picks += [
        Pick(stage_id=stage_id, question=Question.STEP, label=names[stage_id], position=place)
        for place, stage_id in enumerate(steps, start=1)
    ]
    response, created = SurveyResponse.objects.get_or_create(
        invitation=invitation, defaults={"round": survey, "group": Group.CUSTOMER}
    )
    if not created:
        response.changed_at = timezone.now()
        response.save(update_fields=["changed_at"])
    _replace(response, picks)
    return response
