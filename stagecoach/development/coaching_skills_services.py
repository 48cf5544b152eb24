"""Writes for coaching skills: a manager's ratings, and a leader's observed sessions."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from stagecoach.accounts.models import Person, Role
from stagecoach.coaching.models import Session
from stagecoach.development.coaching_skills import competency_skills
from stagecoach.development.models import Observation, SkillRating

OBSERVED_KINDS = (Session.Kind.ONE_ON_ONE, Session.Kind.TEAM_REVIEW)


def rate_coaching_skills(
    *,
    manager: Person,
    by: Person,
    source: str,
    levels: dict[str, int],
    rated_on: date,
    note: str = "",
) -> list[SkillRating]:
    """One rating per competency given (by code), by the manager's leader or themselves."""
    if source not in (SkillRating.Source.LEADER, SkillRating.Source.SELF):
        raise ValidationError("A coaching skill is rated by the leader or by the manager.")
    skills = competency_skills()
    with transaction.atomic():
        return [
            SkillRating.objects.create(
                person=manager,
                skill=skills[code],
                source=source,
                level=level,
                rated_on=rated_on,
                rated_by=by,
                note=note,
            )
            for code, level in levels.items()
            if code in skills
        ]


@transaction.atomic
def record_observation(
    *,
    observer: Person,
    session: Session,
    observed_on: date,
    scores: dict[str, int],
    note: str = "",
) -> Observation:
    """The observation, and a rating (source observation) of the observed manager for
    each competency scored: the evidence the inventory shows beside the other ratings."""
    if session.kind not in OBSERVED_KINDS or session.manager.role != Role.MANAGER:
        raise ValidationError("Only a manager's 1:1 or team review can be observed.")
    if not scores:
        raise ValidationError("Score at least one part of the rubric.")
    observation = Observation.objects.create(
        observer=observer, session=session, observed_on=observed_on, note=note
    )
    skills = competency_skills()
    for code, score in scores.items():
        SkillRating.objects.create(
            person=session.manager,
            skill=skills[code],
            source=SkillRating.Source.OBSERVATION,
            level=score,
            rated_on=observed_on,
            rated_by=observer,
            session=session,
            observation=observation,
        )
    return observation
