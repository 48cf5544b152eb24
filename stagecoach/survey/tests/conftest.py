"""A survey round on the default process, and respondents to fill it."""

from __future__ import annotations

from typing import Any

import pytest

from stagecoach.accounts.models import Person, Role
from stagecoach.process.models import Pipeline
from stagecoach.survey import services
from stagecoach.survey.models import Group, Question, SurveyRound
from stagecoach.testing.factories import default_pipeline, make_person


@pytest.fixture
def pipeline(db: None) -> Pipeline:
    return default_pipeline()


@pytest.fixture
def survey(cast: Any, pipeline: Pipeline) -> SurveyRound:
    return services.open_round(pipeline=pipeline, title="Spring round", by=cast.otto.user)


def first_stage(survey: SurveyRound) -> dict[str, Any]:
    return survey.stages[0]


def answer_as(
    survey: SurveyRound,
    person: Person,
    *,
    exit_: tuple[str, ...] = (),
    do: tuple[str, ...] = (),
    written: str = "",
) -> None:
    stage = first_stage(survey)
    group = Group.MANAGER if person.role == Role.MANAGER else Group.REP
    services.save_answers(
        survey=survey,
        person=person,
        group=group,
        answers=[
            services.StageAnswer(stage_id=stage["id"], question=Question.EXIT, picked=exit_),
            services.StageAnswer(
                stage_id=stage["id"], question=Question.DO, picked=do, written=written
            ),
        ],
    )


def extra_reps(n: int, prefix: str = "Rep") -> list[Person]:
    return [make_person(f"{prefix} {i}", login=False) for i in range(n)]


def customer_answers(survey: SurveyRound, label: str, *, exit_: tuple[str, ...] = ()) -> str:
    """A customer link answered: the first stage happened, ``exit_`` mattered there."""
    new = services.create_invitation(survey=survey, label=label, by=None)
    stage = first_stage(survey)
    services.save_customer_answers(
        invitation=new.invitation,
        steps=[stage["id"]],
        answers=[services.StageAnswer(stage_id=stage["id"], question=Question.EXIT, picked=exit_)],
    )
    return new.token
