"""Loading people and teams, and keeping every owner a row names."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from stagecoach.accounts.models import Person, PersonSourceId, Role, Team
from stagecoach.lib.emails import email_problem
from stagecoach.lib.sources import Source
from stagecoach.pipeline.importers.records import MAX_ID, PersonRecord, TeamRecord
from stagecoach.pipeline.importers.report import ImportReport

UNASSIGNED_ID = "__unassigned__"
# Sources whose people data describes the organisation (roles, teams). HubSpot and
# Pipedrive exports only name deal owners: an import from them creates an owner as a rep
# but never changes the role or team someone has from another source or the admin, since
# those decide who sees whom.
MAX_TEAM = Team._meta.get_field("name").max_length or 200
ORGANISATION_SOURCES = frozenset({Source.CANONICAL, Source.SALESFORCE, Source.MAVEN, Source.DEMO})


class PeopleLoader:
    def __init__(
        self, *, source: Source, report: ImportReport, tick: Callable[[int], None]
    ) -> None:
        self.source = source
        self.report = report
        self.tick = tick
        self.ids: dict[str, int] = dict(
            PersonSourceId.objects.filter(source=source.value).values_list("source_id", "person_id")
        )
        self._team_managers: dict[str, str] = {}

    def load_teams(self, records: Iterable[TeamRecord]) -> None:
        counts = self.report.table("teams")
        for record in records:
            too_long = next(
                (n for n in (record.name, record.parent or "") if len(n) > MAX_TEAM), None
            )
            if too_long is not None:
                # A team is who sees whom: cut short, two teams would become one.
                self.report.reject(
                    table="teams",
                    file=record.file,
                    line=record.line,
                    column="team" if too_long == record.name else "parent",
                    reason=f"the team name is longer than {MAX_TEAM} characters",
                    row=record.raw,
                )
                continue
            team, created = Team.objects.get_or_create(name=record.name)
            if record.parent:
                parent, _ = Team.objects.get_or_create(name=record.parent)
                if team.parent_id != parent.pk and parent.pk != team.pk:
                    team.parent = parent
                    team.save(update_fields=["parent"])
            if record.manager_source_id:
                self._team_managers[team.name] = record.manager_source_id
            if created:
                counts.created += 1
            else:
                counts.unchanged += 1
            self.tick(1)

    def load_people(self, stream: Iterable[PersonRecord]) -> None:
        counts = self.report.table("people")
        records = self._acceptable(list(stream))
        self.tick(len(records))
        teams = self._teams_for(records)
        matched = self._match_by_email(records)
        existing = Person.objects.in_bulk([*self.ids.values(), *matched.values()])
        for record in records:
            person_id = self.ids.get(record.source_id)
            values: dict[str, Any] = {
                "name": self.report.cut(
                    record.name, 200, "people's names", file=record.file, line=record.line
                ),
                "email": record.email[:254],
                "role": record.role,
                "team": teams[record.team] if record.team else None,
                "title": self.report.cut(
                    record.title, 200, "job titles", file=record.file, line=record.line
                ),
                "is_active": record.is_active,
            }
            if person_id is None and record.source_id in matched:
                person_id = matched[record.source_id]
                PersonSourceId.objects.create(
                    person_id=person_id, source=self.source.value, source_id=record.source_id
                )
                self.ids[record.source_id] = person_id
                values = _known_values(values, existing[person_id])
            if person_id is None:
                person = Person.objects.create(**values)
                PersonSourceId.objects.create(
                    person=person, source=self.source.value, source_id=record.source_id
                )
                self.ids[record.source_id] = person.pk
                existing[person.pk] = person
                counts.created += 1
                continue
            person = existing[person_id]
            if self.source not in ORGANISATION_SOURCES:
                values = {k: v for k, v in values.items() if k not in ("role", "team")}
            if not record.active_known:
                # A file that does not say who has left does not bring anyone back.
                values.pop("is_active", None)
            changed = [k for k, v in values.items() if getattr(person, k) != v]
            if changed:
                for key in changed:
                    setattr(person, key, values[key])
                person.save(update_fields=changed)
                counts.updated += 1
            else:
                counts.unchanged += 1
        self._link_managers(records, existing)
        self._assign_team_managers(teams, records)

    def _match_by_email(self, records: list[PersonRecord]) -> dict[str, int]:
        """Source id → person, for records new to this source whose e-mail (trimmed, any
        case) is an existing person's who has no id in this source yet: the same person
        exported by another CRM, or by the canonical people.csv."""
        wanted = {
            _email_key(r.email): r for r in records if r.source_id not in self.ids and r.email
        }
        wanted.pop("", None)
        if not wanted:
            return {}
        holders: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
        for person_id, name, email in Person.objects.exclude(email="").values_list(
            "id", "name", "email"
        ):
            if (key := _email_key(email)) in wanted:
                holders[key].append((person_id, name))
        in_source = set(
            PersonSourceId.objects.filter(
                source=self.source.value, person_id__in=[p for h in holders.values() for p, _ in h]
            ).values_list("person_id", flat=True)
        )
        matched: dict[str, int] = {}
        taken: set[int] = set()
        for record in records:
            key = _email_key(record.email)
            if record.source_id in self.ids or key not in holders:
                continue
            candidates = [(p, n) for p, n in holders[key] if p not in in_source | taken]
            if len(holders[key]) > 1:
                names = ", ".join(sorted(n for _, n in holders[key]))
                self.report.warn(
                    f"person {record.source_id!r}: {len(holders[key])} people already have the "
                    f"e-mail {key} ({names}); a new person is created, merge them in the admin",
                    file=record.file,
                    line=record.line,
                )
                continue
            if not candidates:
                self.report.warn(
                    f"person {record.source_id!r}: the e-mail {key} belongs to someone who "
                    f"already has another {self.source.label} id; a new person is created",
                    file=record.file,
                    line=record.line,
                )
                continue
            person_id, name = candidates[0]
            matched[record.source_id] = person_id
            taken.add(person_id)
            self.report.warn(
                f"person {record.source_id!r} is {name!r}, already known from another source "
                f"(same e-mail {key}): their {self.source.label} id was added, no one duplicated",
                file=record.file,
                line=record.line,
            )
        return matched

    def _acceptable(self, records: list[PersonRecord]) -> list[PersonRecord]:
        """The records to load: a second row for the same person, or an id too long to
        keep, is rejected (a second row would overwrite the first on every import)."""
        kept: list[PersonRecord] = []
        first: dict[str, int] = {}
        for record in records:
            record.email = self._email(record)
            self._check_teams(record)
            if len(record.source_id) > MAX_ID:
                reason = f"the id is longer than {MAX_ID} characters"
            elif record.source_id in first:
                reason = (
                    f"person {record.source_id!r} appears twice; the first "
                    f"(line {first[record.source_id]}) was kept"
                )
            else:
                first[record.source_id] = record.line
                kept.append(record)
                continue
            self.report.reject(
                table="people",
                file=record.file,
                line=record.line,
                column="person_id",
                reason=reason,
                row=record.raw,
            )
        return kept

    def _check_teams(self, record: PersonRecord) -> None:
        """A team name too long to keep is not cut short, which could put two teams'
        people under one manager: the person is imported without that team."""
        for attribute in ("team", "parent_team"):
            name = getattr(record, attribute)
            if name and len(name) > MAX_TEAM:
                self.report.warn(
                    f"person {record.source_id!r}: the team name {name[:40]!r}… is longer "
                    f"than {MAX_TEAM} characters: imported without it; shorten it and import "
                    "again",
                    file=record.file,
                    line=record.line or None,
                )
                setattr(record, attribute, None)

    def _email(self, record: PersonRecord) -> str:
        """The person's one e-mail address, or none: a list, a line break or a malformed
        address is dropped with a warning, and the person is kept."""
        written = record.email.strip()
        if not written:
            return ""
        problem = email_problem(written)
        if problem is None:
            return written
        shown = " ".join(written.split())[:80]
        self.report.warn(
            f"person {record.source_id!r}: e-mail {shown!r} {problem}: imported without it",
            file=record.file,
            line=record.line or None,
        )
        return ""

    def _teams_for(self, records: list[PersonRecord]) -> dict[str, Team]:
        teams: dict[str, Team] = {}
        for record in records:
            for name in (record.parent_team, record.team):
                if name and name not in teams:
                    teams[name] = Team.objects.get_or_create(name=name)[0]
            if record.team and record.parent_team:
                team, parent = teams[record.team], teams[record.parent_team]
                if team.parent_id != parent.pk and team.pk != parent.pk:
                    team.parent = parent
                    team.save(update_fields=["parent"])
        return teams

    def _link_managers(self, records: list[PersonRecord], existing: dict[int, Person]) -> None:
        for record in records:
            if not record.manager_source_id:
                continue
            manager_id = self.ids.get(record.manager_source_id)
            if manager_id is None:
                self.report.warn(
                    f"manager {record.manager_source_id!r} is not in the people file; "
                    "the reporting line is left empty",
                    file=record.file,
                    line=record.line,
                )
                continue
            person = existing[self.ids[record.source_id]]
            if person.manager_id != manager_id and person.pk != manager_id:
                person.manager_id = manager_id
                person.save(update_fields=["manager"])

    def _assign_team_managers(self, teams: dict[str, Team], records: list[PersonRecord]) -> None:
        """A team's manager: the one the export names, else whom its reps report to."""
        reports_to: dict[str, dict[str, int]] = {}
        for record in records:
            if record.team and record.manager_source_id and record.role == Role.REP:
                votes = reports_to.setdefault(record.team, {})
                votes[record.manager_source_id] = votes.get(record.manager_source_id, 0) + 1
        for name, team in teams.items():
            chosen = self._team_managers.get(name)
            if chosen is None and name in reports_to:
                chosen = max(reports_to[name].items(), key=lambda kv: kv[1])[0]
            if chosen:
                self._set_team_manager(team, chosen)
        for name, source_id in self._team_managers.items():
            found = Team.objects.filter(name=name).first() if name not in teams else None
            if found is not None:
                self._set_team_manager(found, source_id)

    def _set_team_manager(self, team: Team, source_id: str) -> None:
        """A team without a manager gets the one the file names. A team that has one keeps
        them when a file disagrees: who manages a team decides who sees its people, so it
        changes in the admin, never silently because of an import."""
        manager_id = self.ids.get(source_id)
        if manager_id is None or team.manager_id == manager_id:
            return
        if team.manager_id is None:
            team.manager_id = manager_id
            team.save(update_fields=["manager"])
            return
        current = Person.objects.filter(pk=team.manager_id).values_list("name", flat=True).first()
        named = Person.objects.filter(pk=manager_id).values_list("name", flat=True).first()
        self.report.warn(
            f"team {team.name!r}: this file makes {named!r} its manager, but it is managed "
            f"by {current!r}; the manager is kept, change it in the admin if it moved"
        )

    def owner(self, source_id: str, *, file: str, line: int) -> int:
        """The person for an owner id; unknown owners are created, never dropped."""
        key = source_id or UNASSIGNED_ID
        person_id = self.ids.get(key)
        if person_id is not None:
            return person_id
        if key == UNASSIGNED_ID:
            name = f"Unassigned ({self.source.label})"
            self.report.warn(f"rows without an owner are kept under {name!r}", file=file)
        else:
            name = f"{self.source.label} user {source_id}"
            self.report.warn(
                "owners missing from the people data were added with their id as name; "
                "rename them in the admin",
                file=file,
                line=line,
            )
        person = Person.objects.create(
            name=name[:200], role=Role.REP, is_active=key != UNASSIGNED_ID
        )
        PersonSourceId.objects.create(person=person, source=self.source.value, source_id=key)
        self.ids[key] = person.pk
        # An owner named only on a deal or an activity is a person read from that row.
        counts = self.report.table("people")
        counts.read += 1
        counts.created += 1
        return person.pk


def _email_key(email: str) -> str:
    return email.strip().lower()


def _known_values(values: dict[str, Any], person: Person) -> dict[str, Any]:
    """What a file new to this person may change: what it says, never a blank over a value
    another source gave; and activeness only downwards, since most files do not say
    whether someone has left (they read as active) and one that does is news."""
    kept = {k: v for k, v in values.items() if v not in ("", None)}
    kept["is_active"] = values["is_active"] and person.is_active
    return kept
