"""The weekly digest: who gets mail, what is in it, and that it stays inside each scope."""

from __future__ import annotations

import smtplib
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.coaching.digest import send_weekly_digest
from stagecoach.coaching.models import Commitment, Session

SKIP_EVIDENCE = {
    "count": 3,
    "of": 10,
    "rate": 0.3,
    "rate_shrunk": 0.25,
    "peers": 0.1,
    "probability": 0.95,
}


def analytics_as_of(day: date | None = None) -> date:
    """The MetricSet row that makes ``latest_as_of`` find the day's flags."""
    day = day or timezone.localdate()
    MetricSet.objects.get_or_create(
        subject="org",
        as_of=day,
        window_days=365,
        defaults={"kind": MetricSet.Kind.ORG, "computed_at": timezone.now(), "data": {}},
    )
    return day


def flag(
    person: Person,
    title: str,
    *,
    severity: str = Flag.Severity.HIGH,
    behaviour: str = "",
    as_of: date | None = None,
) -> Flag:
    return Flag.objects.create(
        person=person,
        as_of=analytics_as_of(as_of),
        window_days=365,
        code="process_skip",
        severity=severity,
        title=title,
        evidence=SKIP_EVIDENCE,
        behaviour=behaviour,
        questions=["What made you move on?"],
        computed_at=timezone.now(),
    )


def session(manager, rep=None, *, days: float, team=None, **fields) -> Session:  # type: ignore[no-untyped-def]
    return Session.objects.create(
        kind=Session.Kind.TEAM_REVIEW if team else Session.Kind.ONE_ON_ONE,
        manager=manager,
        rep=rep,
        team=team,
        scheduled_at=timezone.now() + timedelta(days=days),
        **fields,
    )


def commitment(owner, action: str, *, due_in: int, **fields) -> Commitment:  # type: ignore[no-untyped-def]
    return Commitment.objects.create(
        owner=owner, action=action, due_on=timezone.localdate() + timedelta(days=due_in), **fields
    )


def mail_to(address: str) -> mail.EmailMultiAlternatives:
    found = [m for m in mail.outbox if m.to == [address]]
    assert len(found) == 1, f"expected one digest to {address}, got {len(found)}"
    message = found[0]
    assert isinstance(message, mail.EmailMultiAlternatives)
    return message


def html_of(message: mail.EmailMultiAlternatives) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(html)


@pytest.fixture
def alpha_week(cast):  # type: ignore[no-untyped-def]
    """A week in team Alpha with something in every part of Mona's digest."""
    flag(
        cast.alice,
        "Alice moves deals past Qualification without the exit criteria",
        behaviour="Qualify before proposing",
    )
    flag(cast.alice, "Alice's close dates slip", severity=Flag.Severity.MEDIUM)
    return {
        "alice": session(cast.mona, cast.alice, days=2),
        "bob": session(cast.mona, cast.bob, days=3),
        "review": session(cast.mona, team=cast.alpha, days=1),
        "later": session(cast.mona, cast.alice, days=10),
        "missed": session(cast.mona, cast.bob, days=-5),
        "long_ago": session(cast.mona, cast.bob, days=-40),
        "held": session(cast.mona, cast.alice, days=-6, status=Session.Status.HELD),
        "overdue": commitment(cast.bob, "Send Acme the mutual plan", due_in=-2),
    }


def test_a_manager_gets_flags_sessions_missed_and_overdue_in_html_and_text(
    cast,
    alpha_week,  # type: ignore[no-untyped-def]
) -> None:
    result = send_weekly_digest()
    message = mail_to(cast.mona.email)
    text, html = message.body, html_of(message)
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Alice&#x27;s close dates slip" in html  # escaped in HTML, plain in text
    assert "Alice's close dates slip" in text
    for body in (text, html):
        assert "Alice moves deals past Qualification without the exit criteria" in body
        assert "3 of 10 deals (30%); shrunk 25%" in body
        assert "1:1 with Alice Rep" in body
        assert "Qualify before proposing" in body  # Alice's 1:1 agenda headline
        assert "no behaviour focus" in body  # Bob's: no flag a behaviour can come from
        assert "Team pipeline review: Alpha" in body
        assert "Send Acme the mutual plan" in body
        missed_url = settings.SITE_URL + reverse("session", args=[alpha_week["missed"].pk])
        assert missed_url in body
        assert reverse("session", args=[alpha_week["later"].pk]) not in body
        assert reverse("session", args=[alpha_week["long_ago"].pk]) not in body
        assert reverse("session", args=[alpha_week["held"].pk]) not in body
    assert "1 high, 1 medium, 0 low" in text
    assert result.managers == 1
    assert cast.mona.email in result.recipients


