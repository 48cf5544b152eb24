"""Stored metrics → what the pages draw and print. No queries, no access decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest

from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.lib import figures
from stagecoach.lib.charts import Bar, DurationRow, FunnelStep, Series

WINDOWS = ((90, "90 days"), (180, "6 months"), (365, "12 months"), (730, "2 years"))
ACTIVITY_NAMES = {
    "call": "Calls",
    "email": "Emails",
    "meeting": "Meetings",
    "demo": "Demos",
    "proposal": "Proposals",
    "other": "Other",
}


# What each kind of red flag is called on the pages; the code stays in tooltips and
# the API (docs/red_flags.md describes each).
FLAG_KINDS = {
    "conversion_gap": "Conversion below peers",
    "slow_stage": "Slow in a stage",
    "close_date_slippage": "Close dates slipping",
    "process_skip": "Stages skipped",
    "stalled_deal": "Stalled deals",
    "activity_shortfall": "Activity below target",
    "thin_early_pipeline": "Thin early pipeline",
    "coverage_gap": "Pipeline coverage short of quota",
    "forecast_risk": "Quota at risk",
    "stale_data": "Stale CRM data",
}


def flag_kind(code: str) -> str:
    return FLAG_KINDS.get(code, code.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Period:
    """The window and as-of date a page shows, read from its query string.

    ``notes`` say what the page did with what it was asked: a value it could not use,
    a date outside the data, figures older than today because the data ends earlier.
    """

    as_of: date
    window_days: int
    latest: bool
    notes: tuple[str, ...] = ()
    # The process map version the figures shown were computed with.
    process_version: int | None = None

    @property
    def start(self) -> date:
        return self.as_of - timedelta(days=self.window_days)


@dataclass(frozen=True)
class Requested:
    as_of: date | None
    window_days: int
    notes: tuple[str, ...]


# The same floor as the API's: no sales history predates it.
EARLIEST_AS_OF = date(1900, 1, 1)


def requested_period(request: HttpRequest, *, first: date | None, today: date) -> Requested:
    """``?window=180&as_of=2026-06-30``: what the page may show, and what it could not.

    No as_of (or one it cannot use) means the latest figures. A date before the data
    begins shows its first day; a date after today shows today.
    """
    notes: list[str] = []
    default_label = dict(WINDOWS)[DEFAULT_WINDOW_DAYS]
    raw_window = request.GET.get("window", "")
    window = int(raw_window) if raw_window.isdigit() else DEFAULT_WINDOW_DAYS
    if raw_window and not raw_window.isdigit():
        notes.append(
            f"Ignored window={raw_window[:20]}: not a number of days; showing {default_label}."
        )
    elif window not in dict(WINDOWS):
        choices = ", ".join(label for _, label in WINDOWS)
        notes.append(
            f"Ignored window={raw_window[:20]}: not a window this page offers ({choices}); "
            f"showing {default_label}."
        )
        window = DEFAULT_WINDOW_DAYS
    raw = request.GET.get("as_of", "")
    as_of: date | None = None
    if raw:
        try:
            as_of = date.fromisoformat(raw)
        except ValueError:
            notes.append(
                f"Ignored as_of={raw[:20]}: not a date (YYYY-MM-DD); showing the latest figures."
            )
    if as_of is not None and as_of > today:
        notes.append(f"{as_of:%-d %b %Y} is in the future; showing today.")
        as_of = today
    floor = max(first or EARLIEST_AS_OF, EARLIEST_AS_OF)
    if as_of is not None and as_of < floor:
        notes.append(
            f"The data begins on {floor:%-d %b %Y}; showing that day instead of {as_of:%-d %b %Y}."
            if first
            else "That date is too early; showing the latest figures."
        )
        as_of = floor if first else None
    return Requested(as_of=as_of, window_days=window, notes=tuple(notes))


def stage_rows(group: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(group.get("stages", []), key=lambda s: (s.get("pipeline_id", 0), s["order"]))


def conversion_figure(person_id: int, stage_id: int) -> str:
    """The name a rep's shrunk conversion at a stage has wherever a page prints it."""
    return f"conversion:{person_id}:{stage_id}"


def chance_figure(person_id: int) -> str:
    return f"chance-of-quota:{person_id}"


def flag_title(flag: Any) -> list[tuple[str, str]]:
    """A flag's headline as (text, figure name) pieces, so the numbers it shares with a
    chart are marked as the same figure. Flags stored before the headline named both
    rates keep their stored title."""
    e, person = flag.evidence, flag.person_id
    if flag.code == "conversion_gap" and "resolved" in e and flag.stage_id:
        raw = e["advanced"] / e["resolved"] if e["resolved"] else None
        return [
            (f"Converts {flag.stage.name} at ", ""),
            (_pct(raw), f"conversion-raw:{person}:{flag.stage_id}"),
            (f" raw ({e['advanced']} of {e['resolved']}), ", ""),
            (_pct(e["conversion_shrunk"]), conversion_figure(person, flag.stage_id)),
            (" after shrinking toward the team, against peers' ", ""),
            (_pct(e["peers"]), ""),
        ]
    if flag.code == "forecast_risk" and "p_attain" in e:
        return [
            (figures.chance(e["p_attain"]), chance_figure(person)),
            (" chance of making quota this period", ""),
        ]
    return [(flag.title, "")]


