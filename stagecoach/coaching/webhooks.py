"""Team webhooks: a team's news posted where its manager lives (Slack-compatible JSON).

Four kinds of event go to a team's webhook: a new high-severity red flag about one of
its members, a 1:1's agenda the day before the 1:1, a commitment that became overdue
and a session that was missed. The scheduler queues ``send_webhooks_task`` every
minute while any team has a webhook; the task first records the events it finds
(``collect_events``) and then posts what is due (``deliver_due``). Nothing here runs
in a request: a slow or broken receiver only ever delays the worker by ``WEBHOOK_TIMEOUT``.

Each event has a key (``flag:<person>:<code>:<stage>``, ``agenda:<session>``, ...),
unique per webhook, so finding it again on the next run adds nothing: each event is
posted once. A failed post is tried again after 1 minute, 5 minutes, 30 minutes and
2 hours, then given up and shown as failing on the team's notification page.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from stagecoach.accounts.selectors import team_members, team_tree
from stagecoach.analytics import selectors as analytics
from stagecoach.analytics.models import Flag
from stagecoach.analytics.services import DEFAULT_WINDOW_DAYS
from stagecoach.coaching import digest
from stagecoach.coaching.models import Commitment, Session, TeamWebhook, WebhookDelivery
from stagecoach.coaching.selectors import missed_sessions

logger = logging.getLogger(__name__)

# The wait after the 1st, 2nd, ... failed attempt; after the last one it is given up.
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
# A post being tried is not tried by another worker meanwhile: longer than the timeout.
CLAIM = timedelta(minutes=1)
Kind = WebhookDelivery.Kind


class UnsafeWebhook(ValueError):
    """The address may not be posted to (wrong scheme, an internal address)."""


def check_webhook_url(url: str) -> None:
    """Refuse an address a webhook may not post to; raise ``UnsafeWebhook`` saying why.

    Posting runs on the server, inside its network: an address on a private or
    loopback network would let whoever sets a team's webhook probe and reach internal
    services (SSRF). Only https, and only public addresses, unless DEBUG allows http
    and WEBHOOK_ALLOW_PRIVATE allows the internal network. Checked when the address is
    saved and again before every post, since what a name resolves to may change.
    """
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeWebhook(
            "The address must start with https://."
            if not settings.DEBUG
            else "The address must start with https:// or http://."
        )
    host = parts.hostname
    if not host:
        raise UnsafeWebhook("The address has no host name.")
    if parts.username or parts.password:
        raise UnsafeWebhook("The address may not carry a user name or password.")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise UnsafeWebhook(f"The host {host} could not be found.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise UnsafeWebhook(
                f"{host} is a private, loopback or reserved address; webhooks only post "
                "to the public internet."
            )


# Events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    key: str
    kind: str
    text: str
    link: str
    link_label: str

    def payload(self) -> dict[str, Any]:
        """Slack's incoming-webhook JSON; other chat tools read ``text``."""
        return {
            "text": f"{self.text} {self.link}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": self.text}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"<{self.link}|{self.link_label}>"}],
                },
            ],
        }


def _flag_events(person_ids: list[int]) -> list[Event]:
    as_of = analytics.latest_as_of()
    if as_of is None:
        return []
    flags = analytics.flags_for(person_ids, as_of=as_of, window_days=DEFAULT_WINDOW_DAYS).filter(
        severity=Flag.Severity.HIGH
    )
    events = []
    for flag in flags:
        # The key leaves out the date: the same flag found again by the next refresh
        # is not news.
        line = digest._flag_lines([flag])[0]
        text = f"*High red flag* for {line.person}: {line.title}"
        if line.evidence:
            text += f"\n{line.evidence}"
        events.append(
            Event(
                key=f"flag:{flag.person_id}:{flag.code}:{flag.stage_id or ''}",
                kind=Kind.FLAG,
                text=text,
                link=line.url,
                link_label=f"Open {line.person}",
            )
        )
    return events


def _agenda_events(person_ids: list[int], *, now: datetime) -> list[Event]:
    tomorrow = timezone.localtime(now).date() + timedelta(days=1)
    sessions = Session.objects.filter(
        kind=Session.Kind.ONE_ON_ONE,
        status=Session.Status.SCHEDULED,
        rep_id__in=person_ids,
        scheduled_at__gte=now,
    ).select_related("manager", "rep", "team")
    as_of = analytics.latest_as_of()
    events = []
    for session in sessions:
        local = timezone.localtime(session.scheduled_at)
        if local.date() != tomorrow or session.rep is None:
            continue
        headline = digest._headline(session, now=now, as_of=as_of)
        events.append(
            Event(
                key=f"agenda:{session.pk}",
                kind=Kind.AGENDA,
                text=(
                    f"*Agenda ready* for tomorrow's 1:1 of {session.manager.name} with "
                    f"{session.rep.name} at {local:%H:%M}: {headline}"
                ),
                link=digest._url("session", session.pk),
                link_label="Open the agenda",
            )
        )
    return events


def _overdue_events(person_ids: list[int], *, now: datetime) -> list[Event]:
    today = timezone.localtime(now).date()
    overdue = Commitment.objects.filter(
        owner_id__in=person_ids, status=Commitment.Status.OPEN, due_on__lt=today
    ).select_related("owner")
    events = []
    for commitment in overdue:
        line = digest._commitment_line(commitment, today)
        events.append(
            Event(
                key=f"overdue:{commitment.pk}",
                kind=Kind.OVERDUE,
                text=(
                    f"*Commitment overdue*: {line.owner} promised “{line.action}” "
                    f"by {line.due_on:%a %-d %b}"
                ),
                link=line.url,
                link_label="Open",
            )
        )
    return events


