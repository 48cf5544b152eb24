"""The reverse-funnel plan: what a rep needs to add each week to make quota, from their
own (shrunk) rates, against their current pace.

    gap              = quota − expected from the current pipeline (the forecast's
                       `expected_pipeline`: won to date + the open deals)
    wins needed      = gap / average won deal
    new deals needed = wins needed / P(win | a new deal), the rep's shrunk chain
    per week         = / weeks left in the period
    activities       = new deals per week × the organisation's activities per new deal

The average won deal is the rep's, shrunk toward the team's by five deals' weight, so a
rep with two big wins is not told they need fewer deals than anyone else. Deals started
now only help if the typical cycle fits in the weeks left; the plan says when it does not.
"""

from __future__ import annotations

from typing import Any

from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.engine.metrics import ORG, team_group

DEAL_SIZE_WEIGHT = 5


def _start_probability(stages: list[dict[str, Any]]) -> float | None:
    """P(win) for a deal starting at the first stage: the product of the rep's shrunk
    conversions through their pipeline; with several pipelines, the best of them (as
    for coverage), since that is where new deals would be worth starting."""
    by_pipeline: dict[int, list[dict[str, Any]]] = {}
    for stage in sorted(stages, key=lambda s: (s["pipeline_id"], s["order"])):
        by_pipeline.setdefault(stage["pipeline_id"], []).append(stage)
    best: float | None = None
    for rows in by_pipeline.values():
        probability: float | None = 1.0
        for stage in rows:
            rate = stage.get("conversion_shrunk", stage.get("conversion"))
            if rate is None:
                probability = None
                break
            probability = (probability or 0.0) * rate
        if probability is not None and (best is None or probability > best):
            best = probability
    return best


def add_plans(groups: dict[str, dict[str, Any]], data: Data, window: Window) -> None:
    team_of = dict(zip(data.people["id"].to_list(), data.people["team_id"].to_list(), strict=True))
    org = groups.get(ORG, {})
    org_new = org.get("new_opportunities") or 0
    per_new_deal = {
        kind: (sum(values["weeks"]) / len(values["weeks"]) * window.weeks) / org_new
        for kind, values in org.get("activities", {}).items()
        if org_new
    }
    for key, group in groups.items():
        forecast = group.get("forecast")
        if not key.startswith("rep:") or not forecast or not forecast.get("quota"):
            continue
        person = int(key.split(":")[1])
        team = groups.get(team_group(team_of[person])) if team_of.get(person) else None
        reference = team if team and team.get("avg_won_amount") else org
        n = group.get("avg_won_n") or 0
        own = group.get("avg_won_amount") or 0.0
        ref = reference.get("avg_won_amount") or own
        deal_size = (
            (n * own + DEAL_SIZE_WEIGHT * ref) / (n + DEAL_SIZE_WEIGHT)
            if n + DEAL_SIZE_WEIGHT
            else None
        )
        pipeline = [
            s for s in group["stages"] if s.get("reached") or s.get("conversion_shrunk") is not None
        ]
        p_start = _start_probability(pipeline or group["stages"])
        # The deals this plan asks for are the forecast's new pipeline: the gap is what
        # the deals already open leave, or the plan would count them twice.
        gap = max(forecast["quota"] - forecast["expected_pipeline"], 0.0)
        weeks_left = max(forecast["days_left"] / 7, 1 / 7)
        wins = gap / deal_size if deal_size else None
        new_deals = wins / p_start if wins is not None and p_start else None
        per_week = new_deals / weeks_left if new_deals is not None else None
        activities = {
            kind: {
                "needed_per_week": per_week * ratio if per_week is not None else None,
                "current_per_week": group.get("activities", {}).get(kind, {}).get("per_week"),
            }
            for kind, ratio in per_new_deal.items()
        }
        cycle = group.get("median_cycle_days") or org.get("median_cycle_days")
        ordered = sorted(group["stages"], key=lambda s: s["order"])
        group["plan"] = {
            "gap": gap,
            "average_won_deal": deal_size,
            "win_probability_new_deal": p_start,
            "wins_needed": wins,
            "new_deals_needed": new_deals,
            "new_deals_per_week_needed": per_week,
            "new_deals_per_week_now": group.get("new_opportunities_per_week"),
            "weeks_left": weeks_left,
            "typical_cycle_days": cycle,
            "cycle_fits": bool(cycle is not None and cycle <= forecast["days_left"]),
            "activities": activities,
            "stages": [
                {
                    "stage": s["stage"],
                    "open_now": s["open_deals"],
                    "needed": (wins / p)
                    if wins is not None and (p := _from_stage(ordered, s))
                    else None,
                }
                for s in ordered
            ],
        }


def _from_stage(ordered: list[dict[str, Any]], start: dict[str, Any]) -> float | None:
    """P(won) from ``start`` on: the product of its pipeline's rates from there, the
    stages ``ordered`` by their order already (sorted once per rep, not once per stage)."""
    probability = 1.0
    for stage in ordered:
        if stage["pipeline_id"] != start["pipeline_id"] or stage["order"] < start["order"]:
            continue
        rate = stage.get("conversion_shrunk", stage.get("conversion"))
        if rate is None:
            return None
        probability *= rate
    return probability
