"""Red flags: findings, not alarms. One small function per code, registered in ``RULES``.

Every finding names a rep, a stage (or none), a severity, its evidence (numbers, sample
sizes, the peer and benchmark figures, the posterior probability where it is about a
rate), the behaviour and skill it points to, and two or three open questions. A stage's
conversion gap or slowness is a flag when its test is a discovery at a false-discovery
rate of 10% over every rep and stage; other rates when the posterior probability of a
real gap is at least 0.9. docs/red_flags.md documents each rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
from scipy import special

from stagecoach.analytics.engine import shrinkage
from stagecoach.analytics.engine.frames import Data, Window
from stagecoach.analytics.engine.metrics import rep_group, team_group
from stagecoach.lib import figures

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class ProcessMap:
    """What the process says about each stage: its skills, and each skill's behaviours."""

    stage_skills: dict[int, list[str]] = field(default_factory=dict)
    exit_criteria: dict[int, list[str]] = field(default_factory=dict)
    behaviours: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Finding:
    code: str
    person_id: int
    severity: str
    title: str
    evidence: dict[str, Any]
    behaviour: str
    skill: str | None
    questions: list[str]
    stage_id: int | None = None
    stage: str | None = None
    deals: list[int] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[int, float]:
        return (SEVERITY_ORDER[self.severity], -float(self.evidence.get("probability") or 0))


