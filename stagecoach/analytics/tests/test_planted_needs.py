"""Does the analysis find what the demo generator planted, and little else?

The demo organisation (40 reps, two years) gives a known minority of reps one coaching
need each (``DemoOrg.planted``): a stage converted at half the team's rate, a stage
taking 2.6 times longer, or activity falling to a third over the last six weeks. The
engine runs on frames built straight from the generator — no database — with the
default process's stages, pipeline criteria and role expectations, and its findings are
scored against that answer key:

- ``weak_conversion`` ↔ a ``conversion_gap`` finding for that rep at that stage;
- ``slow_stage`` ↔ a ``slow_stage`` finding for that rep at that stage;
- ``activity_drop`` ↔ an ``activity_shortfall`` finding of high severity.

Run with ``-s`` to see the figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import polars as pl
import pytest

from stagecoach.analytics.engine.compute import Criteria, Results, compute
from stagecoach.analytics.engine.flags import ProcessMap
from stagecoach.analytics.engine.frames import SCHEMAS, Data, Window
from stagecoach.demo.generator import ACTIVITY_TYPES, DemoConfig, DemoOrg
from stagecoach.process import defaults

NOW = int(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())
DEFAULT_SEED = DemoConfig().seed  # 7
OTHER_SEEDS = (1, 2)
PIPELINE = 1
EPOCH = date(1970, 1, 1)
MATCHES = {"weak_conversion": "conversion_gap", "slow_stage": "slow_stage"}


def moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def frame(name: str, rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")


@dataclass(frozen=True)
class Demo:
    org: DemoOrg
    data: Data
    person_key: dict[int, str]  # engine id → generator key (R0001...)
    stage_name: dict[int, str]


def demo_frames(seed: int, org: DemoOrg | None = None, *, reps: int = 40, years: float = 2) -> Demo:
    """The engine's frames for the demo organisation of ``seed`` (or for ``org``)."""
    org = org or DemoOrg(DemoConfig(reps=reps, years=years, now=NOW, seed=seed))
    team_id = {t.key: i for i, t in enumerate(org.teams, start=1)}
    person_id = {p.key: i for i, p in enumerate(org.people, start=1)}
    stage_id = {s.name: order for order, s in enumerate(defaults.STAGES, start=1)}
    rates = org.exchange_rates()  # units of each currency per unit of the org's

    opportunities: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    field_changes: list[tuple[Any, ...]] = []
    weekly: Counter[tuple[int, str, int]] = Counter()
    deal_id: dict[str, int] = {}
    for batch in org.rep_batches():
        for o in batch.opportunities:
            deal_id[o.source_id] = len(deal_id) + 1
            opportunities.append(
                (
                    deal_id[o.source_id],
                    person_id[o.owner],
                    PIPELINE,
                    stage_id[o.stage],
                    o.amount / rates[o.currency],  # in the organisation's currency
                    moment(o.created_at),
                    o.close_date,
                    moment(o.closed_at) if o.closed_at is not None else None,
                    o.type,
                )
            )
        changes += [(deal_id[d], stage_id[s], moment(t)) for d, s, t in batch.stage_changes]
        field_changes += [
            (deal_id[d], f, moment(t), str(new) > str(old) if f == "close_date" else None)
            for d, f, old, new, t in batch.field_changes
        ]

        for columns in batch.activities:
            days = columns.occurred_at // 86_400
            mondays = days - (days + 3) % 7  # 1970-01-01 was a Thursday
            owner = person_id[columns.owner]
            for kind, monday in zip(columns.type_index.tolist(), mondays.tolist(), strict=True):
                weekly[(owner, ACTIVITY_TYPES[kind], monday)] += 1

    targets = defaults.ROLE_EXPECTATIONS["rep"]["activity_targets"]
    assert isinstance(targets, dict)
    reps = [p for p in org.people if p.role == "rep"]
    data = Data(
        people=frame(
            "people",
            [
                (person_id[p.key], p.name, p.role, team_id.get(p.team or ""), True)
                for p in org.people
            ],
        ),
        teams=frame(
            "teams",
            [
                (
                    team_id[t.key],
                    team_id.get(t.parent or ""),
                    person_id.get(t.manager or ""),
                    t.name,
                )
                for t in org.teams
            ],
        ),
        stages=frame(
            "stages",
            [
                (
                    stage_id[s.name],
                    PIPELINE,
                    s.name,
                    stage_id[s.name],
                    s.kind,
                    float(s.target_days) if s.target_days else None,
                    s.required,
                )
                for s in defaults.STAGES
            ],
        ),
        opportunities=frame("opportunities", opportunities),
        stage_changes=frame("stage_changes", changes),
        field_changes=frame("field_changes", field_changes),
        activity_weeks=frame(
            "activity_weeks",
            [(o, k, EPOCH + timedelta(days=m), n) for (o, k, m), n in weekly.items()],
        ),
        quotas=frame(
            "quotas",
            [
                (person_id[q.person], q.period_start, q.period_end, float(q.amount))
                for q in org.quotas()
            ],
        ),
        targets=frame(
            "targets",
            [
                (person_id[p.key], kind, float(value))
                for p in reps
                for kind, value in targets.items()
            ],
        ),
    )
    return Demo(
        org=org,
        data=data,
        person_key={v: k for k, v in person_id.items()},
        stage_name={v: k for k, v in stage_id.items()},
    )


