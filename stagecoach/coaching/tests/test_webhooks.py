"""Team webhooks: what is posted, once, with retries; who may set one; where it may post.

Posts go to a real HTTP server on 127.0.0.1, started by the test, with internal
addresses allowed for it (they are refused otherwise, see the SSRF tests).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from stagecoach.analytics.models import Flag
from stagecoach.audit.models import AuditEvent
from stagecoach.coaching import webhooks
from stagecoach.coaching.models import Commitment, Session, TeamWebhook, WebhookDelivery
from stagecoach.coaching.scheduler import WEBHOOKS, run_due_jobs
from stagecoach.coaching.tests.test_digest import commitment, flag, session
from stagecoach.coaching.webhooks import UnsafeWebhook, check_webhook_url

SECRET = "T000/B000/XXXXsecretXXXXtokenXXXX"


class Receiver:
    """An incoming-webhook endpoint: keeps what it was sent, answers with ``statuses``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/{SECRET}"

    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    settings.DEBUG = True  # plain http, for the test server
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join()


@pytest.fixture
def hooked(cast, receiver):  # type: ignore[no-untyped-def]
    """Team Alpha posts to the receiver."""
    return TeamWebhook.objects.create(team=cast.alpha, url=receiver.url)


def tomorrow_at(hour: int) -> datetime:
    local = timezone.localtime() + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def alpha_news(cast):  # type: ignore[no-untyped-def]
    """One event of each kind in team Alpha, and some that are not news for it."""
    flag(cast.alice, "Alice moves deals past Qualification without the exit criteria")
    flag(cast.bob, "Bob's close dates slip", severity=Flag.Severity.MEDIUM)
    flag(cast.charlie, "Charlie skips discovery")  # team Beta
    agenda = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE, manager=cast.mona, rep=cast.bob, scheduled_at=tomorrow_at(10)
    )
    session(cast.mona, cast.alice, days=5)  # not tomorrow
    overdue = commitment(cast.alice, "Send the mutual action plan to Acme", due_in=-2)
    commitment(cast.bob, "Call Initech", due_in=3)  # not due yet
    commitment(cast.charlie, "Charlie's promise", due_in=-2)  # team Beta
    missed = session(cast.mona, cast.bob, days=-5)
    session(cast.nate, cast.charlie, days=-5)  # team Beta
    return {"agenda": agenda, "overdue": overdue, "missed": missed}


def post_now(now: datetime | None = None) -> webhooks.DeliveryResult:
    now = now or timezone.now()
    webhooks.collect_events(now=now)
    return webhooks.deliver_due(now=now)


def test_each_kind_of_event_is_posted_as_slack_json(hooked, alpha_news, receiver) -> None:  # type: ignore[no-untyped-def]
    result = post_now()

    assert result.sent == 4
    by_kind = {
        d.kind: d for d in WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SENT)
    }
    assert set(by_kind) == {"flag", "agenda", "overdue", "missed"}
    for body in receiver.bodies:
        assert set(body) == {"text", "blocks"}
        assert body["blocks"][0]["type"] == "section"
        assert body["blocks"][0]["text"]["type"] == "mrkdwn"
        assert body["blocks"][1]["type"] == "context"
        assert body["blocks"][1]["elements"][0]["text"].startswith("<http")
    texts = "\n".join(receiver.texts())
    assert "*High red flag* for Alice Rep: Alice moves deals past Qualification" in texts
    assert "*Agenda ready* for tomorrow's 1:1 of Mona Manager with Bob Rep at 10:00" in texts
    assert "*Commitment overdue*: Alice Rep promised “Send the mutual action plan to Acme”" in texts
    assert "*Missed session*: 1:1 of Mona Manager with Bob Rep" in texts
    assert reverse("session", args=[alpha_news["agenda"].pk]) in texts
    # Nothing about another team, nor what is not (yet) news.
    assert "Charlie" not in texts
    assert [t for t in receiver.texts() if "red flag" in t and "Bob" in t] == []  # medium
    assert "Initech" not in texts


