"""The 1:1 agenda: what to talk about with one rep this week, and for how long.

In order: (1) follow-up of open commitments; (2) one behaviour focus from the rep's
top behavioural flag, with its open questions; (3) one or two early-stage deals with
the most value at stake, for strategy rather than status; (4) a check-in on the rep's
current development action plan; (5) the leadership topic of the period. When the
coachee is a manager (a leader's 1:1), the agenda is about their coaching instead:
see :mod:`stagecoach.coaching.manager_agenda`. The time box (30 minutes by default) is split so deal and skill coaching
get about half each; the split is shown so the manager can see it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from stagecoach.accounts.models import Person, Role
from stagecoach.analytics import presenters
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching.models import Commitment, Session, SessionItem, Topic
from stagecoach.coaching.selectors import open_commitments, topic_for
from stagecoach.coaching.services import PlannedItem, save_agenda
from stagecoach.lib.money import format_money
from stagecoach.pipeline.models import Opportunity
from stagecoach.pipeline.selectors import real_opportunity_filter
from stagecoach.process.models import Skill, Stage, StageKind
from stagecoach.process.selectors import stage_phases
from stagecoach.strategy.gaps import DealGaps, gaps_for
from stagecoach.strategy.models import NextStep, PursuitPlan

DEFAULT_MINUTES = 30
FOCUS_MINUTES_MIN = 8
DEALS = 2

# Flags by how directly they name a behaviour to practise. A stage behaviour says
# where in the process deals are lost and which skill to work on; activity and pipeline
# habits come next; deal hygiene (stalled deals, stale data) is a symptom better
# handled deal by deal; outcome flags (coverage, forecast) say where a rep will land,
# not what to do differently, and are the focus only when nothing else has evidence.
TIERS: dict[str, int] = {
    "conversion_gap": 0,
    "slow_stage": 0,
    "process_skip": 0,
    "activity_shortfall": 1,
    "thin_early_pipeline": 1,
    "close_date_slippage": 1,
    "criteria_unmet": 1,
    "no_economic_buyer": 1,
    "stalled_deal": 2,
    "no_dated_next_step": 2,
    "plan_stale": 2,
    "stale_data": 2,
    "coverage_gap": 3,
    "forecast_risk": 3,
}
BEHAVIOURAL = tuple(TIERS)
SEVERITY = {"high": 0, "medium": 1, "low": 2}

DEAL_QUESTIONS = (
    "What does the customer need to be true to move to {next}, and how will we know?",
    "Who else is involved in the decision, and who have we not met yet?",
    "What is the next step the customer has agreed to, and when is it?",
)


@dataclass
class AgendaItem:
    kind: str
    tag: str  # deal or skill
    phase: str  # early, late or ""
    title: str
    minutes: int
    detail: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    opportunity_id: int | None = None
    skill_id: int | None = None
    stage_id: int | None = None
    flag_code: str = ""
    commitment_ids: list[int] = field(default_factory=list)

    def planned(self) -> PlannedItem:
        return PlannedItem(
            kind=self.kind,
            tag=self.tag,
            phase=self.phase,
            title=self.title,
            detail="\n".join(self.detail),
            minutes=self.minutes,
            questions=tuple(self.questions),
            opportunity_id=self.opportunity_id,
            skill_id=self.skill_id,
            stage_id=self.stage_id,
            flag_code=self.flag_code,
        )


@dataclass
class Agenda:
    rep: Person
    as_of: date | None
    minutes: int
    items: list[AgendaItem]
    topic: Topic | None
    notes: list[str]
    # The process map version behind the flags and stages it cites.
    process_version: int | None = None

    @property
    def deal_minutes(self) -> int:
        return sum(i.minutes for i in self.items if i.tag == SessionItem.Tag.DEAL)

    @property
    def skill_minutes(self) -> int:
        return sum(i.minutes for i in self.items if i.tag == SessionItem.Tag.SKILL)

    @property
    def focus(self) -> AgendaItem | None:
        return next((i for i in self.items if i.kind == SessionItem.Kind.FOCUS), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rep": self.rep.pk,
            "name": self.rep.name,
            "active": self.rep.is_active,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "minutes": self.minutes,
            "deal_minutes": self.deal_minutes,
            "skill_minutes": self.skill_minutes,
            "topic": self.topic.title if self.topic else None,
            "notes": self.notes,
            "process_version": self.process_version,
            "items": [asdict(item) for item in self.items],
        }


def _money(value: Any) -> str:
    return format_money(value, settings.STAGECOACH_CURRENCY)


def top_flag(flags: list[Flag]) -> Flag | None:
    """The flag to coach on: the most coachable kind, then severity, then certainty."""
    ranked = sorted(
        (f for f in flags if f.code in TIERS),
        key=lambda f: (
            TIERS[f.code],
            SEVERITY.get(f.severity, 3),
            BEHAVIOURAL.index(f.code),
            -float(f.evidence.get("probability") or 0),
            f.pk,
        ),
    )
    return ranked[0] if ranked else None


def _follow_up(commitments: list[Commitment], today: date) -> AgendaItem:
    lines = []
    for c in commitments:
        due = "overdue since" if c.is_overdue(today) else "due"
        owner = "" if c.owner_id == commitments[0].owner_id else f" ({c.owner.name})"
        lines.append(f"{c.action}{owner} — {due} {c.due_on:%-d %b}")
    deal_linked = sum(1 for c in commitments if c.opportunity_id)
    return AgendaItem(
        kind=SessionItem.Kind.FOLLOW_UP,
        tag=SessionItem.Tag.DEAL if deal_linked * 2 > len(commitments) else SessionItem.Tag.SKILL,
        phase="",
        title=f"Follow up on {len(commitments)} open commitment"
        + ("s" if len(commitments) != 1 else ""),
        minutes=min(2 * len(commitments), 6),
        detail=lines,
        questions=["What got done, and what got in the way?"],
        commitment_ids=[c.pk for c in commitments],
    )


def _focus(flag: Flag, phases: dict[int, str]) -> AgendaItem:
    stage_names = dict(Stage.objects.values_list("id", "name"))
    # One query whether or not the flag names deals (an empty list would skip it), so an
    # agenda costs the same whichever flag leads it.
    deal_names = dict(
        Opportunity.objects.filter(id__in=flag.deals or [0]).values_list("id", "name")
    )
    skill = Skill.objects.filter(name=flag.skill).first() if flag.skill else None
    where = f" at {stage_names[flag.stage_id]}" if flag.stage_id in stage_names else ""
    title = flag.behaviour or flag.title
    return AgendaItem(
        kind=SessionItem.Kind.FOCUS,
        tag=SessionItem.Tag.SKILL,
        phase=phases.get(flag.stage_id or 0, ""),
        title=f"{title}{where}" if where and where.strip() not in title else title,
        minutes=FOCUS_MINUTES_MIN,
        detail=[
            flag.title,
            *([f"Skill: {flag.skill}"] if flag.skill else []),
            *presenters.evidence_lines(
                flag.code,
                flag.evidence,
                money=_money,
                stage_names=stage_names,
                deal_names=deal_names,
            ),
        ],
        questions=list(flag.questions),
        skill_id=skill.pk if skill else None,
        stage_id=flag.stage_id,
        flag_code=flag.code,
    )


def _deal(
    opportunity: Opportunity,
    phases: dict[int, str],
    next_stage: dict[int, str],
    now: datetime,
    gaps: DealGaps | None = None,
    plan: list[str] | None = None,
) -> AgendaItem:
    """An early-stage deal to plan, not to report on: its pursuit plan as it stands and
    the questions its gaps raise first, then the usual strategy questions."""
    entered = opportunity.stage_entered_at or opportunity.created_at
    days = (now - entered).days if entered else None
    criteria = [c.text for c in opportunity.stage.exit_criteria.all()]
    detail = [
        f"{opportunity.stage.name} · {_money(opportunity.amount_org)}"
        + (f" · {days} day{'' if days == 1 else 's'} in stage" if days is not None else "")
        + (f" · closes {opportunity.close_date:%-d %b %Y}" if opportunity.close_date else ""),
    ]
    if criteria:
        detail.append("To leave the stage: " + "; ".join(criteria))
    detail.extend(plan or [])
    nxt = next_stage.get(opportunity.stage_id, "the next stage")
    asked = list(gaps.questions) if gaps else []
    generic = [q.format(next=nxt) for q in DEAL_QUESTIONS]
    if gaps is not None and gaps.no_dated_next_step:
        generic = generic[:2]  # the gap already asks for the next step
    if gaps is not None and gaps.missing_roles:
        generic = [q for q in generic if "involved in the decision" not in q]
    return AgendaItem(
        kind=SessionItem.Kind.DEAL,
        tag=SessionItem.Tag.DEAL,
        phase=phases.get(opportunity.stage_id, "early"),
        title=opportunity.name
        + (
            f" ({opportunity.account})"
            if opportunity.account and opportunity.account not in opportunity.name
            else ""
        ),
        minutes=5,
        detail=detail,
        questions=[*asked, *generic][:5],
        opportunity_id=opportunity.pk,
        stage_id=opportunity.stage_id,
    )


def plan_lines(opportunities: list[Opportunity], now: datetime) -> dict[int, list[str]]:
    """Each deal's pursuit plan in two lines, its objective and its next open step, from
    two queries whatever the number of deals."""
    ids = [o.pk for o in opportunities]
    plans = dict(
        PursuitPlan.objects.filter(opportunity_id__in=ids).values_list(
            "opportunity_id", "objective"
        )
    )
    steps: dict[int, NextStep] = {}
    for step in (
        NextStep.objects.filter(plan__opportunity_id__in=ids, done_at__isnull=True)
        .select_related("plan")
        .order_by(F("due").asc(nulls_last=True), "order", "id")
    ):
        steps.setdefault(step.plan.opportunity_id, step)
    lines: dict[int, list[str]] = {}
    for deal_id in ids:
        if deal_id not in plans:
            lines[deal_id] = ["Pursuit plan: none yet"]
            continue
        objective = plans[deal_id]
        lines[deal_id] = [f"Plan objective: {objective}" if objective else "Plan: no objective"]
        first = steps.get(deal_id)
        if first is not None:
            when = f" by {first.due:%-d %b}" if first.due else " (no date)"
            late = " (overdue)" if first.due and first.due < now.date() else ""
            lines[deal_id].append(f"Next step: {first.text}{when}{late}")
    return lines


def _plan_step(rep: Person, today: date) -> AgendaItem | None:
    """The current action plan's check-in: how it goes, what is next, whether to revise."""
    # Imported here: development builds on coaching, not the other way round.
    from stagecoach.development.impact import baseline, format_metric, metric_label
    from stagecoach.development.selectors import current_action_plan

    action_plan = current_action_plan(rep, today=today)
    if action_plan is None:
        return None
    week = (today - action_plan.starts_on).days // 7 + 1
    weeks = round(action_plan.weeks)
    open_actions = [a.text for a in action_plan.actions.all() if a.done_on is None]
    progress = (action_plan.progress or {}).get("rep_during") or {}
    detail = [
        f"Week {min(week, weeks)} of {weeks} · {metric_label(action_plan)}: baseline "
        f"{format_metric(action_plan.metric, baseline(action_plan).value)} → target "
        f"{format_metric(action_plan.metric, action_plan.target)}"
        + (
            f" · so far {format_metric(action_plan.metric, progress['value'])} "
            f"(n = {progress['n']})"
            if progress.get("value") is not None
            else ""
        ),
        *(f"Open: {text}" for text in open_actions[:3]),
    ]
    return AgendaItem(
        kind=SessionItem.Kind.PLAN,
        tag=SessionItem.Tag.SKILL,
        phase="",
        title=f"Action plan check-in: {action_plan.title}",
        minutes=4,
        detail=detail,
        questions=[
            "Which of the plan's actions did you do since we last met, and what happened?",
            "What got in the way, and what would make the next one easier?",
            "Is the target still right, or should we revise the plan?",
        ],
        skill_id=action_plan.skill_id,
        stage_id=action_plan.metric_stage_id,
    )