def funnel_steps(
    group: dict[str, Any], *, rep: bool, person_id: int | None = None
) -> list[FunnelStep]:
    """A rep's shrunk conversions with intervals against peers; groups' raw rates.

    With ``person_id``, each rate is marked as the figure a flag's headline names."""
    steps = []
    for stage in stage_rows(group):
        resolved = stage["advanced"] + stage["lost"]
        evidence = stage.get("evidence", "")
        enough = resolved > 0 and not evidence.startswith("not enough")
        steps.append(
            FunnelStep(
                name=stage["stage"],
                rate=(stage.get("conversion_shrunk") if rep else stage.get("conversion"))
                if enough
                else None,
                low=stage.get("conversion_low") if rep else None,
                high=stage.get("conversion_high") if rep else None,
                n=resolved,
                team=stage.get("team_conversion") if rep else stage.get("org_conversion"),
                benchmark=stage.get("benchmark_conversion"),
                flagged=evidence == "gap",
                note="not enough evidence yet" if not enough else "",
                figure=conversion_figure(person_id, stage["stage_id"])
                if rep and person_id is not None
                else "",
            )
        )
    return steps


def duration_rows(group: dict[str, Any]) -> list[DurationRow]:
    return [
        DurationRow(
            name=stage["stage"],
            median=stage.get("median_days"),
            p75=stage.get("p75_days"),
            p90=stage.get("p90_days"),
            median_over=stage.get("median_days_over"),
            p75_over=stage.get("p75_days_over"),
            p90_over=stage.get("p90_days_over"),
            n=stage.get("visits", 0),
            team_median=stage.get("team_typical_days") or stage.get("org_median_days"),
            target=stage.get("target_days"),
            open_ages=stage.get("open_ages", []),
            flagged=stage.get("time_evidence") == "slow",
        )
        for stage in stage_rows(group)
    ]


def week_labels(group: dict[str, Any]) -> list[str]:
    return [date.fromisoformat(d).strftime("%-d %b") for d in group.get("activity_weeks", [])]


def activity_charts(group: dict[str, Any]) -> list[dict[str, Any]]:
    """One trend per activity type with a target or any activity, most important first."""
    charts = []
    order = list(ACTIVITY_NAMES)
    for kind, values in sorted(
        (group.get("activities") or {}).items(),
        key=lambda kv: order.index(kv[0]) if kv[0] in order else 99,
    ):
        if not values.get("target") and not any(values.get("weeks", [])):
            continue
        charts.append(
            {
                "kind": kind,
                "name": ACTIVITY_NAMES.get(kind, kind.title()),
                "series": [Series(name=ACTIVITY_NAMES.get(kind, kind), values=values["weeks"])],
                "target": values.get("target"),
                "per_week": values.get("per_week"),
                "attainment": values.get("attainment"),
                "baseline": values.get("baseline_per_week"),
            }
        )
    return charts


def forecast_view(group: dict[str, Any], person_id: int | None = None) -> dict[str, Any] | None:
    forecast = group.get("forecast")
    if not forecast or not forecast.get("quota"):
        return None
    return {
        **forecast,
        "chance": figures.chance(forecast.get("p_attain")),
        "figure": chance_figure(person_id) if person_id is not None else "",
        "expected_open": expected_from_open(forecast),
        "markers": {"P10": forecast["p10"], "P50": forecast["p50"], "P90": forecast["p90"]},
    }


def pipeline_bars(
    amounts: dict[int, Any], counts: dict[int, int], group: dict[str, Any], symbol: str
) -> list[Bar]:
    return [
        Bar(
            label=stage["stage"],
            value=float(amounts.get(stage["stage_id"], 0) or 0),
            note=_count(counts.get(stage["stage_id"], 0), "deal"),
        )
        for stage in stage_rows(group)
    ]


def _pct(value: Any) -> str:
    return figures.percent(value)


def expected_from_open(forecast: dict[str, Any]) -> float:
    """What the open deals are expected to add, without what is won already. Forecasts
    stored before ``expected_open`` existed hold only the total."""
    if forecast.get("expected_open") is not None:
        return float(forecast["expected_open"])
    return max(float(forecast.get("expected") or 0) - float(forecast.get("won_to_date") or 0), 0.0)