def test_a_second_scheduler_run_posts_nothing_twice(hooked, alpha_news, receiver) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    assert f"{WEBHOOKS}:" in " ".join(run_due_jobs(now=now))
    assert len(receiver.bodies) == 4

    run_due_jobs(now=now + timedelta(minutes=1))
    assert len(receiver.bodies) == 4

    # The next refresh finds the same flag again (a new row, a new date) and a new one.
    cast_alice = alpha_news["overdue"].owner
    flag(
        cast_alice,
        "Alice moves deals past Qualification without the exit criteria",
        as_of=timezone.localdate() + timedelta(days=1),
    )
    new = flag(
        cast_alice, "Alice stalls in Proposal", as_of=timezone.localdate() + timedelta(days=1)
    )
    Flag.objects.filter(pk=new.pk).update(code="stalled")
    run_due_jobs(now=now + timedelta(minutes=2))

    assert len(receiver.bodies) == 5
    assert "Alice stalls in Proposal" in receiver.texts()[-1]
    assert WebhookDelivery.objects.count() == 5


def test_no_job_is_queued_while_no_team_has_a_webhook(cast) -> None:  # type: ignore[no-untyped-def]
    assert not any(job.startswith(WEBHOOKS) for job in run_due_jobs(now=timezone.now()))


def test_a_failed_post_is_retried_a_minute_later(hooked, alpha_news, receiver) -> None:  # type: ignore[no-untyped-def]
    Commitment.objects.all().delete()
    Session.objects.all().delete()
    Flag.objects.exclude(person=alpha_news["overdue"].owner_id).delete()
    receiver.statuses = [500]
    now = timezone.now()

    result = post_now(now)
    assert (result.sent, result.retrying) == (0, 1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == now + timedelta(minutes=1)

    assert webhooks.deliver_due(now=now + timedelta(seconds=30)).sent == 0
    assert webhooks.deliver_due(now=now + timedelta(minutes=1)).sent == 1

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SENT
    assert delivery.attempts == 2
    assert len(receiver.bodies) == 2
    assert receiver.bodies[0] == receiver.bodies[1]


def test_a_post_is_given_up_after_the_last_retry(hooked, alpha_news, receiver, login) -> None:  # type: ignore[no-untyped-def]
    Commitment.objects.all().delete()
    Session.objects.all().delete()
    receiver.statuses = [500] * 10
    now = timezone.now()
    webhooks.collect_events(now=now)
    WebhookDelivery.objects.exclude(kind=WebhookDelivery.Kind.FLAG).delete()

    at = now
    for wait in (timedelta(0), *webhooks.RETRY_AFTER):
        at += wait
        webhooks.deliver_due(now=at)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 5
    assert len(receiver.bodies) == 5

    webhooks.deliver_due(now=at + timedelta(days=1))
    assert len(receiver.bodies) == 5

    client = login(alpha_news["overdue"].owner.manager)
    page = client.get(reverse("team-webhook", args=[hooked.team_id])).content.decode()
    assert "Failing:" in page
    assert "HTTP 500" in page


def test_a_failing_receiver_is_tried_once_per_run(hooked, alpha_news, receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.statuses = [503]
    now = timezone.now()

    result = post_now(now)

    assert (result.sent, result.retrying) == (0, 1)
    assert len(receiver.bodies) == 1
    assert sorted(WebhookDelivery.objects.values_list("attempts", flat=True)) == [0, 0, 0, 1]
    # The next minute the others go out; the failed one waits for its retry.
    assert webhooks.deliver_due(now=now + timedelta(seconds=59)).sent == 3
    assert webhooks.deliver_due(now=now + timedelta(minutes=1)).sent == 1
    assert len(receiver.bodies) == 5


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://user:pass@hooks.example.com/hook",
    ],
)
def test_internal_addresses_are_refused(settings, url: str) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeWebhook):
        check_webhook_url(url)


