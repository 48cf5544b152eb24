"""Who coaches whom: a manager coaches their reps, a leader their first-line managers.

A leader's 1:1 with a manager is an ordinary ``Session(kind=one_on_one)`` whose
``manager`` is the coach (the leader) and whose ``rep`` is the coachee (the manager),
scheduled from the leader's own ``Cadence``. Nothing else in the coaching models
changes: the calendar feed, missed detection, preparing and logging work as for a rep.
"""

from __future__ import annotations

from django.db.models import QuerySet

from stagecoach.accounts.models import Person, Role, Team


def _reporting_managers(leader: Person) -> QuerySet[Person]:
    """Active first-line managers who report to the leader; when nobody reports by the
    ``manager`` field, the managers of the teams directly under the leader's teams."""
    managers = Person.objects.filter(manager=leader, role=Role.MANAGER, is_active=True)
    if managers.exists():
        return managers.order_by("name", "id")
    team_managers = Team.objects.filter(parent__manager=leader, manager__isnull=False).values_list(
        "manager_id", flat=True
    )
    return (
        Person.objects.filter(pk__in=list(team_managers), role=Role.MANAGER, is_active=True)
        .exclude(pk=leader.pk)
        .order_by("name", "id")
    )


def coachees_of(coach: Person) -> QuerySet[Person]:
    """The people the coach holds 1:1s with: a leader's managers, a manager's reps."""
    if coach.role == Role.LEADER:
        return _reporting_managers(coach)
    if coach.role == Role.MANAGER:
        # Imported here: services schedules from this module.
        from stagecoach.coaching.services import coached_reps

        return Person.objects.filter(pk__in=[r.pk for r in coached_reps(coach)]).order_by(
            "name", "id"
        )
    return Person.objects.none()


def coach_of(person: Person) -> Person | None:
    """Who holds the person's 1:1s: a manager's leader, a rep's manager."""
    if person.role == Role.MANAGER:
        if person.manager_id is not None:
            boss = Person.objects.filter(
                pk=person.manager_id, role=Role.LEADER, is_active=True
            ).first()
            if boss is not None:
                return boss
        team = (
            Team.objects.filter(manager=person, parent__manager__isnull=False)
            .select_related("parent__manager")
            .first()
        )
        if team is not None and team.parent is not None:
            leader = team.parent.manager
            if leader is not None and leader.role == Role.LEADER and leader.is_active:
                return leader
        return None
    if person.role == Role.REP:
        if person.manager_id is not None:
            return Person.objects.filter(pk=person.manager_id).first()
        if person.team_id is not None:
            return Person.objects.filter(managed_teams=person.team_id).first()
    return None
