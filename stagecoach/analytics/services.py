"""Running the analytics: load the data, call the engine, store what pages will read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from stagecoach.accounts.models import User
from stagecoach.analytics.engine.compute import Criteria, Results, compute
from stagecoach.analytics.engine.flags import Finding, ProcessMap
from stagecoach.analytics.engine.frames import Data, Window, data_span
from stagecoach.analytics.loading import load_activity_weeks, load_data
from stagecoach.analytics.loading import prepare as prepare_loading
from stagecoach.analytics.models import Flag, MetricSet, Refresh
from stagecoach.lib import heartbeat, locks
from stagecoach.lib.bulk import BulkWriter, json_text
from stagecoach.process import versions
from stagecoach.process.models import PipelineCriterion, Skill, Stage

DEFAULT_WINDOW_DAYS = 365
HEARTBEAT = "refresh"
INTERRUPTED = (
    "interrupted: the process stopped; the previous results are still shown, refresh again"
)
logger = logging.getLogger(__name__)

# Sent after a full refresh has stored its results, with the run, the frames it loaded
# and its window: other apps (development plans' impact) measure from the same data.
refreshed = Signal()
ACTIVITY_WEEKS_LOADED = 14
ProgressFn = Callable[[str, int, int], None]


def end_of_day(day: date) -> datetime:
    """A date the user gives (``--as-of 2026-06-30``) means the end of that day, locally."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=zone)


def process_map() -> ProcessMap:
    stage_skills: dict[int, list[str]] = {}
    # In the order the skills were linked, the stage's first skill first: a flag names it.
    links = Stage.skills.through.objects.order_by("pk").values_list("stage_id", "skill__name")
    for stage_id, skill in links:
        stage_skills.setdefault(stage_id, []).append(skill)
    criteria: dict[int, list[str]] = {}
    for stage in Stage.objects.prefetch_related("exit_criteria"):
        criteria[stage.pk] = [c.text for c in stage.exit_criteria.all()]
    behaviours = {
        name: [line.strip() for line in text.splitlines() if line.strip()]
        for name, text in Skill.objects.values_list("name", "behaviours")
    }
    return ProcessMap(stage_skills=stage_skills, exit_criteria=criteria, behaviours=behaviours)


def pipeline_criteria() -> Criteria:
    """The ops admin's pipeline criteria, in the engine's terms (all pipelines)."""
    min_order: dict[int, int] = {}
    values: dict[str, Any] = {}
    for criterion in PipelineCriterion.objects.filter(is_active=True).select_related("stage"):
        rule = criterion.rule
        if rule == PipelineCriterion.Rule.REACHED_STAGE and criterion.stage is not None:
            min_order[criterion.pipeline_id] = max(
                min_order.get(criterion.pipeline_id, 0), criterion.stage.order
            )
        elif rule == PipelineCriterion.Rule.HAS_AMOUNT:
            values["require_amount"] = True
        elif rule == PipelineCriterion.Rule.MIN_AMOUNT and criterion.amount is not None:
            values["min_amount"] = float(criterion.amount)
        elif rule == PipelineCriterion.Rule.HAS_CLOSE_DATE:
            values["require_close_date"] = True
        elif rule == PipelineCriterion.Rule.CLOSE_DATE_NOT_PAST:
            values["close_date_not_past"] = True
        elif rule == PipelineCriterion.Rule.MAX_DAYS_IN_STAGE and criterion.days is not None:
            values["max_days_in_stage"] = float(criterion.days)
    return Criteria(min_order=min_order, **values)


def compute_results(*, as_of: datetime, window_days: int = DEFAULT_WINDOW_DAYS) -> Results:
    # In the organisation's time zone, so "today" is its calendar day.
    window = Window(as_of=timezone.localtime(as_of), days=window_days)
    data = load_data(activity_since=as_of - timedelta(weeks=ACTIVITY_WEEKS_LOADED))
    return compute(data, window, criteria=pipeline_criteria(), process=process_map())