def test_plain_http_is_refused_unless_debug(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(UnsafeWebhook, match="https"):
        check_webhook_url("http://127.0.0.1/hook")
    check_webhook_url("https://127.0.0.1/hook")


def test_the_page_refuses_a_loopback_address(cast, receiver, login, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client = login(cast.mona)
    response = client.post(reverse("team-webhook", args=[cast.alpha.pk]), {"url": receiver.url})
    assert response.status_code == 200
    assert "private, loopback or reserved" in response.content.decode()
    assert not TeamWebhook.objects.exists()


def test_a_saved_loopback_address_is_not_posted_to_once_disallowed(  # type: ignore[no-untyped-def]
    hooked, alpha_news, receiver, settings
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    result = post_now()
    assert result.sent == 0
    assert receiver.bodies == []
    assert "private, loopback" in WebhookDelivery.objects.first().last_error  # type: ignore[union-attr]


@pytest.mark.parametrize("who", ["mona", "otto"])
def test_the_manager_or_ops_sets_the_webhook_and_it_stays_secret(  # type: ignore[no-untyped-def]
    cast, receiver, login, who
) -> None:
    client = login(getattr(cast, who))
    url = reverse("team-webhook", args=[cast.alpha.pk])
    response = client.post(url, {"url": receiver.url})
    assert response.status_code == 302
    assert TeamWebhook.objects.get(team=cast.alpha).url == receiver.url

    page = client.get(url).content.decode()
    assert "Posting to" in page
    assert SECRET not in page
    assert SECRET[-4:] in page
    logged = list(AuditEvent.objects.filter(object_type="coaching.TeamWebhook"))
    assert logged
    assert all(SECRET not in e.summary + json.dumps(e.detail) for e in logged)

    # An empty box keeps the address; the box never holds it.
    client.post(url, {"url": ""})
    assert TeamWebhook.objects.get(team=cast.alpha).url == receiver.url
    client.post(url, {"url": "", "remove": "on"})
    assert not TeamWebhook.objects.exists()


@pytest.mark.parametrize("who", ["alice", "nate", "charlie", "lena", "stranger"])
def test_others_can_neither_see_nor_change_the_webhook(cast, hooked, login, who) -> None:  # type: ignore[no-untyped-def]
    client = login(getattr(cast, who))
    url = reverse("team-webhook", args=[cast.alpha.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"url": "", "remove": "on"}).status_code == 404
    assert client.post(url, {"url": "https://hooks.example.com/x"}).status_code == 404
    hooked.refresh_from_db()
    assert SECRET in hooked.url


@pytest.mark.parametrize(("who", "shown"), [("mona", True), ("otto", True), ("lena", False)])
def test_the_team_page_links_to_the_notifications_for_who_may_set_them(  # type: ignore[no-untyped-def]
    cast, login, who, shown
) -> None:
    page = login(getattr(cast, who)).get(reverse("team", args=[cast.alpha.pk])).content.decode()
    assert (reverse("team-webhook", args=[cast.alpha.pk]) in page) is shown


def test_a_slow_receiver_never_holds_up_a_page(hooked, alpha_news, receiver, login) -> None:  # type: ignore[no-untyped-def]
    """Posting is the worker's: the pages about the team, its webhook and its sessions
    answer at once, and nothing is posted while they do, even with news waiting."""
    release = threading.Event()
    handler = receiver.server.RequestHandlerClass
    answer = handler.do_POST

    def hang(self: Any) -> None:
        release.wait(10)
        answer(self)

    handler.do_POST = hang  # type: ignore[method-assign]
    client = login(alpha_news["overdue"].owner.manager)
    team = hooked.team_id
    missed = alpha_news["missed"].pk
    requests = [
        ("get", reverse("team", args=[team]), {}),
        ("get", reverse("team-webhook", args=[team]), {}),
        ("post", reverse("team-webhook", args=[team]), {"url": receiver.url}),
        ("get", reverse("coaching"), {}),
        ("get", reverse("session", args=[missed]), {}),
    ]
    try:
        for method, url, data in requests:
            started = time.monotonic()
            response = getattr(client, method)(url, data)
            assert response.status_code in (200, 302), url
            assert time.monotonic() - started < 2, f"{method} {url} waited for the webhook"
        assert receiver.bodies == []
        assert not WebhookDelivery.objects.filter(attempts__gt=0).exists()
    finally:
        release.set()
    # The worker posts the news once it runs.
    assert post_now().sent == 4
