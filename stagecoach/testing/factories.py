"""Small factories for tests: build exactly the rows a test needs, nothing more."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from stagecoach.accounts.models import Person, PersonSourceId, Role, Team
from stagecoach.accounts.services import create_login
from stagecoach.lib.sources import Source
from stagecoach.pipeline.models import Activity, Opportunity, StageChange
from stagecoach.process.models import Pipeline, Stage
from stagecoach.process.services import load_default_process

_ids = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_person(
    name: str,
    *,
    role: str = Role.REP,
    team: Team | None = None,
    manager: Person | None = None,
    login: bool = True,
) -> Person:
    person = Person.objects.create(
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.com",
        role=role,
        team=team,
        manager=manager,
    )
    PersonSourceId.objects.create(person=person, source=Source.MANUAL, source_id=f"P{next(_ids)}")
    if login:
        create_login(person=person, email=person.email, password=PASSWORD)
    return person


def default_pipeline() -> Pipeline:
    from stagecoach.strategy.defaults import ensure_default_roles

    ensure_default_roles()  # a flushed database (browser tests) loses the seeded roles
    return load_default_process()


def stage(name: str, pipeline: Pipeline | None = None) -> Stage:
    return Stage.objects.get(pipeline=pipeline or default_pipeline(), name=name)


def make_opportunity(
    owner: Person,
    *,
    history: Sequence[tuple[str, datetime]] = (),
    stage_name: str = "Discovery",
    amount: Decimal | int | None = 10_000,
    currency: str = "USD",
    fx_rate: Decimal | int = 1,
    created_at: datetime | None = None,
    close_date: date | None = None,
    name: str | None = None,
    account: str = "Acme",
    pipeline: Pipeline | None = None,
) -> Opportunity:
    """An opportunity with its stage history; the last history entry is its stage."""
    pipeline = pipeline or default_pipeline()
    now = timezone.now()
    if not history:
        history = [(stage_name, created_at or now - timedelta(days=10))]
    created_at = created_at or history[0][1]
    current = stage(history[-1][0], pipeline)
    amount_value = Decimal(amount) if amount is not None else None
    opportunity = Opportunity.objects.create(
        source=Source.MANUAL,
        source_id=f"O{next(_ids)}",
        owner=owner,
        pipeline=pipeline,
        stage=current,
        name=name or f"Deal {owner.name} {next(_ids)}",
        account=account,
        amount=amount_value,
        currency=currency,
        fx_rate=Decimal(fx_rate),
        amount_org=amount_value / Decimal(fx_rate) if amount_value is not None else None,
        created_at=created_at,
        close_date=close_date or (now + timedelta(days=30)).date(),
        closed_at=history[-1][1] if current.kind != "open" else None,
        stage_entered_at=history[-1][1],
    )
    StageChange.objects.bulk_create(
        StageChange(opportunity=opportunity, stage=stage(name, pipeline), changed_at=at)
        for name, at in history
    )
    return opportunity


def make_activity(
    owner: Person,
    *,
    type: str = "call",
    occurred_at: datetime | None = None,
    opportunity: Opportunity | None = None,
) -> Activity:
    return Activity.objects.create(
        source=Source.MANUAL,
        source_id=f"A{next(_ids)}",
        owner=owner,
        type=type,
        occurred_at=occurred_at or timezone.now(),
        opportunity=opportunity,
    )
