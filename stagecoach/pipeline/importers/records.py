"""What every importer produces: CRM rows normalised into stagecoach's vocabulary.

A reader turns one CRM's export into streams of these records; the loader
(``pipeline/imports.py``) maps stages, resolves ids and writes them. Records keep
where they came from (``file``, ``line``) and the original row (``raw``) so a row the
loader refuses is reported and saved, never lost.

Conventions: ids are the CRM's own ids as text; stage names are the CRM's names
(the loader maps them to the process); datetimes are timezone-aware; money is
``Decimal`` in ``currency`` (``None`` means the organisation's currency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

ROLES = ("rep", "manager", "leader", "ops")
STAGE_KINDS = ("open", "won", "lost")
OPPORTUNITY_TYPES = ("new", "renewal", "expansion", "other")
ACTIVITY_TYPES = ("call", "email", "meeting", "demo", "proposal", "other")
FIELDS = ("close_date", "amount", "owner")
# The longest CRM id stagecoach keeps (the source_id columns); a longer one is refused.
MAX_ID = 100
# Money is kept to the cent; DecimalField(max_digits=18, decimal_places=2) holds
# sixteen digits before the point.
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 16
# Descriptive text (deal and account names) is cut to its column, with a warning.
MAX_NAME = 300


@dataclass(slots=True)
class PersonRecord:
    source_id: str
    name: str
    email: str = ""
    role: str = "rep"
    manager_source_id: str | None = None
    team: str | None = None
    parent_team: str | None = None
    title: str = ""
    is_active: bool = True
    # Whether the export says if the person is active (Salesforce's IsActive, the
    # canonical ``active`` column). When it does not, a re-import leaves it as it was.
    active_known: bool = False
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class TeamRecord:
    """A team in the hierarchy, when the export knows it (people carry team names)."""

    name: str
    parent: str | None = None
    manager_source_id: str | None = None
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class StageRecord:
    """A stage as the CRM defines it. ``order`` None: unknown, the loader infers it.

    ``kind_from`` says what gave the stage its kind ("IsClosed and IsWon", "its
    name"…); empty when nothing in the export did and the stage is taken as open.
    """

    name: str
    kind: str = "open"
    order: int | None = None
    pipeline: str = ""
    probability: int | None = None
    file: str = ""
    line: int = 0
    raw: list[str] | None = None
    kind_from: str = ""


@dataclass(slots=True)
class OpportunityRecord:
    source_id: str
    owner_source_id: str
    name: str
    stage: str
    pipeline: str = ""
    account: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    created_at: datetime | None = None
    close_date: date | None = None
    closed_at: datetime | None = None
    type: str = "new"
    # The CRM's last change to the record (LastModifiedDate, hs_lastmodifieddate...).
    modified_at: datetime | None = None
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class StageChangeRecord:
    """The opportunity entered ``stage`` at ``changed_at``."""

    opportunity_source_id: str
    stage: str
    changed_at: datetime
    pipeline: str = ""
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class FieldChangeRecord:
    """A close date, amount or owner change. Owner values are owner source ids."""

    opportunity_source_id: str
    field: str
    old_value: str
    new_value: str
    changed_at: datetime
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class ActivityRecord:
    source_id: str
    owner_source_id: str
    type: str
    occurred_at: datetime
    opportunity_source_id: str | None = None
    subject: str = ""
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class QuotaRecord:
    person_source_id: str
    period_start: date
    period_end: date
    amount: Decimal
    currency: str | None = None
    file: str = ""
    line: int = 0
    raw: list[str] | None = None


@dataclass(slots=True)
class RateRecord:
    """``rate`` units of ``currency`` buy one unit of the organisation's currency."""

    currency: str
    rate: Decimal
    valid_from: date
    file: str = ""
    line: int = 0