def _subject(key: str) -> tuple[str, int | None, int | None]:
    kind, _, ident = key.partition(":")
    if kind == "rep":
        return MetricSet.Kind.REP, int(ident), None
    if kind == "team":
        return MetricSet.Kind.TEAM, None, int(ident)
    return (MetricSet.Kind.ORG if key == "org" else MetricSet.Kind.BENCHMARK), None, None


@transaction.atomic
def store(results: Results, *, people: Iterable[int] | None = None) -> tuple[int, int]:
    """Write the results for their date and window; with ``people``, only those reps'
    rows (and every team, org and benchmark row) are replaced."""
    as_of, days = timezone.localtime(results.window.as_of).date(), results.window.days
    # Two requests computing the same missing date would otherwise race to insert it.
    locks.hold_until_commit(as_of.toordinal() * 10_000 + days)
    now = timezone.now()

    scope = set(people) if people is not None else None
    keys = [
        key
        for key in results.groups
        if scope is None or not key.startswith("rep:") or int(key[4:]) in scope
    ]
    existing = MetricSet.objects.filter(as_of=as_of, window_days=days)
    if scope is None:
        existing.delete()
    else:
        existing.filter(subject__in=keys).delete()
    # Written with COPY (PostgreSQL) or one prepared statement (SQLite): as ORM rows,
    # every document was quoted into the SQL text by the driver, 0.6 s of a refresh.
    ops = connection.ops
    day, at = ops.adapt_datefield_value(as_of), ops.adapt_datetimefield_value(now)
    # The figures name the process map they were computed with (versions.record).
    version = versions.current()
    number = version.number if version is not None else None
    _write_metric_sets(results, keys, day=day, days=days, at=at, version=number)

    flags = Flag.objects.filter(as_of=as_of, window_days=days)
    (flags if scope is None else flags.filter(person_id__in=scope)).delete()
    findings = [f for f in results.findings if scope is None or f.person_id in scope]
    _write_flags(findings, day=day, days=days, at=at, version=number)
    if connection.vendor == "postgresql":
        # The planner's statistics know nothing of the date just written: without them
        # it reads every rep's row of the date for a team page's seven (200 ms at
        # 10,000 reps). ANALYZE samples the tables; autovacuum would get there later.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {MetricSet._meta.db_table}, {Flag._meta.db_table}")
    return len(keys), len(findings)


def _write_metric_sets(
    results: Results, keys: list[str], *, day: Any, days: int, at: Any, version: int | None
) -> None:
    columns = ["kind", "subject", "person_id", "team_id", "as_of", "window_days", "computed_at"]
    with BulkWriter(
        connection,
        MetricSet._meta.db_table,
        [*columns, "data", "process_version"],
        batch_size=500,
    ) as writer:
        for key in keys:
            kind, person, team = _subject(key)
            writer.add(
                (kind, key, person, team, day, days, at, json_text(results.groups[key]), version)
            )


def _write_flags(
    findings: list[Finding], *, day: Any, days: int, at: Any, version: int | None
) -> None:
    with BulkWriter(
        connection,
        Flag._meta.db_table,
        [
            "person_id",
            "as_of",
            "window_days",
            "code",
            "severity",
            "stage_id",
            "title",
            "evidence",
            "behaviour",
            "skill",
            "questions",
            "deals",
            "computed_at",
            "process_version",
        ],
        batch_size=1000,
    ) as writer:
        for f in findings:
            writer.add(
                (
                    f.person_id,
                    day,
                    days,
                    f.code,
                    f.severity,
                    f.stage_id,
                    f.title[:300],
                    json_text(f.evidence),
                    f.behaviour[:300],
                    (f.skill or "")[:120],
                    json_text(f.questions),
                    json_text(f.deals),
                    at,
                    version,
                )
            )


