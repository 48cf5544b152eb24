"""The organisation, team and person pages, and the button that recomputes them.

They show the stored analytics to whoever may see them; access is decided by the access
helpers before anything is read."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST
from django_stubs_ext import WithAnnotations

from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.accounts.selectors import (
    can_administer,
    get_person_for_user,
    get_team_for_user,
    scope_for,
    visible_people,
    visible_teams,
)
from stagecoach.analytics import ondemand, presenters, selectors
from stagecoach.analytics.models import Flag, Refresh
from stagecoach.analytics.ondemand import STALE_AFTER
from stagecoach.analytics.tasks import queue_refresh
from stagecoach.coaching.selectors import may_set_team_webhook
from stagecoach.lib import fragments
from stagecoach.lib.http import query_without
from stagecoach.lib.money import currency_symbol, format_money
from stagecoach.pipeline import selectors as pipeline_selectors
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import Stage
from stagecoach.process.selectors import default_pipeline, open_stages
from stagecoach.strategy.evidence import Evidence, evidence_for, evidence_rows


def _period(request: HttpRequest) -> presenters.Period:
    today = timezone.localdate()
    span = ondemand.data_span()
    asked = presenters.requested_period(request, first=span.first, today=today)
    days = asked.window_days
    scope = scope_for(request.user)
    # Only someone who can see people's data may make the server compute for them.
    if scope.everyone or scope.person is not None:
        user = request.user if isinstance(request.user, User) else None
        as_of = ondemand.ensure_for(user, as_of=asked.as_of, window_days=days)
    else:
        as_of = asked.as_of or selectors.latest_as_of(days) or today
    latest = selectors.latest_as_of(days)
    notes = list(asked.notes)
    if as_of == latest and as_of < today and span.last is not None and span.last <= as_of:
        notes.append(
            f"The data ends on {span.last:%-d %b %Y}, so these figures are as of that day, "
            "not today."
        )
    return presenters.Period(
        as_of=as_of,
        window_days=days,
        latest=as_of == (latest or today),
        notes=tuple(notes),
        process_version=selectors.process_version_of(as_of, days),
    )


def _money(value: Any) -> str:
    return format_money(value, settings.STAGECOACH_CURRENCY)


def flag_views(flags: list[Flag]) -> list[dict[str, Any]]:
    """Each flag with its evidence in sentences and the deals it names, to link them."""
    stage_names = dict(Stage.objects.values_list("id", "name"))
    # One query whether or not a flag names deals (an empty list would skip it), so a
    # page costs the same whichever flags it shows.
    deal_ids = {deal for flag in flags for deal in flag.deals} or {0}
    deal_names = dict(Opportunity.objects.filter(id__in=deal_ids).values_list("id", "name"))
    return [
        {
            "flag": flag,
            "lines": presenters.evidence_lines(
                flag.code,
                flag.evidence,
                money=_money,
                stage_names=stage_names,
                deal_names=deal_names,
            ),
            "deals": [(deal, deal_names[deal]) for deal in flag.deals if deal in deal_names],
            "title": presenters.flag_title(flag),
        }
        for flag in flags
    ]


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A filter change (htmx) gets the analytics part of the page only.

    The dates shown and the notes on the filters sit outside that part, so they come
    along out of band; and the address the browser keeps is the one just answered, so a
    reload or a shared link shows what is on screen.
    """
    if not getattr(request, "htmx", False):
        return render(request, template, context)
    oob = {**context, "oob": True}
    body = (
        render_to_string(f"{template}#analytics", context, request)
        + render_to_string("analytics/_period_label.html", oob, request)
        + render_to_string("analytics/_period_notes.html", oob, request)
    )
    response = HttpResponse(body)
    response["HX-Push-Url"] = request.get_full_path()
    return response


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    """The organisation: every team the login may see, with how each is doing.

    The figures are stored at each refresh; their part of the page is rendered once per
    refresh, period and set of teams (names, managers and member counts included in the
    key), and kept.
    """
    teams = organisation_teams(request.user)
    period = _period(request)
    everyone = scope_for(request.user).everyone
    last_refresh = selectors.last_refresh()
    analytics = fragments.cached(
        fragments.key(
            "organisation",
            last_refresh.pk if last_refresh else None,
            last_refresh.finished_at if last_refresh else None,
            period.as_of,
            period.window_days,
            everyone,
            [
                (t.pk, t.name, t.parent_id, t.manager.name if t.manager else "", t.member_count)
                for t in teams
            ],
        ),
        lambda: _organisation_figures(request, teams, period, everyone=everyone),
    )
    return _render(
        request,
        "analytics/team_list.html",
        {
            "analytics": analytics,
            "period": period,
            "windows": presenters.WINDOWS,
            "dates": selectors.available_dates(period.window_days),
            "can_refresh": can_administer(request.user) or everyone,
            "last_refresh": last_refresh,
        },
    )


