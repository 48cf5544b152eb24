"""A Salesforce Data Export's organisation: users and roles (people, teams, reporting
lines), tasks and events (activities), and currency rates."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date

from stagecoach.pipeline.importers.csvutil import (
    CsvFile,
    CsvRow,
    clean_id,
    date_to_datetime,
    parse_bool,
    parse_currency,
    parse_date,
)
from stagecoach.pipeline.importers.labels import BadCell, reject
from stagecoach.pipeline.importers.records import (
    ActivityRecord,
    PersonRecord,
    RateRecord,
    TeamRecord,
)
from stagecoach.pipeline.importers.report import ImportReport
from stagecoach.pipeline.importers.salesforce_report import (
    conversion_rate,
    deleted,
    needed,
    parsed,
    utc,
)

CORPORATE_RATE_FROM = date(2000, 1, 1)
# Role id → (role name, parent role id).
Roles = dict[str, tuple[str, str | None]]

# -- rates ---------------------------------------------------------------------------------


def rates(report: ImportReport, files: dict[str, CsvFile]) -> Iterator[RateRecord]:
    counts = report.table("rates")
    for stem in ("currencytype", "datedconversionrate"):
        if (sheet := files.get(stem)) is None:
            continue
        report.header(sheet.name, sheet.header)
        for row in sheet.rows():
            counts.read += 1
            try:
                currency = needed(
                    parsed(row, "IsoCode", parse_currency), "IsoCode", "no currency code"
                )
                rate = parsed(row, "ConversionRate", conversion_rate)
                valid_from = CORPORATE_RATE_FROM
                if stem == "datedconversionrate":
                    start = parsed(row, "StartDate", parse_date)
                    valid_from = needed(start, "StartDate", "no start date")
            except BadCell as error:
                reject(report, "rates", sheet, row, error)
                continue
            yield RateRecord(currency, rate, valid_from, file=sheet.name, line=row.line)


# -- people and teams ----------------------------------------------------------------------


def read_users(
    sheet: CsvFile, report: ImportReport | None
) -> tuple[list[PersonRecord], dict[str, str]]:
    """Users as people (before reporting lines are worked out), and their role ids.
    Counts and rejects only when given a ``report``."""
    if report is not None:
        report.header(sheet.name, sheet.header)
    people: list[PersonRecord] = []
    role_of: dict[str, str] = {}
    for row in sheet.rows():
        if report is not None:
            report.table("people").read += 1
        try:
            user_id = needed(clean_id(row.get("id")), "Id", "no user Id")
            full = " ".join(f"{row.get('firstname')} {row.get('lastname')}".split())
            name = needed(row.get("name") or full, "Name", "no name")
            active = parsed(row, "IsActive", parse_bool) if row.get("isactive") else True
        except BadCell as error:
            if report is not None:
                reject(report, "people", sheet, row, error)
            continue
        if role_id := clean_id(row.get("userroleid")):
            role_of[user_id] = role_id
        people.append(
            PersonRecord(
                user_id,
                name,
                email=row.get("email"),
                manager_source_id=clean_id(row.get("managerid")),
                title=row.get("title"),
                is_active=active,
                active_known=bool(row.get("isactive")),
                file=sheet.name,
                line=row.line,
                raw=row.cells,
            )
        )
    return people, role_of


def read_roles(sheet: CsvFile | None) -> Roles | None:
    """UserRole.csv's roles, or None without the file."""
    if sheet is None:
        return None
    found: Roles = {}
    for row in sheet.rows():
        if (role_id := clean_id(row.get("id"))) and (name := row.get("name")):
            found[role_id] = (name, clean_id(row.get("parentroleid")))
    return found


