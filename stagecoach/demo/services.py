"""Loading the demo organisation into the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from stagecoach.accounts.models import Person, PersonSourceId, Role, Team, User
from stagecoach.accounts.services import ensure_ops_group
from stagecoach.coaching.models import Topic
from stagecoach.demo.coaching import CoachingSeed, seed_coaching
from stagecoach.demo.development import DevelopmentSeed, seed_development
from stagecoach.demo.generator import ACTIVITY_TYPES, DemoConfig, DemoOrg
from stagecoach.demo.history import RepBatch
from stagecoach.demo.leaders import LeaderSeed, seed_leaders
from stagecoach.demo.models import PlantedNeed
from stagecoach.demo.strategy import StrategySeed, seed_strategy
from stagecoach.lib.bulk import (
    BulkWriter,
    analyze,
    db_datetime,
    db_datetimes,
    next_free_id,
    sync_id_sequence,
)
from stagecoach.lib.sources import Source
from stagecoach.pipeline.models import (
    Activity,
    ExchangeRate,
    FieldChange,
    Opportunity,
    Quota,
    StageChange,
)
from stagecoach.process.services import load_default_process
from stagecoach.strategy.defaults import ensure_default_roles

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's logins are meant to be shared

ProgressFn = Callable[[str, int, int], None]


@dataclass
class DemoResult:
    created: bool
    people: int = 0
    opportunities: int = 0
    stage_changes: int = 0
    field_changes: int = 0
    activities: int = 0
    quotas: int = 0
    seconds: float = 0.0
    coaching: CoachingSeed | None = None
    strategy: StrategySeed | None = None
    development: DevelopmentSeed | None = None
    leaders: LeaderSeed | None = None
    logins: dict[str, str] = field(default_factory=dict)


def demo_loaded() -> bool:
    return Opportunity.objects.filter(source=Source.DEMO).exists()


def demo_logins() -> dict[str, str]:
    """One login per role to print for the person trying the demo.

    The manager is the first team's; the rep works in that team, so the two logins
    show the same data from both sides.
    """
    demo_people = Person.objects.filter(
        source_ids__source=Source.DEMO, user__isnull=False
    ).select_related("user")
    picks = {
        "leader": demo_people.filter(source_ids__source_id="L001"),
        "manager": demo_people.filter(source_ids__source_id="M001"),
        "rep": demo_people.filter(role=Role.REP, manager__source_ids__source_id="M001").order_by(
            "name"
        ),
        "ops": demo_people.filter(source_ids__source_id="O001"),
    }
    logins: dict[str, str] = {}
    for role, people in picks.items():
        person = people.first()
        if person is not None and person.user is not None:
            logins[role] = person.user.email
    return logins


@transaction.atomic
def load_demo(
    *,
    config: DemoConfig,
    password: str = DEMO_PASSWORD,
    progress: ProgressFn | None = None,
) -> DemoResult:
    """Load the demo organisation unless it is already there.

    Everything happens in one transaction: an interrupted load leaves nothing behind.
    """
    started = time.monotonic()
    if demo_loaded():
        return DemoResult(created=False, logins=demo_logins())
    org = DemoOrg(config)
    pipeline = load_default_process()
    ensure_default_roles()
    stage_ids = {s.name: s.pk for s in pipeline.stages.all()}
    result = DemoResult(created=True)

    people = _load_people(org, password)
    result.people = len(people)
    vendor = connection.vendor

    rates = org.exchange_rates()
    for currency, rate in rates.items():
        if currency == config.currency:
            continue
        ExchangeRate.objects.get_or_create(
            currency=currency,
            valid_from=date(2000, 1, 1),
            defaults={"rate": Decimal(f"{rate:.8f}")},
        )

    quotas = [
        Quota(
            person_id=people[q.person],
            period_start=q.period_start,
            period_end=q.period_end,
            amount=Decimal(q.amount),
            currency=config.currency,
        )
        for q in org.quotas()
    ]
    Quota.objects.bulk_create(quotas, batch_size=2000)
    result.quotas = len(quotas)

    tables = {
        "opportunity": Opportunity._meta.db_table,
        "stage_change": StageChange._meta.db_table,
        "field_change": FieldChange._meta.db_table,
        "activity": Activity._meta.db_table,
    }
    next_id = {name: next_free_id(connection, table) for name, table in tables.items()}
    writers = {
        "opportunity": BulkWriter(
            connection,
            tables["opportunity"],
            (
                "id",
                "source",
                "source_id",
                "owner_id",
                "pipeline_id",
                "stage_id",
                "name",
                "account",
                "type",
                "amount",
                "currency",
                "amount_org",
                "fx_rate",
                "created_at",
                "close_date",
                "closed_at",
                "stage_entered_at",
                "updated_at",
            ),
        ),
        "stage_change": BulkWriter(
            connection,
            tables["stage_change"],
            (
                "id",
                "opportunity_id",
                "stage_id",
                "changed_at",
            ),
        ),
        "field_change": BulkWriter(
            connection,
            tables["field_change"],
            (
                "id",
                "opportunity_id",
                "field",
                "old_value",
                "new_value",
                "changed_at",
            ),
        ),
        "activity": BulkWriter(
            connection,
            tables["activity"],
            (
                "id",
                "source",
                "source_id",
                "owner_id",
                "type",
                "occurred_at",
                "opportunity_id",
                "subject",
            ),
            batch_size=50_000,
        ),
    }
    now_text = db_datetime(config.now, vendor)
    total = config.reps
    for done, batch in enumerate(org.rep_batches(), start=1):
        _write_batch(
            batch, writers, next_id, people, stage_ids, pipeline.pk, rates, vendor, now_text
        )
        if progress:
            progress("Deal history", done, total)
    for writer in writers.values():
        writer.flush()
    for table in tables.values():
        sync_id_sequence(connection, table)
    analyze(connection, tables.values())

    PlantedNeed.objects.bulk_create(
        PlantedNeed(
            person_id=people[need.person],
            kind=need.kind,
            stage_name=need.stage or "",
            activity_type=need.activity_type or "",
            factor=need.factor,
            since=need.since,
            description=need.description,
        )
        for need in org.planted
    )
    result.opportunities = writers["opportunity"].written
    result.stage_changes = writers["stage_change"].written
    result.field_changes = writers["field_change"].written
    result.activities = writers["activity"].written
    result.strategy = seed_strategy(seed=config.seed, now=datetime.fromtimestamp(config.now, UTC))
    result.coaching = seed_coaching(seed=config.seed, now=datetime.fromtimestamp(config.now, UTC))
    result.development = seed_development(
        seed=config.seed,
        now=datetime.fromtimestamp(config.now, UTC),
        planted=[(people[n.person], n) for n in org.planted],
        coached=[(people[c.person], c) for c in org.coached],
    )
    result.leaders = seed_leaders(seed=config.seed, now=datetime.fromtimestamp(config.now, UTC))
    result.logins = demo_logins()
    result.seconds = time.monotonic() - started
    return result


def _load_people(org: DemoOrg, password: str) -> dict[str, int]:
    """Teams, people, their demo source ids and logins. Returns person key → id."""
    teams: dict[str, Team] = {}
    for team_row in org.teams:
        teams[team_row.key], _ = Team.objects.get_or_create(name=team_row.name)
    for team_row in org.teams:
        if team_row.parent:
            teams[team_row.key].parent = teams[team_row.parent]
            teams[team_row.key].save(update_fields=["parent"])

    persons = Person.objects.bulk_create(
        Person(
            name=row.name,
            email=row.email,
            role=row.role,
            team=teams[row.team] if row.team else None,
            title=row.title,
            started_on=row.started_on,
        )
        for row in org.people
    )
    by_key = {row.key: person for row, person in zip(org.people, persons, strict=True)}
    for row in org.people:
        if row.manager:
            by_key[row.key].manager = by_key[row.manager]
    Person.objects.bulk_update(persons, ["manager"], batch_size=2000)
    for team_row in org.teams:
        if team_row.manager:
            teams[team_row.key].manager = by_key[team_row.manager]
            teams[team_row.key].save(update_fields=["manager"])
    PersonSourceId.objects.bulk_create(
        (
            PersonSourceId(person=by_key[row.key], source=Source.DEMO, source_id=row.key)
            for row in org.people
        ),
        batch_size=2000,
    )

    # Hash once: every demo login shares the password, and hashing is slow on purpose.
    hashed = make_password(password)
    users = User.objects.bulk_create(
        (
            User(email=row.email, name=row.name, password=hashed, is_staff=row.role == Role.OPS)
            for row in org.people
        ),
        batch_size=2000,
    )
    for person, user in zip(persons, users, strict=True):
        person.user = user
    Person.objects.bulk_update(persons, ["user"], batch_size=2000)
    ops_group = ensure_ops_group()
    ops_group.user_set.add(
        *(u for u, row in zip(users, org.people, strict=True) if row.role == Role.OPS)
    )
    return {key: person.pk for key, person in by_key.items()}


def _write_batch(
    batch: RepBatch,
    writers: dict[str, BulkWriter],
    next_id: dict[str, int],
    people: dict[str, int],
    stage_ids: dict[str, int],
    pipeline_id: int,
    rates: dict[str, float],
    vendor: str,
    now_text: str,
) -> None:
    opportunity_ids: dict[str, int] = {}
    for opp in batch.opportunities:
        opp_id = next_id["opportunity"]
        next_id["opportunity"] += 1
        opportunity_ids[opp.source_id] = opp_id
        rate = rates[opp.currency]
        writers["opportunity"].add(
            (
                opp_id,
                Source.DEMO.value,
                opp.source_id,
                people[opp.owner],
                pipeline_id,
                stage_ids[opp.stage],
                opp.name,
                opp.account,
                opp.type,
                opp.amount,
                opp.currency,
                f"{opp.amount / rate:.2f}",
                f"{rate:.8f}",
                db_datetime(opp.created_at, vendor),
                opp.close_date.isoformat(),
                db_datetime(opp.closed_at, vendor) if opp.closed_at is not None else None,
                db_datetime(opp.stage_entered_at, vendor),
                now_text,
            )
        )
    writer = writers["stage_change"]
    for source_id, stage, at in batch.stage_changes:
        writer.add(
            (
                next_id["stage_change"],
                opportunity_ids[source_id],
                stage_ids[stage],
                db_datetime(at, vendor),
            )
        )
        next_id["stage_change"] += 1
    writer = writers["field_change"]
    for source_id, field_name, old, new, at in batch.field_changes:
        if field_name == "owner":
            old, new = str(people[old]), str(people[new])
        writer.add(
            (
                next_id["field_change"],
                opportunity_ids[source_id],
                field_name,
                old,
                new,
                db_datetime(at, vendor),
            )
        )
        next_id["field_change"] += 1
    writer = writers["activity"]
    for columns in batch.activities:
        owner_id = people[columns.owner]
        times = db_datetimes(columns.occurred_at, vendor)
        types = [ACTIVITY_TYPES[i] for i in columns.type_index.tolist()]
        first = next_id["activity"]
        for n, (occurred, kind, deal) in enumerate(
            zip(times, types, columns.opportunity, strict=True)
        ):
            writer.add(
                (
                    first + n,
                    Source.DEMO.value,
                    f"A{columns.owner}-{n + 1:06d}",
                    owner_id,
                    kind,
                    occurred,
                    opportunity_ids.get(deal) if deal else None,
                    "",
                )
            )
        next_id["activity"] += len(times)


@transaction.atomic
def delete_demo() -> int:
    """Remove the demo organisation and everything hanging off it. Returns deals deleted."""
    person_ids = list(
        Person.objects.filter(source_ids__source=Source.DEMO).values_list("id", flat=True)
    )
    team_ids = list(Team.objects.filter(manager_id__in=person_ids).values_list("id", flat=True))
    opportunities = Opportunity.objects.filter(source=Source.DEMO)
    count = opportunities.count()
    Activity.objects.filter(source=Source.DEMO).delete()
    StageChange.objects.filter(opportunity__source=Source.DEMO).delete()
    FieldChange.objects.filter(opportunity__source=Source.DEMO).delete()
    opportunities.delete()
    User.objects.filter(person__id__in=person_ids).delete()
    # Deleting the people takes their cadences, sessions and commitments with them;
    # topics only point at their author, so they would outlive a reset.
    Topic.objects.filter(created_by_id__in=person_ids).delete()
    Team.objects.filter(id__in=team_ids).update(parent=None, manager=None)
    Person.objects.filter(id__in=person_ids).delete()
    Team.objects.filter(id__in=team_ids, members__isnull=True, children__isnull=True).delete()
    return count