def early_deals(rep: Person, phases: dict[int, str], *, now: datetime) -> list[Opportunity]:
    """The rep's real early-stage deals with the most value at stake."""
    early = [stage_id for stage_id, phase in phases.items() if phase == "early"]
    opportunities = Opportunity.objects.filter(
        owner=rep, stage_id__in=early, stage__kind=StageKind.OPEN
    )
    pipelines = {o.pipeline for o in opportunities.select_related("pipeline")}
    chosen: list[Opportunity] = []
    for pipeline in pipelines:
        chosen.extend(
            opportunities.filter(real_opportunity_filter(pipeline, now=now))
            .select_related("stage", "pipeline")
            .prefetch_related("stage__exit_criteria")
        )
    chosen.sort(key=lambda o: (-(o.amount_org or Decimal(0)), o.close_date or date.max, o.pk))
    return chosen[:DEALS]


def share_minutes(items: list[AgendaItem], total: int) -> None:
    """Share ``total`` minutes among ``items`` in proportion to the minutes each asked
    for (equally when none did), in whole minutes that add up to ``total``."""
    if not items:
        return
    total = max(total, 0)
    weights = [max(i.minutes, 0) for i in items]
    if not sum(weights):
        weights = [1] * len(items)
    exact = [total * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    # Largest remainder first, earlier items on ties, so the minutes add up exactly.
    order = sorted(range(len(items)), key=lambda k: (shares[k] - exact[k], k))
    for k in order[: total - sum(shares)]:
        shares[k] += 1
    for item, share in zip(items, shares, strict=True):
        item.minutes = share


def fit_time_box(
    minutes: int, *, first: list[AgendaItem], rest: list[AgendaItem], spare: AgendaItem | None
) -> None:
    """Fit an agenda to the session length: the ``first`` items keep their minutes, the
    ``rest`` share what is left, and with nothing to share ``spare`` takes it."""
    left = minutes - sum(i.minutes for i in first)
    if rest:
        share_minutes(rest, left)
    elif spare is not None:
        spare.minutes += max(left, 0)


def build_agenda(
    rep: Person,
    *,
    now: datetime | None = None,
    as_of: date | None = None,
    minutes: int = DEFAULT_MINUTES,
    window_days: int = DEFAULT_WINDOW_DAYS,
    coach: Person | None = None,
) -> Agenda:
    if rep.role == Role.MANAGER and rep.is_active:
        # A leader's 1:1 with a manager is about their coaching (coaching.manager_agenda).
        from stagecoach.coaching.manager_agenda import build_manager_agenda

        return build_manager_agenda(
            rep, coach=coach, now=now, as_of=as_of, minutes=minutes, window_days=window_days
        )
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    as_of = as_of or analytics.latest_as_of(window_days)
    if not rep.is_active:
        # Someone who has left keeps their history, but there is no 1:1 to plan.
        note = f"{rep.name} is inactive in the CRM: there is no 1:1 to plan."
        return Agenda(rep=rep, as_of=as_of, minutes=minutes, items=[], topic=None, notes=[note])
    stages = list(Stage.objects.all())
    phases = stage_phases(stages)
    next_stage: dict[int, str] = {}
    for stage in stages:
        later = [
            s
            for s in stages
            if s.pipeline_id == stage.pipeline_id and s.order > stage.order and s.is_open
        ]
        if later:
            next_stage[stage.pk] = min(later, key=lambda s: s.order).name
    notes: list[str] = []

    commitments = list(open_commitments(rep).filter(created_at__lte=now))
    follow_up = _follow_up(commitments, today) if commitments else None

    flags = (
        list(analytics.flags_for([rep.pk], as_of=as_of, window_days=window_days)) if as_of else []
    )
    flag = top_flag(flags)
    focus = _focus(flag, phases) if flag else None
    if focus is None:
        notes.append(
            "No behavioural flag has enough evidence for this rep: "
            "choose a skill together, or spend the time on the topic and deals."
            if as_of
            else "Analytics have not been computed yet, so there is no behaviour focus."
        )

    chosen = early_deals(rep, phases, now=now)
    gaps = gaps_for(chosen, now=now)
    plans = plan_lines(chosen, now)
    deals = [_deal(o, phases, next_stage, now, gaps.get(o.pk), plans.get(o.pk)) for o in chosen]
    if not deals:
        notes.append("No real early-stage deals to plan: the pipeline criteria leave none.")

    plan_item = _plan_step(rep, today)

    topic = topic_for(today)
    topic_item = (
        AgendaItem(
            kind=SessionItem.Kind.TOPIC,
            tag=SessionItem.Tag.SKILL,
            phase=phases.get(topic.stage_id or 0, ""),
            title=f"This {topic.get_period_display().lower()}'s topic: {topic.title}",
            minutes=5,
            detail=[line for line in topic.guidance.splitlines() if line.strip()],
            skill_id=topic.skill_id,
            stage_id=topic.stage_id,
        )
        if topic
        else None
    )

    # Time box: follow-ups and the topic first; the rest split so deal and skill
    # coaching each get about half of the whole meeting.
    left = (
        minutes
        - (follow_up.minutes if follow_up else 0)
        - (plan_item.minutes if plan_item else 0)
        - (topic_item.minutes if topic_item else 0)
    )
    if deals and focus:
        deal_time = max(min(minutes // 2, left - FOCUS_MINUTES_MIN), 4 * len(deals))
        focus.minutes = max(left - deal_time, 0)
    elif deals:
        deal_time = left
    else:
        deal_time = 0
        if focus:
            focus.minutes = max(left, 0)
        elif topic_item:
            topic_item.minutes += max(left, 0)
    share_minutes(deals, deal_time)

    items = [i for i in (follow_up, focus, *deals, plan_item, topic_item) if i is not None]
    version = (
        flag.process_version
        if flag is not None
        else analytics.process_version_of(as_of, window_days)
        if as_of
        else None
    )
    return Agenda(
        rep=rep,
        as_of=as_of,
        minutes=minutes,
        items=items,
        topic=topic,
        notes=notes,
        process_version=version,
    )


def ensure_agenda_items(session: Session) -> list[SessionItem]:
    """The session's agenda items; a 1:1 logged without being prepared gets the agenda
    it would have had, so what was covered can be recorded."""
    items = list(session.items.all())
    if not items and session.rep is not None:
        agenda = build_agenda(session.rep, minutes=session.duration_minutes, coach=session.manager)
        save_agenda(session, [i.planned() for i in agenda.items])
        items = list(session.items.all())
    return items
