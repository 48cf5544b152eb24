from __future__ import annotations

from datetime import datetime

from stagecoach.accounts.models import User
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import ExitCriterion
from stagecoach.strategy.models import CriterionCheck


def check_criterion(
    *,
    opportunity: Opportunity,
    criterion: ExitCriterion,
    met: bool,
    by: User,
    at: datetime,
    note: str = "",
    link: str = "",
) -> CriterionCheck:
    return CriterionCheck.objects.create(
        opportunity=opportunity,
        criterion=criterion,
        criterion_text=criterion.text,
        stage_id=criterion.stage_id,
        met=met,
        checked_by=by,
        checked_at=at,
        note=note,
        link=link,
    )