@dataclass
class Context:
    data: Data
    window: Window
    groups: dict[str, dict[str, Any]]
    states: pl.DataFrame
    skipped: pl.DataFrame
    process: ProcessMap

    def reps(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Who may be flagged: active reps, and active people of any role who owned deals
        in the window (a player-coach manager). Someone inactive now gets no new flag:
        there is no one left to coach."""
        active = self.data.people.filter(pl.col("is_active"))
        for person, role in active.select("id", "role").iter_rows():
            group = self.groups.get(rep_group(person))
            if group is not None and (role == "rep" or group.get("deals_in_window", 0) > 0):
                yield person, group

    def skill_for(self, stage_id: int | None, fallback: str) -> tuple[str | None, str]:
        skills = self.process.stage_skills.get(stage_id, []) if stage_id else []
        skill = skills[0] if skills else fallback
        behaviours = self.process.behaviours.get(skill, [])
        return skill, behaviours[0] if behaviours else ""


Rule = Callable[[Context], Iterable[Finding]]
RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        RULES[code] = function
        return function

    return register


def evaluate(context: Context) -> list[Finding]:
    findings = [finding for code in RULES for finding in RULES[code](context)]
    return sorted(findings, key=lambda f: (f.person_id, *f.sort_key))


def _pct(value: float | None) -> str:
    return figures.percent(value)


def conversion_gap_title(
    stage: str, *, advanced: int, resolved: int, shrunk: float, peers: float
) -> str:
    """Both rates, each saying which it is: the raw one a manager can count, and the one
    shrunk toward the team that the funnel draws and the flag was raised on."""
    raw = advanced / resolved if resolved else None
    return (
        f"Converts {stage} at {_pct(raw)} raw ({advanced} of {resolved}), "
        f"{_pct(shrunk)} after shrinking toward the team, against peers' {_pct(peers)}"
    )


# -- rates ---------------------------------------------------------------------------------


@rule("conversion_gap")
def conversion_gap(ctx: Context) -> Iterator[Finding]:
    """A stage the rep converts clearly below their peers: a discovery of the binomial
    test of their record against 95% of the peers' rate, at a false-discovery rate of
    10% over every rep and stage (compute._test_stages)."""
    for person, group in ctx.reps():
        for s in group["stages"]:
            if s.get("evidence") != "gap":
                continue
            skill, behaviour = ctx.skill_for(s["stage_id"], "Qualification")
            criteria = ctx.process.exit_criteria.get(s["stage_id"], [])
            severe = s["p_gap"] >= 0.99 and s["conversion_shrunk"] <= 0.75 * s["team_conversion"]
            yield Finding(
                code="conversion_gap",
                person_id=person,
                stage_id=s["stage_id"],
                stage=s["stage"],
                severity="high" if severe else "medium",
                title=conversion_gap_title(
                    s["stage"],
                    advanced=s["advanced"],
                    resolved=s["advanced"] + s["lost"],
                    shrunk=s["conversion_shrunk"],
                    peers=s["team_conversion"],
                ),
                evidence={
                    "advanced": s["advanced"],
                    "lost": s["lost"],
                    "open": s["open"],
                    "resolved": s["advanced"] + s["lost"],
                    "conversion": s["conversion"],
                    "conversion_shrunk": s["conversion_shrunk"],
                    "interval": [s["conversion_low"], s["conversion_high"]],
                    "peers": s["team_conversion"],
                    "benchmark": s.get("benchmark_conversion"),
                    "probability": s["p_gap"],
                    "margin": shrinkage.RATE_MARGIN,
                    # The test behind the flag: the rep's own record over window_days.
                    "window_days": s.get("evidence_days"),
                    "tested_advanced": s.get("evidence_advanced"),
                    "tested_lost": s.get("evidence_lost"),
                    "p_value": s.get("p_value"),
                    "false_discovery_rate": shrinkage.FDR,
                },
                behaviour=behaviour
                or (
                    f"Meeting {s['stage']}'s exit criteria: " + "; ".join(criteria[:3])
                    if criteria
                    else ""
                ),
                skill=skill,
                questions=[
                    f"Walk me through the last deals that were lost in {s['stage']}: what did "
                    "the customer need that they did not get?",
                    f"Which of {s['stage']}'s exit criteria is hardest to get agreed, and why?",
                    f"If you ran one of those deals again, what would you do differently in {s['stage']}?",
                ],
            )


def _median_text(stage: dict[str, Any]) -> str:
    """The median in days, or "over N" when the survival curve never gets to it."""
    if stage.get("median_days") is not None:
        return f"{stage['median_days']:.0f}"
    return f"over {stage.get('median_days_over') or 0:.0f}"


@rule("slow_stage")
def slow_stage(ctx: Context) -> Iterator[Finding]:
    """Deals sit clearly longer in a stage than with peers (×1.5): a discovery of the
    z test at a false-discovery rate of 10% over every rep and stage."""
    for person, group in ctx.reps():
        for s in group["stages"]:
            if s.get("time_evidence") != "slow":
                continue
            skill, behaviour = ctx.skill_for(s["stage_id"], "Time management")
            ratio = (
                s["typical_days_shrunk"] / s["team_typical_days"]
                if s["team_typical_days"]
                else None
            )
            yield Finding(
                code="slow_stage",
                person_id=person,
                stage_id=s["stage_id"],
                stage=s["stage"],
                severity="high" if ratio and ratio >= 2 else "medium",
                title=f"Deals take {_median_text(s)} days in {s['stage']} against peers' "
                f"{s['team_typical_days']:.0f}",
                evidence={
                    "visits": s["visits"],
                    "visits_open": s.get("visits_open", 0),
                    "median_days": s["median_days"],
                    "median_days_over": s.get("median_days_over"),
                    "p90_days": s["p90_days"],
                    "p90_days_over": s.get("p90_days_over"),
                    "typical_days_shrunk": s["typical_days_shrunk"],
                    "peers_typical_days": s["team_typical_days"],
                    "benchmark_median_days": s.get("benchmark_median_days"),
                    "target_days": s.get("target_days"),
                    "probability": s["p_slow"],
                    "factor": shrinkage.SLOW_FACTOR,
                    "p_value": s.get("p_slow_value"),
                    "false_discovery_rate": shrinkage.FDR,
                },
                behaviour=behaviour,
                skill=skill,
                questions=[
                    f"What has to happen for a deal to leave {s['stage']}, and who makes it happen?",
                    f"Which of your deals in {s['stage']} are waiting on the customer, and which on us?",
                    "What is the next step you have agreed, with a date, on each of them?",
                ],
            )


def _peer_rate_flag(
    ctx: Context,
    code: str,
    counts: dict[int, tuple[int, int]],
    *,
    title: Callable[[float, float], str],
    behaviour: str,
    skill: str,
    questions: list[str],
    extra: Callable[[int], dict[str, Any]],
) -> Iterator[Finding]:
    """A rate that is bad when *high* (slippage, skips), against peers, with shrinkage."""
    people = [p for p, _ in ctx.reps() if counts.get(p, (0, 0))[1] > 0]
    if len(people) < 2:
        return
    hits = np.array([counts[p][0] for p in people], dtype=np.float64)
    totals = np.array([counts[p][1] for p in people], dtype=np.float64)
    kappa = shrinkage.fit_concentration(hits, totals)
    peers = (hits.sum() - hits) / np.maximum(totals.sum() - totals, 1)
    posterior = shrinkage.shrink_rates(hits, totals, peers, kappa)
    threshold = np.clip(peers * (1 + shrinkage.RATE_MARGIN) + 0.02, 0, 1)
    probability = 1 - posterior.probability_below(threshold)
    for i, person in enumerate(people):
        if totals[i] < 8 or probability[i] < shrinkage.GAP_PROBABILITY:
            continue
        rate = hits[i] / totals[i]
        yield Finding(
            code=code,
            person_id=person,
            severity="medium" if rate < 2 * peers[i] else "high",
            title=title(rate, float(peers[i])),
            evidence={
                "count": int(hits[i]),
                "of": int(totals[i]),
                "rate": rate,
                "rate_shrunk": float(posterior.mean[i]),
                "peers": float(peers[i]),
                "probability": float(probability[i]),
                **extra(person),
            },
            behaviour=behaviour,
            skill=skill,
            questions=questions,
        )


@rule("close_date_slippage")
def close_date_slippage(ctx: Context) -> Iterator[Finding]:
    """Deals whose close date was pushed twice or more, clearly more often than peers.

    A push moves the date later; a date brought forward is not slippage. Where the old
    and new dates are unknown, any change counts.
    """
    pushes = (
        ctx.data.field_changes.filter(
            (pl.col("field") == "close_date")
            & pl.col("pushed").fill_null(True)
            & pl.col("changed_at").is_between(ctx.window.start, ctx.window.as_of)
        )
        .group_by("opportunity_id")
        .len()
    )
    considered = ctx.states.filter(
        (pl.col("kind") == "open")
        | pl.col("closed_at").is_between(ctx.window.start, ctx.window.as_of)
    ).join(pushes, left_on="id", right_on="opportunity_id", how="left")
    counts = {
        owner: (pushed, total)
        for owner, pushed, total in considered.group_by("owner_id")
        .agg((pl.col("len").fill_null(0) >= 2).sum(), pl.len().alias("n"))
        .iter_rows()
    }
    yield from _peer_rate_flag(
        ctx,
        "close_date_slippage",
        counts,
        title=lambda rate, peers: (
            f"{_pct(rate)} of deals had their close date pushed twice or "
            f"more, against peers' {_pct(peers)}"
        ),
        behaviour="Agreeing close dates with the customer around a mutual plan",
        skill="Closing",
        questions=[
            "For the deals you pushed, what did the customer commit to, and when?",
            "What would have told you earlier that the date would move?",
            "Which of your open deals has a close date the customer has confirmed?",
        ],
        extra=lambda _: {"window_days": ctx.window.days},
    )


@rule("process_skip")
def process_skip(ctx: Context) -> Iterator[Finding]:
    """New deals that passed a required stage without going through it, more than peers."""
    skipped = ctx.skipped["opportunity_id"].unique()
    # Of the deals created in the window, those that skipped: an older deal that skips
    # now is in neither count, so the share is a share.
    counts = {
        owner: (hits, n)
        for owner, hits, n in ctx.states.filter(
            pl.col("created").is_between(ctx.window.start, ctx.window.as_of)
        )
        .group_by("owner_id")
        .agg(pl.col("id").is_in(skipped.implode()).sum(), pl.len())
        .iter_rows()
    }
    yield from _peer_rate_flag(
        ctx,
        "process_skip",
        counts,
        title=lambda rate, peers: (
            f"{_pct(rate)} of new deals skipped a required stage, against peers' {_pct(peers)}"
        ),
        behaviour="Following the agreed process: each required stage's exit criteria met",
        skill="Pipeline management",
        questions=[
            "When a deal jumps a stage, which exit criteria have we really checked?",
            "Is the stage being skipped one the customer does not need, or one we rush?",
        ],
        extra=lambda _: {},
    )


# -- deal strategy -------------------------------------------------------------------------

STRATEGY_MIN_DEALS = 2
"""A strategy flag needs at least this many of the rep's open deals with the gap."""


def _strategy_flag(
    ctx: Context,
    code: str,
    gap: str,
    *,
    severity: str,
    title: Callable[[int], str],
    behaviour: str,
    skill: str,
    questions: list[str],
    eligible: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> Iterator[Finding]:
    """Reps with at least STRATEGY_MIN_DEALS open deals showing ``gap``. Only reps who
    record strategy on some deal (a contact, a criterion check, a plan): a team that does
    not use the feature is not flagged on every deal."""
    facts = ctx.data.strategy
    if facts is None or not facts.users:
        return
    per_owner: dict[int, list[tuple[int, str]]] = {}
    considered: dict[int, int] = {}
    for deal, row in sorted(facts.deals.items()):
        if row["owner_id"] not in facts.users or not eligible(row):
            continue
        considered[row["owner_id"]] = considered.get(row["owner_id"], 0) + 1
        if row[gap]:
            per_owner.setdefault(row["owner_id"], []).append((deal, row["stage"]))
    for person, _group in ctx.reps():
        hits = per_owner.get(person, [])
        if len(hits) < STRATEGY_MIN_DEALS:
            continue
        behaviours = ctx.process.behaviours.get(skill, [])
        yield Finding(
            code=code,
            person_id=person,
            severity=severity,
            title=title(len(hits)),
            evidence={
                "deals": [{"id": deal, "stage": stage} for deal, stage in hits[:10]],
                "count": len(hits),
                "n": considered[person],
                "threshold": STRATEGY_MIN_DEALS,
            },
            behaviour=behaviours[0] if behaviours else behaviour,
            skill=skill,
            questions=questions,
            deals=[deal for deal, _ in hits],
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


@rule("no_economic_buyer")
def no_economic_buyer(ctx: Context) -> Iterator[Finding]:
    """Open late-stage deals with nobody recorded in an economic-buyer role."""
    yield from _strategy_flag(
        ctx,
        "no_economic_buyer",
        "no_economic_buyer",
        severity="high",
        title=lambda n: f"{_plural(n, 'late-stage deal')} without an economic buyer",
        behaviour="Identifying and meeting the person who signs before the late stages",
        skill="Mapping buying influences",
        questions=[
            "Who signs on each of these deals, and have we met them?",
            "Who on the customer's side can get us in front of them?",
            "What would the economic buyer say is the reason to buy now?",
        ],
        eligible=lambda row: row["phase"] == "late",
    )


@rule("no_dated_next_step")
def no_dated_next_step(ctx: Context) -> Iterator[Finding]:
    """Open deals with a pursuit plan but no open next step dated today or later."""
    yield from _strategy_flag(
        ctx,
        "no_dated_next_step",
        "no_dated_next_step",
        severity="medium",
        title=lambda n: f"{_plural(n, 'planned deal')} without a dated next step",
        behaviour="Agreeing a dated next step on every open deal, or closing it out",
        skill="Pipeline management",
        questions=[
            "What is the next thing the customer has agreed to do, and when?",
            "Which of these deals would you close out if it had no next step by Friday?",
        ],
        eligible=lambda row: bool(row["has_plan"]),
    )


@rule("plan_stale")
def plan_stale(ctx: Context) -> Iterator[Finding]:
    """Open deals whose pursuit plan was not saved in the last STALE_DAYS days, or not
    since the deal entered its current stage."""
    yield from _strategy_flag(
        ctx,
        "plan_stale",
        "plan_stale",
        severity="low",
        title=lambda n: f"{_plural(n, 'pursuit plan')} out of date",
        behaviour="Keeping the plan to win each deal current as the deal moves",
        skill="Pipeline management",
        questions=[
            "What has changed on these deals since the plan was written?",
            "Does each plan still say what must happen at the deal's current stage?",
        ],
        eligible=lambda row: bool(row["has_plan"]),
    )


@rule("criteria_unmet")
def criteria_unmet(ctx: Context) -> Iterator[Finding]:
    """Deals that left a stage in the window with required exit criteria unmet, on deals
    where the checklist is used. At least STRATEGY_MIN_DEALS such deals; the stage named
    is the one left most often with criteria unmet."""
    facts = ctx.data.strategy
    if facts is None or not facts.exits:
        return
    start, end = ctx.window.start, ctx.window.as_of
    hits: dict[int, list[dict[str, Any]]] = {}
    considered: dict[int, int] = {}
    for exit_ in facts.exits:
        if not start <= exit_["left_at"] < end:
            continue
        owner = exit_["owner_id"]
        considered[owner] = considered.get(owner, 0) + 1
        if exit_["unmet"]:
            hits.setdefault(owner, []).append(exit_)
    for person, _group in ctx.reps():
        skipped = hits.get(person, [])
        deals = sorted({e["deal"] for e in skipped})
        if len(deals) < STRATEGY_MIN_DEALS:
            continue
        by_stage: dict[int, int] = {}
        for e in skipped:
            by_stage[e["stage_id"]] = by_stage.get(e["stage_id"], 0) + 1
        stage_id = max(sorted(by_stage), key=lambda s: by_stage[s])
        stage = next(e["stage"] for e in skipped if e["stage_id"] == stage_id)
        skill, behaviour = ctx.skill_for(stage_id, "Qualification")
        yield Finding(
            code="criteria_unmet",
            person_id=person,
            severity="medium",
            title=f"{_plural(len(deals), 'deal')} advanced with exit criteria unmet, "
            f"most often out of {stage}",
            evidence={
                "deals": [
                    {"id": e["deal"], "stage": e["stage"], "unmet": e["unmet"]}
                    for e in skipped[:10]
                ],
                "count": len(skipped),
                "n": considered[person],
                "threshold": STRATEGY_MIN_DEALS,
            },
            behaviour=behaviour or "Meeting a stage's exit criteria before moving the deal on",
            skill=skill,
            questions=[
                f"What did the customer confirm before these deals left {stage}?",
                "Which of the unmet criteria would you still check now, and with whom?",
                "Is a criterion we keep skipping one we should drop from the process map?",
            ],
            stage_id=stage_id,
            stage=stage,
            deals=deals,
        )


# -- deals, activity, coverage, forecast, data --------------------------------------------


@rule("stalled_deal")
def stalled_deal(ctx: Context) -> Iterator[Finding]:
    """Open deals older in their stage than the org's P90 and than twice the target.

    When deals still in the stage keep the P90 unknown ("over N days"), the reference
    is the longest visit that ended: a deal has sat longer than any deal ever took to
    leave the stage."""
    limits = {}
    for s in ctx.groups.get("org", {}).get("stages", []):
        usual = s.get("p90_days")
        if usual is None and s.get("p90_days_over") is not None:
            usual = s.get("longest_exit_days")
        if usual:
            limits[s["stage_id"]] = max(usual, 2 * (s.get("target_days") or 0))
    open_deals = ctx.states.filter((pl.col("kind") == "open") & pl.col("entered_at").is_not_null())
    age = (pl.lit(ctx.window.as_of) - pl.col("entered_at")).dt.total_hours() / 24
    rows = open_deals.with_columns(age.alias("age")).filter(
        pl.col("stage_id").replace_strict(limits, default=None, return_dtype=pl.Float64)
        < pl.col("age")
    )
    # Each owner's stalled deals, largest first: the count and value of all, the top ten.
    ranked = rows.sort(
        ["owner_id", "amount"], descending=[False, True], nulls_last=True, maintain_order=True
    )
    totals = {
        owner: (count, float(value))
        for owner, count, value in ranked.group_by("owner_id")
        .agg(pl.len(), pl.col("amount").fill_null(0).sum())
        .iter_rows()
    }
    top: dict[int, list[dict[str, Any]]] = {}
    columns = ("owner_id", "id", "stage_id", "age", "amount")
    for owner, deal, stage, days, amount in (
        ranked.group_by("owner_id", maintain_order=True).head(10).select(columns).iter_rows()
    ):
        top.setdefault(owner, []).append(
            {
                "id": deal,
                "stage_id": stage,
                "age_days": round(days, 1),
                "limit_days": round(limits[stage], 1),
                "amount": amount,
            }
        )
    for person, group in ctx.reps():
        if person not in totals:
            continue
        count, value = totals[person]
        avg = group.get("avg_won_amount") or 0.0
        deals = top[person]
        yield Finding(
            code="stalled_deal",
            person_id=person,
            severity="high" if count >= 3 or (avg and value >= 2 * avg) else "medium",
            title=f"{count} open deal{'s' if count != 1 else ''} stalled beyond the usual time in stage",
            evidence={
                "deals": deals,
                "count": count,
                "value_at_stake": value,
                "open_deals": group.get("open", 0),
            },
            behaviour="Agreeing a dated next step on every open deal, or closing it out",
            skill="Pipeline management",
            questions=[
                "What is the customer's next step on each of these, and when?",
                "Which of them would you close out today if it were not in your pipeline?",
                "What would it take to get a decision from each?",
            ],
            deals=[d["id"] for d in deals],
        )


@rule("activity_shortfall")
def activity_shortfall(ctx: Context) -> Iterator[Finding]:
    """Weekly activity clearly below target (gamma-Poisson posterior P(rate < 80%) ≥ 0.9)."""
    reps = list(ctx.reps())
    kinds = {k for _, g in reps for k, a in g.get("activities", {}).items() if a.get("target")}
    for kind in sorted(kinds):
        rates = np.array([g["activities"].get(kind, {}).get("per_week") or 0.0 for _, g in reps])
        mean, var = (
            float(rates.mean()) if rates.size else 0.0,
            float(rates.var()) if rates.size else 0.0,
        )
        # A gamma prior fitted across reps, worth at most two weeks of data.
        shape_rate = mean / var if var > 0 else 1.0
        prior_rate = min(shape_rate, 2.0)
        prior_shape = max(mean * prior_rate, 0.5)
        for person, group in reps:
            activity = group["activities"].get(kind)
            if not activity or not activity.get("target"):
                continue
            weeks = activity["weeks"][-4:]
            counted = float(sum(weeks))
            target = float(activity["target"])
            # The gamma CDF as scipy.stats computes it, without its per-call overhead.
            scale = 1 / (prior_rate + len(weeks))
            probability = float(special.gammainc(prior_shape + counted, 0.8 * target / scale))
            if probability < shrinkage.GAP_PROBABILITY:
                continue
            baseline = activity.get("baseline_per_week")
            dropped = (
                baseline is not None and baseline > 0 and activity["per_week"] < 0.5 * baseline
            )
            skill = "Prospecting" if kind in ("call", "email") else "Time management"
            yield Finding(
                code="activity_shortfall",
                person_id=person,
                severity="high" if dropped else "medium",
                title=f"{activity['per_week']:.1f} {kind}s a week over the last 4 weeks against "
                f"a target of {target:g}"
                + (f" (was {baseline:.1f})" if dropped and baseline else ""),
                evidence={
                    "type": kind,
                    "per_week": activity["per_week"],
                    "weeks": weeks,
                    "baseline_per_week": baseline,
                    "target": target,
                    "attainment": activity.get("attainment"),
                    "probability": probability,
                },
                behaviour=(ctx.process.behaviours.get(skill) or [""])[0],
                skill=skill,
                questions=[
                    f"What has taken the time that used to go to {kind}s?",
                    "Which accounts would you reach out to first this week?",
                    "What would help you block the time for it?",
                ],
            )


@rule("thin_early_pipeline")
def thin_early_pipeline(ctx: Context) -> Iterator[Finding]:
    """Too few open deals in the first two stages (of each pipeline) to sustain the plan."""
    early: dict[int, int] = {}
    for person, group in ctx.reps():
        firsts: dict[int, list[int]] = {}
        for s in sorted(group["stages"], key=lambda s: (s["pipeline_id"], s["order"])):
            firsts.setdefault(s["pipeline_id"], []).append(s["open_deals"])
        early[person] = sum(sum(counts[:2]) for counts in firsts.values())
    if len(early) < 3:
        return
    typical = float(np.median(list(early.values())))
    for person, group in ctx.reps():
        plan = group.get("plan") or {}
        needed, now = plan.get("new_deals_per_week_needed"), plan.get("new_deals_per_week_now")
        short_of_plan = needed is not None and now is not None and now < needed
        if early[person] >= 0.5 * typical or not short_of_plan or typical == 0:
            continue
        yield Finding(
            code="thin_early_pipeline",
            person_id=person,
            severity="medium",
            title=f"{early[person]} deals in the first two stages against peers' typical {typical:.0f}",
            evidence={
                "early_open": early[person],
                "peers_median": typical,
                "new_deals_per_week_needed": needed,
                "new_deals_per_week_now": now,
            },
            behaviour="Adding new opportunities every week",
            skill="Prospecting",
            questions=[
                "Where will next quarter's deals come from?",
                "Which accounts on your list have you not reached this month?",
            ],
        )


# A quota short for most of a team says something about the quota, not about its reps:
# with at least MIN_TEAM reps and QUOTA_SHARE of them short, the team gets one note and
# none of them a flag. Otherwise a rep short of the mark is flagged only when they fall
# below their team-mates' average by the floor or two standard errors of that average,
# whichever is wider (few team-mates make a noisy average).
MIN_TEAM = 3
QUOTA_SHARE = 0.6
FORECAST_FLOOR = 0.15  # in probability of making quota
COVERAGE_FLOOR = 0.25  # in coverage ÷ required coverage, capped at COVERAGE_CAP
COVERAGE_CAP = 1.5
FORECAST_RISK_P = 0.25


def _against_team(
    ctx: Context, code: str, values: dict[int, float], short: set[int], floor: float
) -> dict[int, dict[str, Any]]:
    """The reps in ``short`` who stand out from their team-mates, with the comparison;
    a note on the team's group instead where most of the team is short."""
    people = ctx.data.people
    team_of = dict(zip(people["id"].to_list(), people["team_id"].to_list(), strict=True))
    teams: dict[int | None, list[int]] = {}
    for person in values:
        teams.setdefault(team_of.get(person), []).append(person)
    flagged: dict[int, dict[str, Any]] = {}
    for team, members in teams.items():
        mine = [p for p in members if p in short]
        if not mine:
            continue
        if len(members) >= MIN_TEAM and len(mine) >= QUOTA_SHARE * len(members):
            group = ctx.groups.get(team_group(team)) if team is not None else None
            if group is not None:
                note = group.setdefault("quota_note", {"reps": len(members)})
                note[code] = len(mine)
                note["text"] = _quota_note(note)
            continue
        for person in mine:
            mates = [values[q] for q in members if q != person]
            if len(mates) < 2:  # too few team-mates: the rest of the organisation
                mates = [values[q] for q in values if q != person]
            if not mates:
                flagged[person] = {"team_mean": None, "margin": None, "team_short": 0}
                continue
            mean = float(np.mean(mates))
            error = float(np.std(mates, ddof=1) / np.sqrt(len(mates))) if len(mates) > 1 else 0.0
            margin = max(floor, 2 * error)
            if values[person] <= mean - margin:
                flagged[person] = {
                    "team_mean": mean,
                    "margin": margin,
                    "team_short": len(mine),
                    "team_reps": len(members),
                }
    return flagged


def _quota_note(note: dict[str, Any]) -> str:
    reps = note["reps"]
    parts = []
    if "forecast_risk" in note:
        parts.append(
            f"{note['forecast_risk']} of {reps} reps below a "
            f"{FORECAST_RISK_P * 100:.0f}% chance of making quota"
        )
    if "coverage_gap" in note:
        parts.append(f"{note['coverage_gap']} of {reps} reps with pipeline short of their quota")
    return "The quota, not the rep, is the outlier: " + "; ".join(parts) + "."


@rule("coverage_gap")
def coverage_gap(ctx: Context) -> Iterator[Finding]:
    """Qualified pipeline closing this period covers less than the rep's own win rate
    needs, and clearly less than their team-mates' (see _against_team)."""
    values: dict[int, float] = {}
    short: set[int] = set()
    details: dict[int, tuple[dict[str, Any], float, float, float | None]] = {}
    for person, group in ctx.reps():
        coverage = group.get("coverage") or {}
        have, need = coverage.get("coverage"), coverage.get("required")
        if have is None or need is None or coverage.get("remaining", 0) <= 0:
            continue
        values[person] = min(have / need, COVERAGE_CAP) if need else COVERAGE_CAP
        p_attain = (group.get("forecast") or {}).get("p_attain")
        details[person] = (coverage, have, need, p_attain)
        if have >= 0.8 * need or (p_attain is not None and p_attain >= 0.8):
            continue  # covered, or thin but the deals already in it are expected to do
        short.add(person)
    for person, team in _against_team(ctx, "coverage_gap", values, short, COVERAGE_FLOOR).items():
        coverage, have, need, p_attain = details[person]
        yield Finding(
            code="coverage_gap",
            person_id=person,
            severity="high" if have < 0.5 * need and (p_attain or 0) < 0.5 else "medium",
            title=f"Pipeline covers {have:.1f}× the quota left; your win rate needs {need:.1f}×",
            evidence=coverage | {"team_coverage_of_need": team["team_mean"], **team},
            behaviour="Building pipeline ahead of the quarter it must close in",
            skill="Pipeline management",
            questions=[
                "Which deals could realistically close this period that are not in the pipeline yet?",
                "What would it take to bring one later deal forward, honestly?",
            ],
        )


@rule("forecast_risk")
def forecast_risk(ctx: Context) -> Iterator[Finding]:
    """Little chance of making quota this period (P(attainment ≥ 100%) < 25%), and
    clearly less than their team-mates' (see _against_team)."""
    values: dict[int, float] = {}
    forecasts: dict[int, dict[str, Any]] = {}
    for person, group in ctx.reps():
        forecast = group.get("forecast") or {}
        if forecast.get("p_attain") is not None:
            values[person] = float(forecast["p_attain"])
            forecasts[person] = forecast
    short = {p for p, value in values.items() if value < FORECAST_RISK_P}
    for person, team in _against_team(ctx, "forecast_risk", values, short, FORECAST_FLOOR).items():
        forecast, p = forecasts[person], values[person]
        yield Finding(
            code="forecast_risk",
            person_id=person,
            severity="high" if p < 0.1 else "medium",
            title=f"{figures.chance(p)} chance of making quota this period",
            evidence={
                k: forecast.get(k)
                for k in (
                    "p_attain",
                    "attainment_p10",
                    "attainment_p50",
                    "attainment_p90",
                    "won_to_date",
                    "expected",
                    "expected_open",
                    "quota",
                    "deals",
                    "period_end",
                )
            }
            | {"probability": 1 - p, "team_p_attain": team["team_mean"], **team},
            behaviour="Focusing on the deals with the most value at stake early in the process",
            skill="Pipeline management",
            questions=[
                "Which two deals, moved one stage, would change this quarter most?",
                "What help do you need from me or the team on them?",
            ],
        )


@rule("stale_data")
def stale_data(ctx: Context) -> Iterator[Finding]:
    """CRM data too old to coach from: past close dates, deals not moving, no activity."""
    for person, group in ctx.reps():
        quality = group.get("quality") or {}
        open_deals = quality.get("open_deals") or 0
        past = quality.get("open_past_close_date", 0)
        stale = quality.get("stale", 0)
        last = quality.get("last_activity_week")
        quiet = last is None or (ctx.window.today - _date(last)) > timedelta(weeks=3)
        reasons = []
        if open_deals >= 5 and past / open_deals >= 0.2:
            reasons.append(f"{past} of {open_deals} open deals have a close date in the past")
        if open_deals >= 5 and stale / open_deals >= 0.25:
            reasons.append(f"{stale} of {open_deals} open deals have not moved in 90 days")
        if quiet and open_deals:
            reasons.append("no activity logged in the last three weeks")
        if not reasons:
            continue
        yield Finding(
            code="stale_data",
            person_id=person,
            severity="low" if len(reasons) == 1 else "medium",
            title="; ".join(reasons).capitalize(),
            evidence={
                "open_deals": open_deals,
                "open_past_close_date": past,
                "stale": stale,
                "last_activity_week": last,
            },
            behaviour="Updating stages, close dates and activities on the day they change",
            skill="CRM discipline",
            questions=[
                "Which of these deals are still real?",
                "What makes keeping the CRM current hard for you?",
            ],
        )


def _date(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


def coverage(
    groups: dict[str, dict[str, Any]],
    states: pl.DataFrame,
    window: Window,
    criteria_stage: dict[int, int],
) -> None:
    """Pipeline coverage per rep: qualified pipeline closing in the period ÷ quota remaining.

    Required coverage is 1 ÷ the rep's shrunk win rate *of deals that count as pipeline*:
    P(win | reached the first qualified stage), the product of the rep's shrunk
    conversions from there. Without a qualifying stage it is the shrunk win rate.
    """
    periods = [
        (int(key.split(":")[1]), group["forecast"]["period_start"], group["forecast"]["period_end"])
        for key, group in groups.items()
        if key.startswith("rep:") and group.get("forecast")
    ]
    # Every rep's qualified pipeline closing in their period, in one pass (a filter a
    # rep was half a second of a 1,000-rep refresh).
    closing = pl.DataFrame(
        periods,
        schema={"owner_id": states.schema["owner_id"], "start": pl.String, "end": pl.String},
        orient="row",
    ).with_columns(pl.col("start").str.to_date(), pl.col("end").str.to_date())
    pipelines: dict[int, float] = dict(
        states.filter(pl.col("qualified"))
        .join(closing, on="owner_id")
        .filter(pl.col("close_date").is_between(pl.col("start"), pl.col("end")))
        .group_by("owner_id")
        .agg(pl.col("amount").fill_null(0).sum())
        .iter_rows()
    )
    for key, group in groups.items():
        forecast = group.get("forecast")
        if not key.startswith("rep:") or not forecast:
            continue
        person = int(key.split(":")[1])
        end = forecast["period_end"]
        pipeline = pipelines.get(person, 0.0)
        remaining = max(forecast["quota"] - forecast["won_to_date"], 0.0)
        rate = _qualified_win_rate(group, criteria_stage)
        group["coverage"] = {
            "pipeline": float(pipeline),
            "remaining": remaining,
            "coverage": float(pipeline) / remaining if remaining else None,
            "required": 1 / rate if rate else None,
            "win_rate_of_pipeline": rate,
            "period_end": end,
        }


def _qualified_win_rate(group: dict[str, Any], criteria_stage: dict[int, int]) -> float | None:
    stages = group.get("stages", [])
    if not criteria_stage:
        return group.get("win_rate_shrunk")
    rates = []
    for pipeline, first in criteria_stage.items():
        probability = 1.0
        for stage in sorted(stages, key=lambda s: s["order"]):
            if stage["pipeline_id"] != pipeline or stage["order"] < first:
                continue
            rate = stage.get("conversion_shrunk", stage.get("conversion"))
            if rate is None:
                probability = 0.0
                break
            probability *= rate
        rates.append(probability)
    best = max(rates, default=0.0)
    return best or group.get("win_rate_shrunk")


__all__ = ["RULES", "Context", "Finding", "ProcessMap", "coverage", "evaluate", "team_group"]
