"""Pick the people the load test logs in as, and what each of them may open.

    DATABASE_URL=postgres://… .venv/bin/python bench/load/cast.py OUT.json \
        [--managers 25] [--reps 15] [--leaders 10] [--seed 20261122]

Every virtual user is a different real person of the organisation: managers of
different teams, reps of different teams (none of them in a chosen manager's team, so
the two roles do not pile onto one team's rows), and leaders. The choice is a seeded
random sample, so the same database always gives the same cast.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def pick(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagecoach.settings")
    import django

    django.setup()
    from stagecoach.accounts.models import Person, Role, Team
    from stagecoach.accounts.selectors import team_members
    from stagecoach.analytics.models import MetricSet
    from stagecoach.analytics.selectors import latest_as_of

    rng = random.Random(args.seed)
    # Reps with stored metrics: the API answers 404 for the others, rightly.
    with_metrics = {
        int(subject.removeprefix("rep:"))
        for subject in MetricSet.objects.filter(
            as_of=latest_as_of(), window_days=365, subject__startswith="rep:"
        ).values_list("subject", flat=True)
    }
    people = list(
        Person.objects.filter(user__isnull=False, user__is_active=True, is_active=True)
        .select_related("user", "team")
        .order_by("id")
    )
    teams = list(Team.objects.select_related("manager").order_by("id"))

    def login(person: Any) -> dict[str, Any]:
        return {"email": person.user.email, "id": person.pk, "name": person.name}

    reps_of: dict[int, list[Any]] = {}
    for team in teams:
        reps_of[team.pk] = [
            {**rep, "metrics": rep["id"] in with_metrics}
            for rep in team_members(team).filter(role=Role.REP).order_by("id").values("id", "name")
        ]
    managed = [
        t
        for t in teams
        if t.manager is not None
        and t.manager.role == Role.MANAGER
        and reps_of[t.pk]
        and any(p.pk == t.manager.pk for p in people)
    ]
    # One team per manager: the team their home page opens (the first by name).
    first_team: dict[int, Any] = {}
    for team in sorted(managed, key=lambda t: t.name):
        first_team.setdefault(team.manager_id, team)  # type: ignore[arg-type]
    manager_ids = sorted(first_team)
    if len(manager_ids) < args.managers:
        sys.exit(f"only {len(manager_ids)} managers with a team of reps; {args.managers} asked")
    by_id = {p.pk: p for p in people}
    managers = []
    for manager_id in rng.sample(manager_ids, args.managers):
        team = first_team[manager_id]
        managers.append(
            {
                **login(by_id[manager_id]),
                "team": {"id": team.pk, "name": team.name},
                "reps": reps_of[team.pk],
            }
        )

    taken = {m["team"]["id"] for m in managers}
    reps_by_team: dict[int, list[Any]] = defaultdict(list)
    for person in people:
        if person.role == Role.REP and person.team_id is not None and person.pk in with_metrics:
            reps_by_team[person.team_id].append(person)
    free_teams = sorted(t for t in reps_by_team if t not in taken)
    rng.shuffle(free_teams)
    if len(free_teams) < args.reps:
        sys.exit(f"only {len(free_teams)} teams left for {args.reps} reps")
    reps = [
        {**login(rng.choice(reps_by_team[team_id])), "team": reps_by_team[team_id][0].team.name}
        for team_id in free_teams[: args.reps]
    ]

    leaders_all = [p for p in people if p.role in (Role.LEADER, Role.OPS) or p.user.is_superuser]
    leaders_all.sort(key=lambda p: (p.role != Role.LEADER, p.pk))
    if len(leaders_all) < args.leaders:
        sys.exit(f"only {len(leaders_all)} leader logins; {args.leaders} asked")
    leaders = [login(p) for p in leaders_all[: args.leaders]]

    # What leaders browse: any team with reps, any rep.
    all_reps = [r for t in teams for r in reps_of[t.pk] if t.parent_id is not None] or [
        r for rs in reps_of.values() for r in rs
    ]
    return {
        "seed": args.seed,
        "managers": managers,
        "reps": reps,
        "leaders": leaders,
        "teams": [{"id": t.pk, "name": t.name} for t in teams if reps_of[t.pk]],
        "people": rng.sample(all_reps, min(200, len(all_reps))),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--managers", type=int, default=25)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--leaders", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    cast = pick(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cast, indent=1, default=str))
    print(
        f"cast: {len(cast['managers'])} managers of {len({m['team']['id'] for m in cast['managers']})}"
        f" teams, {len(cast['reps'])} reps of {len({r['team'] for r in cast['reps']})} teams,"
        f" {len(cast['leaders'])} leaders",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