def test_every_link_is_absolute(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    send_weekly_digest()
    html = html_of(mail_to(cast.mona.email))
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert hrefs
    assert all(href.startswith(settings.SITE_URL + "/") for href in hrefs)


def test_only_the_top_five_flags_are_listed(cast) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        flag(cast.alice, f"Finding number {i}", severity=Flag.Severity.LOW)
    flag(cast.bob, "The most severe one", severity=Flag.Severity.HIGH)
    send_weekly_digest()
    text = mail_to(cast.mona.email).body
    assert "The most severe one" in text
    assert sum(f"Finding number {i}" in text for i in range(7)) == 4
    assert "The 5 most severe of 8" in text


def test_only_the_latest_analytics_count(cast) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    flag(cast.alice, "An old finding", as_of=today - timedelta(days=7))
    flag(cast.bob, "This week's finding", as_of=today)
    send_weekly_digest()
    text = mail_to(cast.mona.email).body
    assert "This week's finding" in text
    assert "An old finding" not in text


def test_a_rep_gets_commitments_due_this_week_and_the_next_1on1(cast) -> None:  # type: ignore[no-untyped-def]
    next_one = session(cast.mona, cast.alice, days=2)
    commitment(cast.alice, "Book the demo with Globex", due_in=3)
    commitment(cast.alice, "Call Initech back", due_in=-1)
    commitment(cast.alice, "Read the pricing guide", due_in=10)
    commitment(cast.alice, "Already done", due_in=1, status=Commitment.Status.DONE)
    commitment(cast.mona, "Find Alice a pricing mentor", due_in=2, session=next_one)
    send_weekly_digest()
    message = mail_to(cast.alice.email)
    for body in (message.body, html_of(message)):
        assert "Book the demo with Globex" in body
        assert "Call Initech back" in body
        assert "overdue since" in body
        assert "Find Alice a pricing mentor" in body
        assert "Mona Manager" in body
        assert "Read the pricing guide" not in body
        assert "Already done" not in body
        assert settings.SITE_URL + reverse("session", args=[next_one.pk]) in body
    assert "Bob" not in message.body


def test_nates_digest_never_mentions_alice(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    flag(cast.charlie, "Charlie's early pipeline is thin")
    session(cast.nate, cast.charlie, days=2)
    # Even a session Nate set up with Alice by hand, or her overdue promise in it,
    # stays out: Alice is not in Nate's scope.
    stray = session(cast.nate, cast.alice, days=1)
    commitment(cast.alice, "Alice's promise to Nate", due_in=-3, session=stray)
    send_weekly_digest()
    message = mail_to(cast.nate.email)
    assert "Charlie's early pipeline is thin" in message.body
    for part in (message.subject, message.body, html_of(message)):
        assert "Alice" not in part
        assert "Alpha" not in part
        assert "Bob" not in part


def test_a_manager_without_a_login_gets_their_team_tree(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    flag(cast.charlie, "Charlie's early pipeline is thin")
    user = cast.nate.user
    cast.nate.user = None
    cast.nate.save()
    user.delete()
    send_weekly_digest()
    message = mail_to(cast.nate.email)
    assert "Charlie's early pipeline is thin" in message.body
    assert "Alice" not in message.body + html_of(message)


def test_a_manager_with_nothing_to_report_gets_nothing(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    result = send_weekly_digest()
    assert cast.nate.email not in result.recipients
    assert cast.charlie.email not in result.recipients
    assert all(m.to != [cast.nate.email] for m in mail.outbox)
    assert sorted(result.recipients) == sorted([cast.mona.email, cast.bob.email, cast.alice.email])


def test_nobody_with_nothing_to_say_gets_mail(cast) -> None:  # type: ignore[no-untyped-def]
    result = send_weekly_digest()
    assert result.recipients == []
    assert mail.outbox == []


def test_a_switched_off_login_gets_no_digest(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    cast.mona.user.is_active = False
    cast.mona.user.save()
    send_weekly_digest()
    assert all(m.to != [cast.mona.email] for m in mail.outbox)


def test_the_login_address_is_used_when_the_crm_has_none(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    Person.objects.filter(pk=cast.mona.pk).update(email="")
    cast.mona.user.email = "mona@login.example.com"
    cast.mona.user.save()
    send_weekly_digest()
    assert "Alice moves deals" in mail_to("mona@login.example.com").body


def test_one_refused_address_does_not_stop_the_others(cast, alpha_week, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = mail.EmailMultiAlternatives.send

    def send(self, fail_silently: bool = False) -> int:  # type: ignore[no-untyped-def]
        if self.to == [cast.mona.email]:
            raise smtplib.SMTPRecipientsRefused({cast.mona.email: (550, b"no such user")})
        return original(self, fail_silently)

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", send)
    result = send_weekly_digest()
    assert result.failed == [cast.mona.email]
    assert result.managers == 0
    assert result.reps == 2
    assert {m.to[0] for m in mail.outbox} == {cast.alice.email, cast.bob.email}


def test_a_dry_run_sends_nothing(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    result = send_weekly_digest(dry_run=True)
    assert mail.outbox == []
    assert result.dry_run
    assert cast.mona.email in result.recipients


def test_the_digest_command_dry_run_prints_and_sends_nothing(cast, alpha_week, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("digest", "--dry-run")
    assert mail.outbox == []
    out = capsys.readouterr().out
    assert f"{cast.mona.email} (manager Mona Manager): 2 flags" in out
    assert "Would send 1 manager and 2 rep digest(s)." in out


def test_the_digest_command_to_one_person(cast, alpha_week, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("digest", "--to", cast.mona.email.upper())
    assert [m.to for m in mail.outbox] == [[cast.mona.email]]
    assert "Sent 1 manager and 0 rep digest(s)." in capsys.readouterr().out


def test_the_digest_command_sends_to_everyone(cast, alpha_week) -> None:  # type: ignore[no-untyped-def]
    call_command("digest")
    assert len(mail.outbox) == 3


def test_the_digest_command_rejects_an_unknown_address(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="No person has the address"):
        call_command("digest", "--to", "nobody@example.com")


def test_an_address_with_a_line_break_or_a_list_gets_no_mail_and_stops_no_one(
    cast, alpha_week
) -> None:  # type: ignore[no-untyped-def]
    # Written straight into the database, as an older import or a script could have.
    Person.objects.filter(pk=cast.alice.pk).update(email="alice@example.com\r\nBcc: x@evil.example")
    Person.objects.filter(pk=cast.bob.pk).update(email="bob@example.com, outsider@evil.example")
    result = send_weekly_digest()
    recipients = [to for m in mail.outbox for to in m.to + m.cc + m.bcc]
    assert not any("evil" in r for r in recipients)
    assert cast.mona.email in recipients
    assert result.managers == 1
