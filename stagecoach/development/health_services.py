"""Writes for coaching health: a manager's answers to the self-assessment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from stagecoach.accounts.models import Person, Role
from stagecoach.development.health import QUESTION_BY_NUMBER, SCORES
from stagecoach.development.models import SelfAssessment

MAX_NOTE = 2000


@dataclass(frozen=True)
class SelfAnswer:
    question: int
    score: int
    note: str = ""


def record_self_assessment(
    *, manager: Person, answers: Sequence[SelfAnswer], answered_on: date
) -> list[SelfAssessment]:
    """Store a manager's answers, dated. Answering again another day keeps the earlier
    answer as history; answering again the same day replaces that day's answer."""
    if manager.role != Role.MANAGER:
        raise ValueError("Only a manager answers the coaching self-assessment.")
    for answer in answers:
        if answer.question not in QUESTION_BY_NUMBER:
            raise ValueError(f"There is no question {answer.question}.")
        if answer.score not in SCORES:
            raise ValueError(f"A score is between 1 and 5, not {answer.score}.")
    saved: list[SelfAssessment] = []
    with transaction.atomic():
        for answer in answers:
            row, _ = SelfAssessment.objects.update_or_create(
                manager=manager,
                question=answer.question,
                answered_on=answered_on,
                defaults={"score": answer.score, "note": answer.note.strip()[:MAX_NOTE]},
            )
            saved.append(row)
    return saved
