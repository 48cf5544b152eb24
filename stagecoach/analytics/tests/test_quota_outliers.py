"""forecast_risk and coverage_gap rank a rep against their team (docs/red_flags.md): a
quota out of reach for most of a team is one team note, not a flag on every rep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from stagecoach.analytics.engine import flags
from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window

AS_OF = datetime(2025, 8, 1, tzinfo=UTC)
QUOTA = {"period_start": "2025-07-01", "period_end": "2025-09-30", "quota": 100_000.0}


def _rep(p_attain: float, coverage: float) -> dict[str, Any]:
    return {
        "deals_in_window": 5,
        "stages": [],
        "forecast": {**QUOTA, "p_attain": p_attain, "won_to_date": 0.0, "deals": 5},
        "coverage": {
            "pipeline": coverage * 100_000.0,
            "remaining": 100_000.0,
            "coverage": coverage,
            "required": 2.0,
            "win_rate_of_pipeline": 0.5,
            "period_end": QUOTA["period_end"],
        },
    }


def _context(team: int, reps: dict[int, tuple[float, float]]) -> flags.Context:
    people = pl.DataFrame(
        [(p, f"Rep {p}", "rep", team, True) for p in reps],
        schema=SCHEMAS["people"],
        orient="row",
    )
    groups: dict[str, dict[str, Any]] = {f"rep:{p}": _rep(*v) for p, v in reps.items()}
    groups[f"team:{team}"] = {"group": f"team:{team}", "stages": []}
    return flags.Context(
        data=Data(people=people),
        window=Window(AS_OF, 90),
        groups=groups,
        states=pl.DataFrame(),
        skipped=pl.DataFrame(),
        process=flags.ProcessMap(),
    )


def _quota_flags(ctx: flags.Context) -> list[tuple[str, int]]:
    found = [*flags.forecast_risk(ctx), *flags.coverage_gap(ctx)]
    return sorted((f.code, f.person_id) for f in found)


def test_a_quota_out_of_reach_for_the_whole_team_is_one_team_note() -> None:
    ctx = _context(
        10, {1: (0.01, 0.3), 2: (0.03, 0.4), 3: (0.0, 0.2), 4: (0.05, 0.5), 5: (0.02, 0.3)}
    )
    assert _quota_flags(ctx) == []
    note = ctx.groups["team:10"]["quota_note"]
    assert note["reps"] == 5 and note["forecast_risk"] == 5 and note["coverage_gap"] == 5
    assert note["text"].startswith("The quota, not the rep, is the outlier: 5 of 5 reps")


def test_the_rep_who_differs_from_the_team_is_flagged() -> None:
    ctx = _context(20, {6: (0.7, 3.0), 7: (0.65, 2.8), 8: (0.8, 3.5), 9: (0.05, 0.4)})
    assert _quota_flags(ctx) == [("coverage_gap", 9), ("forecast_risk", 9)]
    assert "quota_note" not in ctx.groups["team:20"]
    risk = next(iter(flags.forecast_risk(ctx)))
    assert risk.evidence["team_p_attain"] == pytest.approx((0.7 + 0.65 + 0.8) / 3)


def test_a_rep_short_but_close_to_a_team_that_is_mostly_fine_is_not_flagged() -> None:
    # 20% against team-mates around 30%: short of the mark, but not apart from the team.
    ctx = _context(30, {11: (0.3, 1.5), 12: (0.32, 1.6), 13: (0.28, 1.5), 14: (0.2, 1.5)})
    assert _quota_flags(ctx) == []