def organise(
    people: list[PersonRecord], role_of: dict[str, str], roles: Roles | None
) -> list[TeamRecord]:
    """Fill in each person's manager, role and team; return the teams.

    With UserRole.csv a team is a role and its parent the parent role. Without it, a
    team is named after its manager ("Mona Lee team") and holds the manager and
    everyone reporting to them.
    """
    by_id = {p.source_id: p for p in people}
    if roles is not None and not any(p.manager_source_id for p in people):
        _managers_from_roles(people, role_of, roles)
    reports: defaultdict[str, list[str]] = defaultdict(list)
    for person in people:
        if person.manager_source_id:
            reports[person.manager_source_id].append(person.source_id)
    teams: dict[str, TeamRecord] = {}
    votes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for person in people:
        mine = reports.get(person.source_id, [])
        person.role = "leader" if any(r in reports for r in mine) else "manager" if mine else "rep"
        manager = person.manager_source_id
        if roles is not None:
            role = roles.get(role_of.get(person.source_id, ""))
            if role is not None:
                person.team, person.parent_team = role[0], _role_name(roles, role[1])
                if manager:
                    votes[role[0]][manager] += 1
            continue
        anchor = by_id.get(person.source_id if mine else manager or "")
        if anchor is not None:
            boss = by_id.get(anchor.manager_source_id or "")
            person.team = f"{anchor.name} team"
            person.parent_team = f"{boss.name} team" if boss else None
            team = TeamRecord(person.team, person.parent_team, anchor.source_id)
            teams.setdefault(person.team, team)
    for person in people:
        role_id: str | None = role_of.get(person.source_id)
        while roles is not None and role_id in roles and roles[role_id][0] not in teams:
            name, parent_id = roles[role_id]
            chosen = votes[name].most_common(1)
            manager = chosen[0][0] if chosen else None
            teams[name] = TeamRecord(name, _role_name(roles, parent_id), manager)
            role_id = parent_id
    for team in teams.values():
        team.file = people[0].file
    return list(teams.values())


def _role_name(roles: Roles, role_id: str | None) -> str | None:
    role = roles.get(role_id or "")
    return role[0] if role else None


def _managers_from_roles(people: list[PersonRecord], role_of: dict[str, str], roles: Roles) -> None:
    """A user's manager is whoever holds the nearest role above theirs (active first,
    then the lowest Id): orgs often leave ManagerId empty and keep the hierarchy in
    roles."""
    holders: defaultdict[str, list[str]] = defaultdict(list)
    for person in sorted(people, key=lambda p: (not p.is_active, p.source_id)):
        if role_id := role_of.get(person.source_id):
            holders[role_id].append(person.source_id)
    for person in people:
        seen: set[str] = set()
        role_id = (
            roles[role_of[person.source_id]][1] if role_of.get(person.source_id) in roles else None
        )
        while role_id and role_id not in seen:
            seen.add(role_id)
            candidates = [h for h in holders.get(role_id, []) if h != person.source_id]
            if candidates:
                person.manager_source_id = candidates[0]
                break
            role_id = roles[role_id][1] if role_id in roles else None


# -- activities ----------------------------------------------------------------------------


def activities(report: ImportReport, files: dict[str, CsvFile]) -> Iterator[ActivityRecord]:
    counts = report.table("activities")
    for stem in ("task", "event"):
        if (sheet := files.get(stem)) is None:
            continue
        report.header(sheet.name, sheet.header)
        for row in sheet.rows():
            counts.read += 1
            try:
                if deleted(row):
                    report.warn("deleted activities skipped", file=sheet.name)
                    counts.skipped += 1
                    continue
                record = _activity(row, is_event=stem == "event")
            except BadCell as error:
                reject(report, "activities", sheet, row, error)
                continue
            record.file, record.line, record.raw = sheet.name, row.line, row.cells
            yield record


def _activity(row: CsvRow, *, is_event: bool) -> ActivityRecord:
    source_id = needed(clean_id(row.get("id")), "Id", "no activity Id")
    subject = row.get("subject")
    kind, subtype = row.get("type").lower(), row.get("tasksubtype").lower()
    if is_event:
        activity = "demo" if "demo" in kind or "demo" in subject.lower() else "meeting"
    elif subtype == "call" or "call" in kind:
        activity = "call"
    elif subtype in ("email", "listemail") or "email" in kind:
        activity = "email"
    else:
        activity = "other"
    at = parsed(row, "ActivityDateTime", utc) if is_event else None
    if at is None and (day := parsed(row, "ActivityDate", parse_date)) is not None:
        at = date_to_datetime(day, assume=UTC)
    at = needed(at or parsed(row, "CreatedDate", utc), "ActivityDate", "no date")
    what = clean_id(row.get("whatid"))
    return ActivityRecord(
        source_id=source_id,
        owner_source_id=clean_id(row.get("ownerid")) or "",
        type=activity,
        occurred_at=at,
        # Ids carry their object in the first three characters: 006 is an Opportunity.
        opportunity_source_id=what if what and what.startswith("006") else None,
        subject=subject,
    )