def default_process(stage_name: dict[int, str]) -> tuple[Criteria, ProcessMap]:
    """The default process's pipeline criteria and skills, as the refresh would read them."""
    order = {name: sid for sid, name in stage_name.items()}
    specs = {s.name: s for s in defaults.STAGES}
    criteria = Criteria(
        min_order={PIPELINE: order["Qualification"]},
        require_amount=True,
        require_close_date=True,
        max_days_in_stage=90.0,
    )
    process = ProcessMap(
        stage_skills={sid: list(specs[name].skills) for sid, name in stage_name.items()},
        exit_criteria={sid: list(specs[name].exit_criteria) for sid, name in stage_name.items()},
        behaviours={s.name: list(s.behaviours) for s in defaults.SKILLS},
    )
    return criteria, process


@cache
def run(seed: int) -> tuple[Demo, Results]:
    demo = demo_frames(seed)
    criteria, process = default_process(demo.stage_name)
    results = compute(demo.data, Window(moment(NOW), 365), criteria=criteria, process=process)
    return demo, results


@dataclass(frozen=True)
class Score:
    planted: int
    found: int
    hits: int

    @property
    def precision(self) -> float:
        return self.hits / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.planted if self.planted else 1.0


def score(seed: int) -> tuple[dict[str, Score], dict[str, list[str]]]:
    """Precision and recall per code; and each activity-drop rep's shortfall findings."""
    demo, results = run(seed)
    scores: dict[str, Score] = {}
    for kind, code in MATCHES.items():
        planted = {(n.person, n.stage) for n in demo.org.planted if n.kind == kind}
        found = {
            (demo.person_key[f.person_id], demo.stage_name[f.stage_id or 0])
            for f in results.findings
            if f.code == code
        }
        scores[code] = Score(len(planted), len(found), len(planted & found))
    shortfalls = {
        n.person: [
            f"{f.evidence['type']}:{f.severity}"
            for f in results.findings
            if f.code == "activity_shortfall" and demo.person_key[f.person_id] == n.person
        ]
        for n in demo.org.planted
        if n.kind == "activity_drop"
    }
    return scores, shortfalls


def report(seed: int) -> tuple[dict[str, Score], dict[str, list[str]]]:
    scores, shortfalls = score(seed)
    for code, s in scores.items():
        print(
            f"seed {seed} {code}: precision {s.precision:.2f} recall {s.recall:.2f} "
            f"({s.hits} of {s.planted} planted found, {s.found} flagged)"
        )
    print(f"seed {seed} activity_drop reps' shortfall findings: {shortfalls}")
    demo, results = run(seed)
    others = Counter(
        f"{f.evidence['type']}:{f.severity}"
        for f in results.findings
        if f.code == "activity_shortfall" and demo.person_key[f.person_id] not in shortfalls
    )
    print(f"seed {seed} activity_shortfall findings for other reps: {dict(others)}")
    print(f"seed {seed} all findings: {dict(Counter(f.code for f in results.findings))}")
    return scores, shortfalls


def test_planted_needs_are_found_on_the_default_seed() -> None:
    scores, shortfalls = report(DEFAULT_SEED)
    for code, s in scores.items():
        assert s.planted >= 2, code
        assert s.recall >= 0.8, code
        assert s.precision >= 0.8, code
    assert shortfalls
    for person, found in shortfalls.items():
        assert any(f.endswith(":high") for f in found), person


@pytest.mark.parametrize("seed", OTHER_SEEDS)
def test_other_seeds_raise_no_false_alarms(seed: int) -> None:
    # With two or three planted reps per kind, one miss is a recall of 0.5 or 0.67. The
    # misses on other seeds are real but weak signals: a need planted in Proposal, which
    # only about 25 of a rep's deals a year reach, stays just under the 0.9 posterior
    # probability a flag requires. So recall is reported here, precision asserted.
    scores, shortfalls = report(seed)
    for code, s in scores.items():
        assert s.precision >= 0.8, code
    for person, found in shortfalls.items():
        # Flagged, at some severity. "High" needs the last four weeks below half of the
        # weeks before, two of which are already in the six-week drop: a drop to 0.35
        # lands near 0.4 of that baseline, and a rep's few calls a week can sit on the
        # line (seed 1's R0001: 0.49, then 0.50 once calls and emails were logged on
        # every stage's visits). The default seed holds every drop to "high".
        assert found, person
