"""The planted behaviours against what the engine finds, on organisations generated in
memory: no database, so many seeds take seconds (bench/planted_behaviours.py, tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from stagecoach.analytics.engine.behaviours import winning_behaviours
from stagecoach.analytics.engine.deals import VISIT_SCHEMA
from stagecoach.analytics.engine.frames import SCHEMAS, TIME, Window
from stagecoach.demo.generator import DemoConfig, DemoOrg
from stagecoach.demo.history import (
    ACTIVITY_TYPES,
    PLANTED_BEHAVIOURS,
    PlantedBehaviour,
    planting,
)
from stagecoach.process import defaults


def _stages() -> pl.DataFrame:
    return pl.DataFrame(
        [
            (i, 1, s.name, i, s.kind, s.target_days, s.required)
            for i, s in enumerate(defaults.STAGES, start=1)
        ],
        schema=SCHEMAS["stages"],
        orient="row",
    )


def frames(org: DemoOrg) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(visits, activities, stages) as the engine reads them, straight from the history."""
    stages = _stages()
    ids = {name: (sid, order, kind) for sid, _, name, order, kind, _, _ in stages.iter_rows()}
    deal_ids: dict[str, int] = {}
    visits: list[tuple[object, ...]] = []
    acts: list[pl.DataFrame] = []
    for owner, batch in enumerate(org.rep_batches()):
        changes: dict[str, list[tuple[str, int]]] = {}
        for deal, stage, at in batch.stage_changes:
            changes.setdefault(deal, []).append((stage, at))
        for deal, path in changes.items():
            number = deal_ids.setdefault(deal, len(deal_ids) + 1)
            for i, (stage, at) in enumerate(path):
                sid, order, kind = ids[stage]
                end = path[i + 1][1] if i + 1 < len(path) else None
                visits.append((number, owner, 1, sid, order, kind, at, end, False))
        for columns in batch.activities:
            acts.append(
                pl.DataFrame(
                    {
                        "opportunity_id": [
                            deal_ids.get(d) if d else None for d in columns.opportunity
                        ],
                        "type": [ACTIVITY_TYPES[i] for i in columns.type_index.tolist()],
                        "occurred_at": columns.occurred_at,
                    }
                )
            )
    seconds = pl.Datetime("us", "UTC")
    as_seconds = {**VISIT_SCHEMA, "entered_at": pl.Int64(), "exited_at": pl.Int64()}
    visit_frame = pl.DataFrame(visits, schema=as_seconds, orient="row").with_columns(
        (pl.col(c) * 1_000_000).cast(seconds).cast(TIME) for c in ("entered_at", "exited_at")
    )
    activities = pl.concat(acts).with_columns(
        (pl.col("occurred_at") * 1_000_000).cast(seconds).cast(TIME),
        pl.col("opportunity_id").cast(pl.Int64),
    )
    return visit_frame, activities, stages


@dataclass(frozen=True)
class Score:
    candidates: int
    true: int  # candidates on a planted stage and activity
    null: int  # candidates on an activity with no effect
    planted: int  # planted behaviours of 1.5× or more
    found: int  # of those, found in either form
    visits: int  # judged visits to the least visited planted stage

    @property
    def precision(self) -> float | None:
        return self.true / self.candidates if self.candidates else None

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None


def score(
    seed: int,
    *,
    reps: int = 120,
    years: float = 2.0,
    now: int | None = None,
    behaviours: Sequence[PlantedBehaviour] = PLANTED_BEHAVIOURS,
) -> Score:
    """One generated organisation with ``behaviours`` planted: what winners do over its
    last year, against the truth. A candidate is true when its stage and activity are a
    planted one's (early or at all); a planted behaviour is found in either form."""
    moment = now or int(datetime(2026, 12, 5, tzinfo=UTC).timestamp())
    with planting(behaviours):  # the history is drawn as the frames are read
        org = DemoOrg(DemoConfig(reps=reps, years=years, seed=seed, now=moment))
        visits, activities, stages = frames(org)
    window = Window(datetime.fromtimestamp(moment, tz=UTC), 365)
    found = winning_behaviours(visits, activities, stages, window)
    truth = {(b.stage, b.activity) for b in behaviours}
    strong = {(b.stage, b.activity) for b in behaviours if b.risk_ratio >= 1.5}
    per_stage: dict[str, int] = {}
    for cell in found["comparisons"]:
        per_stage[cell["stage"]] = cell["with"][1] + cell["without"][1]
    named = {(c["stage"], c["activity"]) for c in found["candidates"]}
    true = sum((c["stage"], c["activity"]) in truth for c in found["candidates"])
    return Score(
        candidates=len(found["candidates"]),
        true=true,
        null=len(found["candidates"]) - true,
        planted=len(strong),
        found=len(strong & named),
        visits=min((per_stage.get(s, 0) for s, _ in truth), default=0),
    )