class _Members(TypedDict):
    member_count: int


def organisation_teams(user: Any) -> list[WithAnnotations[Team, _Members]]:
    """The teams of the organisation page (and of ``GET /api/org``), with their managers
    and member counts."""
    return list(
        visible_teams(user)
        .select_related("manager")
        .annotate(member_count=Count("members"))
        .order_by("name")
    )


def _organisation_figures(
    request: HttpRequest, teams: Sequence[Team], period: presenters.Period, *, everyone: bool
) -> str:
    figures = organisation_figures(
        teams, as_of=period.as_of, window_days=period.window_days, everyone=everyone
    )
    org = figures["org"]
    return render_to_string(
        "analytics/_team_list_body.html",
        {
            "rows": figures["rows"],
            "org": org,
            "org_funnel": presenters.funnel_steps(org, rep=False) if org else [],
            "org_forecast": presenters.forecast_view(org) if org else None,
            "codes": figures["codes"],
        },
        request,
    )


def organisation_figures(
    teams: Sequence[Team], *, as_of: date, window_days: int, everyone: bool
) -> dict[str, Any]:
    """The organisation page's figures (and ``GET /api/org``'s): the team tree's rows
    with their stored metrics and flag counts; for logins that see everyone, the
    organisation's metrics and its flags by code."""
    subjects = [f"team:{t.pk}" for t in teams] + (["org", "benchmark"] if everyone else [])
    metrics = selectors.metrics_for_subjects(subjects, as_of=as_of, window_days=window_days)
    severity: dict[int, Counter[str]] = defaultdict(Counter)
    people_team = dict(Person.objects.values_list("id", "team_id"))
    flags = (
        selectors.flags_for(
            [p for p, t in people_team.items() if t is not None],
            as_of=as_of,
            window_days=window_days,
        )
        if everyone
        else Flag.objects.none()
    )
    codes: Counter[str] = Counter()
    for person_id, level, code in flags.values_list("person_id", "severity", "code"):
        severity[people_team[person_id]][level] += 1
        codes[code] += 1
    by_parent: dict[int | None, list[Team]] = {}
    ids = {t.pk for t in teams}
    for team in teams:
        parent = team.parent_id if team.parent_id in ids else None
        by_parent.setdefault(parent, []).append(team)

    def tree(parent: int | None, depth: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for team in by_parent.get(parent, []):
            rows.append(
                {
                    "depth": depth,
                    "team": team,
                    "m": metrics.get(f"team:{team.pk}", {}),
                    "flags": severity.get(team.pk, Counter()),
                }
            )
            rows.extend(tree(team.pk, depth + 1))
        return rows

    return {
        "rows": tree(None, 0),
        "org": metrics.get("org"),
        "codes": [(code, presenters.flag_kind(code), n) for code, n in codes.most_common()],
    }


def team_rows(
    reps: list[Person],
    *,
    metrics: dict[str, Any],
    flags: list[Flag],
    stages: list[Any],
    today: date,
    pipelines: dict[int, pipeline_selectors.OpenPipeline] | None = None,
) -> list[dict[str, Any]]:
    """Each rep's row of the team page (and of ``GET /api/teams/{id}``): stored figures,
    open pipeline by stage, flag counts, funnel and calls."""
    if pipelines is None:
        pipelines = pipeline_selectors.open_pipeline_by_owner((r.pk for r in reps), today=today)
    flag_counts: dict[int, Counter[str]] = defaultdict(Counter)
    for flag in flags:
        flag_counts[flag.person_id][flag.severity] += 1
    rows: list[dict[str, Any]] = []
    for rep in reps:
        data = metrics.get(f"rep:{rep.pk}", {})
        rows.append(
            {
                "rep": rep,
                "m": data,
                "pipeline": pipelines[rep.pk],
                "by_stage": [pipelines[rep.pk].by_stage.get(s.pk, 0) for s in stages],
                "flags": flag_counts.get(rep.pk, Counter()),
                "funnel": presenters.funnel_steps(data, rep=True, person_id=rep.pk) if data else [],
                "calls": (data.get("activities") or {}).get("call"),
            }
        )
    return rows


# Sellers listed a page at a time: the top team of a large organisation has every rep.
SELLERS_PER_PAGE = 50


def strategy_evidence(owner_ids: Iterable[int], period: presenters.Period) -> Evidence:
    """Deal strategy's evidence for these sellers: open deals now, closed ones in the window."""
    start = datetime.combine(period.start, time.min, tzinfo=UTC)
    return evidence_for(owner_ids, since=start, now=timezone.now())


@login_required
def team_page(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    period = _period(request)
    today = timezone.localdate()
    # Everyone who sold in the window: a manager who owns deals sells with the team they
    # manage, and someone who has left keeps their history on the page.
    sellers = sorted(
        selectors.team_sellers(
            team,
            visible_people(request.user),
            as_of=period.as_of,
            window_days=period.window_days,
        ),
        key=lambda p: (p.team.name if p.team else "", p.name, p.pk),
    )
    page = Paginator(sellers, SELLERS_PER_PAGE).get_page(request.GET.get("page"))
    reps = list(page.object_list)
    flags = list(
        selectors.flags_for(
            [r.pk for r in reps], as_of=period.as_of, window_days=period.window_days
        )
    )
    flag_total = (
        selectors.flags_for(
            [r.pk for r in sellers], as_of=period.as_of, window_days=period.window_days
        ).count()
        if page.has_other_pages()
        else len(flags)
    )
    flag_items = flag_views(flags)
    page_query = query_without(request, "page")
    pipeline = default_pipeline()
    stages = open_stages(pipeline) if pipeline else []
    pipelines = pipeline_selectors.open_pipeline_by_owner((r.pk for r in reps), today=today)
    total = pipeline_selectors.open_pipeline_total((r.pk for r in sellers), today=today)
    totals = {
        "sellers": len(sellers),
        "count": total.count,
        "amount": total.amount,
        "past_close_date": total.past_close_date,
        "by_stage": [total.by_stage.get(s.pk, 0) for s in stages],
    }

    def figures() -> str:
        metrics = selectors.metrics_for_subjects(
            [f"rep:{r.pk}" for r in reps] + [f"team:{team.pk}", "benchmark"],
            as_of=period.as_of,
            window_days=period.window_days,
        )
        team_data = metrics.get(f"team:{team.pk}")
        return render_to_string(
            "analytics/_team_figures.html",
            {
                "team": team,
                "rows": team_rows(
                    reps,
                    metrics=metrics,
                    flags=flags,
                    stages=stages,
                    today=today,
                    pipelines=pipelines,
                ),
                "page": page,
                "page_query": page_query,
                "team_metrics": team_data,
                "team_funnel": presenters.funnel_steps(team_data, rep=False) if team_data else [],
                "team_forecast": presenters.forecast_view(team_data) if team_data else None,
                "flags": flag_items,
                "flag_total": flag_total,
                "totals": totals,
            },
        )

    # The figures part shows stored results, the sellers' names and the flags' evidence:
    # rendered once for all who see the same, until a refresh or a rename changes them.
    shown = _stored_figures(
        "team-figures",
        period,
        (
            team.pk,
            team.name,
            page.number,
            len(sellers),
            page_query,
            [_seller_key(rep) for rep in reps],
            flag_total,
            [_flag_key(item) for item in flag_items],
        ),
        figures,
    )
    evidence = strategy_evidence((r.pk for r in sellers), period)
    return _render(
        request,
        "analytics/team.html",
        {
            "team": team,
            "figures": shown,
            "evidence": evidence,
            "evidence_rows": evidence_rows(evidence),
            "flags": flag_items,
            "sub_teams": team.children.select_related("manager").order_by("name"),
            "rows": [
                {
                    "rep": rep,
                    "pipeline": pipelines[rep.pk],
                    "by_stage": [pipelines[rep.pk].by_stage.get(s.pk, 0) for s in stages],
                }
                for rep in reps
            ],
            "page": page,
            "page_query": page_query,
            "stages": stages,
            "period": period,
            "windows": presenters.WINDOWS,
            "dates": selectors.available_dates(period.window_days),
            "totals": totals,
            "stale_after": today - timedelta(days=14),
            "can_set_webhook": may_set_team_webhook(request.user, team.pk),
            "can_refresh": True,
            "last_refresh": selectors.last_refresh(),
        },
    )


def _stored_figures(
    name: str, period: presenters.Period, shown: tuple[object, ...], render: Callable[[], str]
) -> SafeString:
    """A page part that shows the stored figures of ``period`` and ``shown`` besides: kept
    until the figures are computed again or anything in ``shown`` changes."""
    version = selectors.figures_version(period.as_of, period.window_days)
    return fragments.cached(fragments.key(name, version, *shown), render)


def _seller_key(person: Person) -> tuple[object, ...]:
    """What a seller's row shows of the person besides their stored figures."""
    return (
        person.pk,
        person.name,
        person.role,
        person.is_active,
        person.team_id,
        person.team.name if person.team else None,
    )


def _flag_key(item: dict[str, Any]) -> tuple[object, ...]:
    """What a flag's part shows besides the stored flag: the deals' and stage's names."""
    flag = item["flag"]
    return (
        flag.pk,
        flag.person.name,
        flag.stage.name if flag.stage else None,
        item["lines"],
        item["deals"],
        item["title"],
    )


@login_required
def person_page(request: HttpRequest, person_id: int) -> HttpResponse:
    person = get_person_for_user(request.user, person_id)
    period = _period(request)
    now = timezone.now()
    opportunities = list(pipeline_selectors.open_opportunities(person))
    summary = pipeline_selectors.open_pipeline_by_owner([person.pk], today=now.date())[person.pk]
    closed = list(pipeline_selectors.recently_closed(person, since=now - timedelta(days=90)))
    for opportunity in opportunities:
        entered = opportunity.stage_entered_at or opportunity.created_at
        opportunity.days_in_stage = (now - entered).days if entered else None  # type: ignore[attr-defined]
    flags = list(
        selectors.flags_for([person.pk], as_of=period.as_of, window_days=period.window_days)
    )
    flag_items = flag_views(flags)

    def figures() -> str:
        data = (
            selectors.metrics(
                f"rep:{person.pk}", as_of=period.as_of, window_days=period.window_days
            )
            or {}
        )
        return render_to_string(
            "analytics/_person_figures.html",
            {
                "person": person,
                "m": data,
                "funnel": presenters.funnel_steps(data, rep=True, person_id=person.pk)
                if data
                else [],
                "durations": presenters.duration_rows(data) if data else [],
                "activities": presenters.activity_charts(data) if data else [],
                "week_labels": presenters.week_labels(data) if data else [],
                "forecast": presenters.forecast_view(data, person.pk) if data else None,
                "pipeline_bars": presenters.pipeline_bars(
                    summary.amount_by_stage, summary.by_stage, data, settings.STAGECOACH_CURRENCY
                )
                if data
                else [],
                "plan": data.get("plan"),
                "quality": data.get("quality"),
                "coverage": data.get("coverage"),
                "flags": flag_items,
                "stages": presenters.stage_rows(data) if data else [],
                "currency_symbol": currency_symbol(),
            },
        )

    # Stored figures and flags, and today's open pipeline by stage for its chart:
    # rendered once until a refresh, an import or a rename changes one of them.
    shown = _stored_figures(
        "person-figures",
        period,
        (
            person.pk,
            person.name,
            sorted(summary.by_stage.items()),
            sorted(summary.amount_by_stage.items()),
            [_flag_key(item) for item in flag_items],
        ),
        figures,
    )
    won = [o for o in closed if o.stage.kind == "won"]
    scope = scope_for(request.user)
    evidence = strategy_evidence([person.pk], period)
    return _render(
        request,
        "analytics/person.html",
        {
            "person": person,
            "figures": shown,
            "evidence": evidence,
            "evidence_rows": evidence_rows(evidence),
            "flags": flag_items,
            "period": period,
            "windows": presenters.WINDOWS,
            "dates": selectors.available_dates(period.window_days),
            "opportunities": opportunities,
            "summary": summary,
            "closed": closed,
            "won_count": len(won),
            "won_amount": sum((o.amount_org or 0 for o in won), start=0),
            "today": now.date(),
            "is_self": scope.person == person,
            "can_refresh": scope.person != person or person.role != Role.REP,
            "last_refresh": selectors.last_refresh(),
        },
    )


@login_required
@require_POST
def refresh_analytics(request: HttpRequest) -> HttpResponse:
    """Managers, leaders and ops may recompute the analytics; reps may not."""
    scope = scope_for(request.user)
    allowed = (
        can_administer(request.user)
        or scope.everyone
        or (scope.person is not None and scope.person.role == Role.MANAGER)
    )
    if not allowed:
        raise Http404("No such page.")
    pending = Refresh.objects.filter(
        status__in=(Refresh.Status.QUEUED, Refresh.Status.RUNNING),
        people=[],
        created_at__gte=timezone.now() - STALE_AFTER,
    ).exclude(trigger=Refresh.Trigger.PAGE, as_of__lt=timezone.now() - timedelta(days=1))
    if pending.exists():
        # One recomputation at a time: pressing again queues nothing more.
        messages.info(request, "The analytics are already being recomputed.")
    else:
        queue_refresh(people=None, trigger=Refresh.Trigger.PAGE, user=request.user)
        messages.info(
            request,
            "The analytics are being recomputed; the page shows the new figures when it is done.",
        )
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