def refresh(
    *,
    as_of: datetime | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    people: Iterable[int] | None = None,
    trigger: str = Refresh.Trigger.COMMAND,
    user: User | None = None,
    run: Refresh | None = None,
    progress: ProgressFn | None = None,
) -> Refresh:
    """Recompute and store. With ``people``, only their rows and the group rows change.

    Without ``as_of``, the figures are as of now, unless the data ends before the
    window would start (an old export): then as of the data's newest day, so the window
    holds the data rather than nothing. The run records the data's first and last moment.
    """
    moment = as_of or timezone.now()
    scope = sorted(set(people)) if people is not None else None
    run = run or Refresh.objects.create(
        as_of=moment,
        window_days=window_days,
        trigger=trigger,
        requested_by=user,
        people=scope or [],
    )
    prepare_loading()
    # If the process dies, the beat stops and the scheduler marks the run interrupted.
    with heartbeat.beating(HEARTBEAT, run.pk):
        return _refresh(
            run=run,
            moment=moment,
            window_days=window_days,
            scope=scope,
            progress=progress,
            follow_data=as_of is None,
        )


def _refresh(
    *,
    run: Refresh,
    moment: datetime,
    window_days: int,
    scope: list[int] | None,
    progress: ProgressFn | None,
    follow_data: bool = False,
) -> Refresh:
    run.status = Refresh.Status.RUNNING
    version = versions.current()
    run.process_version = version.number if version is not None else None
    run.save(update_fields=["status", "process_version"])
    started = time.perf_counter()
    timings: dict[str, float] = {}

    # A full refresh has a fourth step: what listens to it (action plans are measured).
    steps = 3 if scope is not None else 4

    def step(name: str, index: int) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 3)
        if progress:
            progress("Refreshing analytics", index, steps)

    try:
        data = load_data(activity_since=moment - timedelta(weeks=ACTIVITY_WEEKS_LOADED))
        run.data_first, run.data_last = data_span(data)
        if follow_data and run.data_last is not None:
            moment, data = _follow_old_data(moment, window_days, run.data_last, data)
            run.as_of = moment
        window = Window(as_of=timezone.localtime(moment), days=window_days)
        stored = MetricSet.objects.filter(as_of=window.today, window_days=window_days)
        if scope is not None and not stored.exists():
            # The first results of a day are everyone's: a refresh of a few people on a
            # new day would otherwise leave everyone else out of that day's figures.
            scope, steps = None, 4
        step("load", 1)
        results = compute(data, window, criteria=pipeline_criteria(), process=process_map())
        step("compute", 2)
        run.groups, run.findings = store(results, people=scope)
        prune()
        step("store", 3)
        if scope is None:
            refreshed.send(sender=Refresh, run=run, data=data, window=window)
            step("follow-up", 4)

        run.status = Refresh.Status.SUCCEEDED
    except Exception as exc:
        run.status = Refresh.Status.FAILED
        run.error = f"{exc.__class__.__name__}: {exc}"
        raise
    finally:
        run.seconds = time.perf_counter() - started
        run.timings = timings
        run.finished_at = timezone.now()
        heartbeat.save_outcome(run)
    return run


def _follow_old_data(
    moment: datetime, window_days: int, last: datetime, data: Data
) -> tuple[datetime, Data]:
    """As of the data's newest day when the whole window would come after it."""
    if last >= moment - timedelta(days=window_days):
        return moment, data
    moment = end_of_day(timezone.localtime(last).date())
    since = moment - timedelta(weeks=ACTIVITY_WEEKS_LOADED)
    logger.info("the data ends on %s, before the window: figures as of that day", moment.date())
    return moment, replace(
        data, activity_weeks=load_activity_weeks(since=since), activity_since=since
    )


def mark_interrupted(run_id: int, *, now: datetime) -> bool:
    """Fail a refresh whose process stopped; False when it had finished meanwhile.

    Results are stored in one transaction, so the pages still show the previous ones.
    """
    with transaction.atomic():
        run = Refresh.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in (Refresh.Status.QUEUED, Refresh.Status.RUNNING):
            return False
        run.status = Refresh.Status.FAILED
        run.error = INTERRUPTED
        run.finished_at = now
        run.save(update_fields=["status", "error", "finished_at"])
    logger.warning("refresh %s was interrupted: its process stopped", run_id)
    return True