def _count(n: Any, noun: str) -> str:
    """``1 deal``, ``3 deals``: a count with its noun agreeing."""
    number = round(float(n)) if isinstance(n, float) else int(n)
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _days(value: Any, over: Any = None) -> str:
    """Days, or "over N days" for a quantile deals still in the stage keep unknown."""
    if value is None and over is not None:
        return f"over {_count(round(float(over)), 'day')}"
    return "—" if value is None else _count(round(float(value)), "day")


def evidence_lines(
    code: str,
    evidence: dict[str, Any],
    *,
    money: Any,
    stage_names: dict[int, str],
    deal_names: dict[int, str],
) -> list[str]:
    """The numbers behind a flag, in sentences a manager can check."""
    e = evidence
    if code == "conversion_gap":
        low, high = (e.get("interval") or [None, None])[:2]
        return [
            f"Moved on {e['advanced']} of {_count(e['resolved'], 'deal')} that left the stage "
            f"({_pct(e['conversion'])}); {e['open']} still open",
            f"Shrunk toward peers: {_pct(e['conversion_shrunk'])} (90% interval "
            f"{_pct(low)}–{_pct(high)})",
            f"Peers {_pct(e['peers'])} · benchmark {_pct(e.get('benchmark'))}",
            f"Probability of a real gap of {e['margin'] * 100:.0f}% or more: {_pct(e['probability'])}",
        ]
    if code == "slow_stage":
        return [
            f"Median {_days(e['median_days'], e.get('median_days_over'))} across "
            f"{_count(e['visits'], 'visit')}, {e.get('visits_open', 0):,} still in the stage "
            f"(P90 {_days(e['p90_days'], e.get('p90_days_over'))})",
            f"Typical after shrinkage {_days(e['typical_days_shrunk'])}; peers "
            f"{_days(e['peers_typical_days'])}; target {_days(e.get('target_days'))}",
            f"Probability of being {e['factor']:g}× slower or more: {_pct(e['probability'])}",
        ]
    if code == "stalled_deal":
        return [
            f"{deal_names.get(d['id'], 'Deal ' + str(d['id']))}: {_count(d['age_days'], 'day')} in "
            f"{stage_names.get(d['stage_id'], 'its stage')} (usually under {d['limit_days']:.0f}), "
            f"{money(d['amount'])}"
            for d in e["deals"]
        ] + [
            f"Value at stake: {money(e['value_at_stake'])} of {_count(e['open_deals'], 'open deal')}"
        ]
    if code == "activity_shortfall":
        lines = [
            f"Last 4 weeks: {', '.join(str(w) for w in e['weeks'])} — {e['per_week']:.1f} a week "
            f"against a target of {e['target']:g} ({_pct(e.get('attainment'))})"
        ]
        if e.get("baseline_per_week") is not None:
            lines.append(f"The 9 weeks before: {e['baseline_per_week']:.1f} a week")
        lines.append(f"Probability the true rate is under 80% of target: {_pct(e['probability'])}")
        return lines
    if code == "thin_early_pipeline":
        return [
            f"{_count(e['early_open'], 'open deal')} in the first two stages; peers' median "
            f"{e['peers_median']:.0f}",
            f"New deals a week: {e['new_deals_per_week_now']:.1f} now, "
            f"{e['new_deals_per_week_needed']:.1f} needed for the plan",
        ]
    if code == "coverage_gap":
        return [
            f"Qualified pipeline closing by {e['period_end']}: {money(e['pipeline'])} for "
            f"{money(e['remaining'])} of quota left = {e['coverage']:.1f}×",
            f"Needed: {e['required']:.1f}× (win rate of pipeline deals "
            f"{_pct(e.get('win_rate_of_pipeline'))})",
        ]
    if code == "forecast_risk":
        return [
            f"Chance of reaching quota by {e.get('period_end')}: {figures.chance(e['p_attain'])}",
            f"Likely attainment (P10 / P50 / P90): {_pct(e['attainment_p10'])} / "
            f"{_pct(e['attainment_p50'])} / {_pct(e['attainment_p90'])}",
            f"Won {money(e['won_to_date'])} of {money(e['quota'])}; expected "
            f"{money(expected_from_open(e))} more from {_count(e['deals'], 'open deal')}",
        ]
    if code in ("close_date_slippage", "process_skip"):
        return [
            f"{e['count']} of {_count(e['of'], 'deal')} ({_pct(e['rate'])}); shrunk {_pct(e['rate_shrunk'])}",
            f"Peers {_pct(e['peers'])}; probability of a real difference {_pct(e['probability'])}",
        ]
    if code == "stale_data":
        return [
            f"{e['open_past_close_date']} of {_count(e['open_deals'], 'open deal')} past their close date",
            f"{_count(e['stale'], 'open deal')} not moved in 90 days",
            f"Last activity logged: week of {e['last_activity_week'] or 'never'}",
        ]
    return [f"{key}: {value}" for key, value in e.items()]
