"""The JSON the command line and the API hand out (PRODUCT.md §6): one shape for both."""

from __future__ import annotations

from datetime import date
from typing import Any

from stagecoach.accounts.models import Person, PersonSourceId
from stagecoach.analytics.models import Flag

STAGE_KEYS = (
    "stage",
    "reached",
    "advanced",
    "skipped",
    "lost",
    "open",
    "conversion",
    "conversion_shrunk",
    "conversion_low",
    "conversion_high",
    "p_gap",
    "evidence",
    "median_days",
    "median_days_over",
    "p75_days",
    "p75_days_over",
    "p90_days",
    "p90_days_over",
    "visits",
    "visits_open",
    "open_deals",
    "typical_days_shrunk",
    "p_slow",
    "time_evidence",
    "team_conversion",
    "benchmark_conversion",
    "target_days",
)


def source_ids(person_ids: list[int]) -> dict[int, str]:
    """Each person's id as their CRM knows it (the first source), else stagecoach's."""
    found: dict[int, str] = {}
    for person_id, source_id in (
        PersonSourceId.objects.filter(person_id__in=person_ids)
        .order_by("id")
        .values_list("person_id", "source_id")
    ):
        found.setdefault(person_id, source_id)
    return {pid: found.get(pid, str(pid)) for pid in person_ids}


def rep_report(
    person: Person, data: dict[str, Any], rep_id: str, as_of: date, window_days: int
) -> dict[str, Any]:
    forecast = {k: v for k, v in (data.get("forecast") or {}).items() if k != "samples"}
    return {
        "rep": rep_id,
        "id": person.pk,
        "name": person.name,
        "team": person.team.name if person.team else None,
        "role": person.role,
        "active": person.is_active,
        "as_of": as_of.isoformat(),
        "window_days": window_days,
        "won": data.get("won", 0),
        "lost": data.get("lost", 0),
        "open": data.get("open", 0),
        "win_rate": data.get("win_rate"),
        "win_rate_n": data.get("win_rate_n", 0),
        "win_rate_shrunk": data.get("win_rate_shrunk"),
        "win_rate_interval": [data.get("win_rate_low"), data.get("win_rate_high")],
        "win_rate_amount": data.get("win_rate_amount"),
        "avg_won_amount": data.get("avg_won_amount"),
        "avg_won_n": data.get("avg_won_n", 0),
        "median_cycle_days": data.get("median_cycle_days"),
        "cycle_n": data.get("cycle_n", 0),
        "new_opportunities": data.get("new_opportunities", 0),
        "new_opportunities_per_week": data.get("new_opportunities_per_week"),
        "deals_in_window": data.get("deals_in_window", 0),
        "open_amount": data.get("open_amount"),
        "qualified_open": data.get("qualified_open", 0),
        "velocity_per_day": data.get("velocity_per_day"),
        "stages": [{k: stage.get(k) for k in STAGE_KEYS} for stage in data.get("stages", [])],
        "activities": {
            kind: {k: v for k, v in values.items()}
            for kind, values in (data.get("activities") or {}).items()
        },
        "coverage": data.get("coverage"),
        "forecast": forecast or None,
        "plan": data.get("plan"),
        "quality": data.get("quality"),
    }


def flag_report(flag: Flag, rep_id: str) -> dict[str, Any]:
    return {
        "rep": rep_id,
        "id": flag.person_id,
        "name": flag.person.name,
        "code": flag.code,
        "stage": flag.stage.name if flag.stage else None,
        "severity": flag.severity,
        "title": flag.title,
        "evidence": flag.evidence,
        "behaviour": flag.behaviour,
        "skill": flag.skill or None,
        "questions": flag.questions,
        "deals": flag.deals,
        "as_of": flag.as_of.isoformat(),
        "window_days": flag.window_days,
    }