def recover_interrupted_refreshes(*, now: datetime) -> list[int]:
    """Mark failed every running refresh whose process stopped beating; their ids."""
    interrupted = []
    for run in Refresh.objects.filter(status=Refresh.Status.RUNNING):
        # A refresh has no start time of its own; it beats before it is marked running.
        alive = heartbeat.is_alive(HEARTBEAT, run.pk, since=run.created_at, now=now)
        if not alive and mark_interrupted(run.pk, now=now):
            interrupted.append(run.pk)
    return interrupted


def ensure_metrics(*, as_of: date | None, window_days: int, run: Refresh | None = None) -> date:
    """Metrics for a date and window someone asked for: computed once, then read.

    No date means the latest computed, else a first refresh that follows the data (an
    old export is shown as of its newest day). A date in the future means today.
    Returns the date the metrics are stored under. ``run``: a claimed on-demand run
    (analytics/ondemand.py) to compute under.
    """
    today = timezone.localdate()
    if as_of is None:
        latest = latest_stored(window_days)
        if latest is not None:
            return latest
        done = refresh(window_days=window_days, trigger=Refresh.Trigger.PAGE, run=run)
        return timezone.localtime(done.as_of).date()
    as_of = min(as_of, today)
    if not MetricSet.objects.filter(as_of=as_of, window_days=window_days).exists():
        moment = timezone.now() if as_of == today else end_of_day(as_of)
        if run is not None:
            run.as_of = moment
        refresh(as_of=moment, window_days=window_days, trigger=Refresh.Trigger.PAGE, run=run)
        evict_on_demand()
    return as_of


def latest_stored(window_days: int) -> date | None:
    latest: date | None = (
        MetricSet.objects.filter(window_days=window_days)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    return latest


def metrics_date(as_of: date | None, window_days: int) -> date:
    """The day asked for, else the latest computed; computed when missing."""
    return ensure_metrics(as_of=as_of, window_days=window_days)


def evict_on_demand(*, keep: int | None = None) -> int:
    """Keep at most ``keep`` (ANALYTICS_ON_DEMAND_KEEP) dates and windows besides the
    latest of the default window, the most recently computed; the rest are forgotten
    and computed again if someone asks. Returns how many were forgotten."""
    keep = settings.ANALYTICS_ON_DEMAND_KEEP if keep is None else keep
    latest = latest_stored(DEFAULT_WINDOW_DAYS)
    pairs = [
        (day, days)
        for day, days in MetricSet.objects.filter(subject="org")
        .order_by("-computed_at", "-id")
        .values_list("as_of", "window_days")
        if (day, days) != (latest, DEFAULT_WINDOW_DAYS)
    ]
    for day, days in pairs[keep:]:
        Flag.objects.filter(as_of=day, window_days=days).delete()
        MetricSet.objects.filter(as_of=day, window_days=days).delete()
    return max(0, len(pairs) - keep)


def prune(*, keep_days: int = 30) -> int:
    """Forget results nobody asked for lately: on-demand dates and windows, older refreshes.

    The latest results of the default window always stay.
    """
    latest = latest_stored(DEFAULT_WINDOW_DAYS)
    cutoff = timezone.now() - timedelta(days=keep_days)
    stale = MetricSet.objects.filter(computed_at__lt=cutoff)
    flags = Flag.objects.filter(computed_at__lt=cutoff)
    if latest is not None:
        stale = stale.exclude(window_days=DEFAULT_WINDOW_DAYS, as_of=latest)
        flags = flags.exclude(window_days=DEFAULT_WINDOW_DAYS, as_of=latest)
    flags.delete()
    deleted, _ = stale.delete()
    return deleted
