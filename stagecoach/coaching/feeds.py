"""Private iCalendar feeds: each person's coaching sessions, for their own calendar app.

Calendar apps cannot log in, so the feed address carries a secret token instead. The
token is the credential: whoever holds the address reads the feed, which is why the
person can make a new address (and so revoke the old one) at any time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe
from icalendar import Calendar, Event

from stagecoach.accounts.models import Person
from stagecoach.accounts.selectors import scope_for
from stagecoach.coaching.models import CalendarFeed, Session, new_token
from stagecoach.coaching.selectors import feed_for_token, visible_sessions

FEED_PAST = timedelta(days=60)
FEED_AHEAD = timedelta(days=120)


def feed_for_person(person: Person) -> CalendarFeed:
    feed, _ = CalendarFeed.objects.get_or_create(person=person)
    return feed


def rotate_feed(person: Person) -> CalendarFeed:
    """Give the person a new feed address; the old one stops working at once."""
    feed = feed_for_person(person)
    feed.token = new_token()
    feed.save(update_fields=["token"])
    return feed


def feed_url(feed: CalendarFeed) -> str:
    return settings.SITE_URL + reverse("calendar-feed", args=[feed.token])


def feed_sessions(person: Person, *, now: datetime) -> QuerySet[Session]:
    """The person's sessions (as manager, rep or attendee) a calendar should show."""
    return (
        Session.objects.filter(
            Q(manager=person) | Q(rep=person) | Q(attendees=person),
            scheduled_at__gte=now - FEED_PAST,
            scheduled_at__lt=now + FEED_AHEAD,
        )
        .exclude(status=Session.Status.CANCELLED)
        .select_related("manager", "rep", "team")
        .distinct()
        .order_by("scheduled_at", "id")
    )


def event_summary(session: Session, person: Person) -> str:
    if session.kind == Session.Kind.TEAM_REVIEW:
        subject = session.team or session.manager
        return f"{session.get_kind_display()}: {subject}"
    # In the rep's own calendar the other party is the manager.
    other = session.manager if session.rep_id == person.pk else (session.rep or session.manager)
    return f"{session.get_kind_display()} with {other}"


def build_calendar(person: Person, *, now: datetime) -> Calendar:
    sessions = list(feed_sessions(person, now=now))
    # A rep attends the team review but may not open its page (it holds teammates'
    # pipelines); the feed links only to pages the person's login can read.
    readable: set[int] = set()
    if person.user is not None:
        readable = set(
            visible_sessions(person.user)
            .filter(pk__in=[s.pk for s in sessions])
            .values_list("pk", flat=True)
        )
    calendar = Calendar()
    calendar.add("prodid", "-//stagecoach//coaching sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"stagecoach: {person.name}")
    calendar.add("x-published-ttl", "PT1H")
    stamp = now.astimezone(UTC)
    for session in sessions:
        event = Event()
        event.add("uid", f"session-{session.pk}@stagecoach")
        event.add("dtstamp", stamp)
        event.add("dtstart", session.scheduled_at.astimezone(UTC))
        event.add(
            "dtend",
            (session.scheduled_at + timedelta(minutes=session.duration_minutes)).astimezone(UTC),
        )
        event.add("summary", event_summary(session, person))
        lines = []
        if session.status == Session.Status.HELD:
            lines.append("Held")
        if session.pk in readable:
            url = settings.SITE_URL + reverse("session", args=[session.pk])
            lines.append(url)
            event.add("url", url)
        if lines:
            event.add("description", "\n".join(lines))
        event.add(
            "status", "CANCELLED" if session.status == Session.Status.CANCELLED else "CONFIRMED"
        )
        calendar.add_component(event)
    return calendar


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    person = feed.person
    # The address outlives nothing else: once the person leaves or their login is
    # switched off, the feed goes too, even if someone kept the address.
    if not person.is_active or person.user is None or not person.user.is_active:
        raise Http404("No such calendar.")
    calendar = build_calendar(person, now=timezone.now())
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="stagecoach.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    person = scope_for(request.user).person
    if person is None:
        return render(request, "coaching/calendar.html", {"person": None})
    if request.method == "POST":
        rotate_feed(person)
        messages.success(request, "Your calendar has a new address; the old one no longer works.")
        return redirect("calendar")
    feed = feed_for_person(person)
    url = feed_url(feed)
    webcal = "webcal://" + url.split("://", 1)[-1]
    return render(
        request,
        "coaching/calendar.html",
        {"person": person, "feed": feed, "feed_url": url, "webcal_url": webcal},
    )