def _missed_events(person_ids: list[int], team_ids: set[int], *, now: datetime) -> list[Event]:
    sessions = (
        missed_sessions(Session.objects.all(), now=now)
        .filter(Q(rep_id__in=person_ids) | Q(rep__isnull=True, team_id__in=team_ids))
        .filter(scheduled_at__gte=now - digest.MISSED_LOOKBACK)
        .select_related("manager", "rep", "team")
    )
    events = []
    for session in sessions:
        who = session.rep.name if session.rep else (session.team.name if session.team else "")
        local = timezone.localtime(session.scheduled_at)
        events.append(
            Event(
                key=f"missed:{session.pk}",
                kind=Kind.MISSED,
                text=(
                    f"*Missed session*: {session.get_kind_display()} of {session.manager.name}"
                    f"{' with ' + who if who else ''} on {local:%a %-d %b %H:%M} "
                    "was neither held nor logged"
                ),
                link=digest._url("session", session.pk),
                link_label="Log or reschedule it",
            )
        )
    return events


def team_events(webhook: TeamWebhook, *, now: datetime) -> list[Event]:
    """Everything a team's webhook should have heard about at ``now``."""
    team_ids = team_tree(webhook.team)
    person_ids = list(team_members(webhook.team).values_list("id", flat=True))
    return [
        *_flag_events(person_ids),
        *_agenda_events(person_ids, now=now),
        *_overdue_events(person_ids, now=now),
        *_missed_events(person_ids, team_ids, now=now),
    ]


def collect_events(*, now: datetime) -> int:
    """Record every event not recorded yet for each webhook; returns how many are new."""
    created = 0
    for webhook in TeamWebhook.objects.select_related("team"):
        known = set(webhook.deliveries.values_list("event", flat=True))
        for event in team_events(webhook, now=now):
            if event.key in known:
                continue
            try:
                # Two workers may find the same event; the unique key keeps one.
                with transaction.atomic():
                    WebhookDelivery.objects.create(
                        webhook=webhook,
                        event=event.key,
                        kind=event.kind,
                        payload=event.payload(),
                        next_attempt_at=now,
                    )
            except IntegrityError:
                continue
            created += 1
    return created


# Delivery ------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could point anywhere, inside the network too: it counts as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, payload: dict[str, Any]) -> None:
    """POST the payload; raise ``OSError`` (or ``UnsafeWebhook``) unless it answers 2xx."""
    check_webhook_url(url)  # https (or http under DEBUG) only: no file: or other schemes
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked just above)
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "stagecoach-webhook"},
        method="POST",
    )
    with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
        response.read(1024)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"could not connect: {exc.reason}"[:300]
    # The message never holds the address: it may be a secret.
    return f"{type(exc).__name__}: {exc}"[:300]


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(*, now: datetime) -> DeliveryResult:
    """Post every delivery whose time has come; schedule a retry for each failure."""
    result = DeliveryResult()
    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).select_related("webhook")
    failing: set[int] = set()
    for delivery in due.order_by("next_attempt_at", "id"):
        if delivery.webhook_id in failing:
            # One timeout per webhook and run: a receiver that is down would otherwise
            # hold the worker for every one of its waiting posts.
            continue
        # Claim it: of two workers on the same delivery, only one update matches.
        claimed = WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + CLAIM)
        if not claimed:
            continue
        delivery.attempts += 1
        try:
            post_json(delivery.webhook.url, delivery.payload)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, HTTPError, timeouts, TLS errors, garbled answers and refused
            # addresses; anything else is a bug and should stop the task loudly.
            failing.add(delivery.webhook_id)
            delivery.last_error = _error_text(exc)
            if delivery.attempts > len(RETRY_AFTER):
                delivery.status = WebhookDelivery.Status.FAILED
                result.given_up += 1
                logger.warning(
                    "webhook of team %s: gave up on %s after %d attempts (%s)",
                    delivery.webhook.team_id,
                    delivery.event,
                    delivery.attempts,
                    delivery.last_error,
                )
            else:
                delivery.next_attempt_at = now + RETRY_AFTER[delivery.attempts - 1]
                result.retrying += 1
            result.errors.append(delivery.last_error)
        else:
            delivery.status = WebhookDelivery.Status.SENT
            delivery.sent_at = now
            delivery.last_error = ""
            result.sent += 1
        delivery.save(
            update_fields=["attempts", "status", "next_attempt_at", "last_error", "sent_at"]
        )
    return result


@dataclass(frozen=True)
class WebhookHealth:
    sent: int
    pending: int
    failed: int
    last_sent_at: datetime | None
    last_error: str

    @property
    def failing(self) -> bool:
        return self.failed > 0


def webhook_health(webhook: TeamWebhook) -> WebhookHealth:
    """How the webhook's posts went, for its settings page."""
    deliveries = webhook.deliveries.all()
    counts = {status: deliveries.filter(status=status).count() for status in WebhookDelivery.Status}
    last_sent = deliveries.filter(status=WebhookDelivery.Status.SENT).order_by("-sent_at").first()
    last_failed = deliveries.exclude(last_error="").order_by("-next_attempt_at", "-id").first()
    return WebhookHealth(
        sent=counts[WebhookDelivery.Status.SENT],
        pending=counts[WebhookDelivery.Status.PENDING],
        failed=counts[WebhookDelivery.Status.FAILED],
        last_sent_at=last_sent.sent_at if last_sent else None,
        last_error=last_failed.last_error if last_failed else "",
    )
