"""The survey's pages: who may open which, and the customer's private link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from stagecoach.survey import services
from stagecoach.survey.models import SurveyResponse, SurveyRound
from stagecoach.survey.tests.conftest import answer_as, customer_answers, extra_reps, first_stage

pytestmark = pytest.mark.django_db

EVERYONE = {"alice", "bob", "charlie", "mona", "nate", "lena", "otto", "stranger"}
RESULTS = {"mona", "nate", "lena", "otto"}
RESPONDENTS = {"alice", "bob", "charlie", "mona", "nate"}
PAGES = {
    "survey": (lambda s: reverse("survey"), EVERYONE - {"stranger"}),
    "survey-round": (lambda s: reverse("survey-round", args=[s.pk]), RESULTS),
    "survey-answer": (lambda s: reverse("survey-answer", args=[s.pk]), RESPONDENTS),
    "survey-customers": (lambda s: reverse("survey-customers", args=[s.pk]), {"otto"}),
    "survey-compare": (lambda s: reverse("survey-compare"), RESULTS),
}
ACTIONS = {
    "survey-open": lambda s: reverse("survey-open"),
    "survey-close": lambda s: reverse("survey-close", args=[s.pk]),
}


def test_every_survey_page_is_in_this_matrix() -> None:
    from stagecoach.survey.urls import urlpatterns

    names = {p.name for p in urlpatterns}
    assert names == set(PAGES) | set(ACTIONS) | {"survey-customer"}


@pytest.mark.parametrize("who", sorted(EVERYONE))
@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_allow_or_deny(
    cast: Any, login: Any, survey: SurveyRound, who: str, page: str
) -> None:
    url, allowed = PAGES[page]
    response = login(getattr(cast, who)).get(url(survey))
    assert response.status_code == (200 if who in allowed else 404)


@pytest.mark.parametrize("page", sorted(PAGES) + sorted(ACTIONS))
def test_anonymous_is_sent_to_login(client: Client, survey: SurveyRound, page: str) -> None:
    url = (PAGES[page][0] if page in PAGES else ACTIONS[page])(survey)
    response = client.post(url) if page in ACTIONS else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", sorted(EVERYONE - {"otto"}))
def test_only_ops_open_and_close_rounds(
    cast: Any, login: Any, survey: SurveyRound, pipeline: Any, who: str
) -> None:
    client = login(getattr(cast, who))
    data = {"pipeline": pipeline.pk, "title": "Sneaky"}
    assert client.post(reverse("survey-open"), data).status_code == 404
    assert client.post(reverse("survey-close", args=[survey.pk])).status_code == 404
    survey.refresh_from_db()
    assert survey.is_open
    assert not SurveyRound.objects.filter(title="Sneaky").exists()


def test_ops_open_a_round_make_a_link_and_close_it(cast: Any, login: Any, pipeline: Any) -> None:
    client = login(cast.otto)
    assert client.get(reverse("survey-open")).status_code == 405
    response = client.post(reverse("survey-open"), {"pipeline": pipeline.pk, "title": "Q3"})
    survey = SurveyRound.objects.get(title="Q3")
    assert response["Location"] == reverse("survey-customers", args=[survey.pk])
    again = client.post(reverse("survey-open"), {"pipeline": pipeline.pk, "title": "Q3 again"})
    assert "already has an open survey round" in again.content.decode()

    made = client.post(reverse("survey-customers", args=[survey.pk]), {"label": "Acme Corp"})
    assert made["Cache-Control"] == "no-store"
    link = re.search(r'id="new-link">([^<]+)<', made.content.decode())
    assert link is not None
    token = link.group(1).rsplit("/", 2)[-2]
    # Shown once: the list afterwards names the customer, never the link.
    listing = client.get(reverse("survey-customers", args=[survey.pk])).content.decode()
    assert "Acme Corp" in listing and token not in listing

    client.post(reverse("survey-close", args=[survey.pk]))
    survey.refresh_from_db()
    assert not survey.is_open
    assert Client().get(reverse("survey-customer", args=[token])).status_code == 404


def test_a_rep_answers_and_sees_only_their_own_answers(
    cast: Any, login: Any, survey: SurveyRound
) -> None:
    answer_as(survey, cast.bob, written="Bob's secret habit")
    stage = first_stage(survey)
    client = login(cast.alice)
    url = reverse("survey-answer", args=[survey.pk])
    assert "Bob's secret habit" not in client.get(url).content.decode()
    response = client.post(
        url,
        {
            f"exit_{stage['id']}": ["Account fits the ideal customer profile"],
            f"do_{stage['id']}_other": "Coffee with the champion",
        },
    )
    assert response.status_code == 302
    mine = SurveyResponse.objects.get(person=cast.alice)
    assert {p.label for p in mine.picks.all()} == {
        "Account fits the ideal customer profile",
        "Coffee with the champion",
    }
    page = client.get(url).content.decode()
    assert "Coffee with the champion" in page and "Bob's secret habit" not in page
    # After the round closes her answers are hers to read, not to change.
    services.close_round(survey=survey)
    closed = client.get(url)
    assert closed.status_code == 200 and "Coffee with the champion" in closed.content.decode()
    assert client.post(url, {}).status_code == 404
    # Charlie never answered this round: nothing of it to show him.
    assert login(cast.charlie).get(url).status_code == 404


def test_results_never_name_a_respondent(cast: Any, login: Any, survey: SurveyRound) -> None:
    for rep in [cast.alice, cast.bob, cast.charlie, *extra_reps(2)]:
        answer_as(survey, rep, written=f"Habit of {rep.name}")
    body = login(cast.lena).get(reverse("survey-round", args=[survey.pk])).content.decode()
    assert "Habit of Alice Rep" in body  # five reps: the item is counted, not attributed
    for name in ("Alice Rep", "Bob Rep", "Charlie Rep"):
        assert f"{name}</" not in body and f">{name}" not in body


def test_managers_see_shares_once_the_round_closes(
    cast: Any, login: Any, survey: SurveyRound
) -> None:
    for rep in [cast.alice, cast.bob, cast.charlie, *extra_reps(2)]:
        answer_as(survey, rep, exit_=("Account fits the ideal customer profile",))
    url = reverse("survey-round", args=[survey.pk])
    assert "100%" in login(cast.lena).get(url).content.decode()
    body = login(cast.mona).get(url).content.decode()
    assert "100%" not in body and "once the round has closed" in body
    services.close_round(survey=survey)
    assert "100%" in login(cast.mona).get(url).content.decode()


def test_small_groups_show_no_shares_on_the_page(
    cast: Any, login: Any, survey: SurveyRound
) -> None:
    answer_as(survey, cast.alice, exit_=("Account fits the ideal customer profile",))
    body = login(cast.otto).get(reverse("survey-round", args=[survey.pk])).content.decode()
    assert "fewer than 5 answered" in body
    assert "100%" not in body


def test_rounds_compare_on_a_page(
    cast: Any, login: Any, survey: SurveyRound, pipeline: Any
) -> None:
    services.close_round(survey=survey)
    later = services.open_round(pipeline=pipeline, title="Autumn", by=None)
    url = reverse("survey-compare") + f"?first={survey.pk}&second={later.pk}"
    assert "→" in login(cast.otto).get(url).content.decode()
    body = login(cast.mona).get(url).content.decode()
    assert "once it has closed" in body


# The customer's link ---------------------------------------------------------------------


@pytest.fixture
def link(survey: SurveyRound) -> str:
    new = services.create_invitation(survey=survey, label="Acme Corp", by=None)
    return reverse("survey-customer", args=[new.token])


def test_the_link_works_without_a_login(client: Client, survey: SurveyRound, link: str) -> None:
    response = client.get(link)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert "How did you buy?" in body
    assert first_stage(survey)["name"] in body
    # Nothing of the organisation beyond its stages and criteria: no people, no pipeline,
    # no round title, no key activities, not even the customer's own label.
    for private in ("Alice", "Otto", "New business", "Spring round", "Prospecting calls", "Acme"):
        assert private not in body


def test_a_customer_answers_and_can_change_the_answer(
    client: Client, survey: SurveyRound, link: str
) -> None:
    ids = [s["id"] for s in survey.stages]
    data = {
        f"step_{ids[0]}": "2",
        f"step_{ids[1]}": "1",
        f"exit_{ids[0]}": ["Account fits the ideal customer profile"],
        f"exit_{ids[1]}_other": "A reference customer called us",
    }
    response = client.post(link, data)
    assert response.status_code == 302 and response["Location"] == link
    answered = SurveyResponse.objects.get(group="customer")
    steps = answered.picks.filter(question="step").order_by("position")
    assert [p.stage_id for p in steps] == [ids[1], ids[0]]
    assert "A reference customer called us" in client.get(link).content.decode()
    client.post(link, {f"step_{ids[0]}": "1"})
    assert answered.picks.count() == 1


def test_two_steps_in_the_same_place_are_refused(
    client: Client, survey: SurveyRound, link: str
) -> None:
    ids = [s["id"] for s in survey.stages]
    response = client.post(link, {f"step_{ids[0]}": "1", f"step_{ids[1]}": "1"})
    assert response.status_code == 200
    assert "same place" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_the_link_needs_the_csrf_token(survey: SurveyRound, link: str) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(link, {}).status_code == 403


@pytest.mark.parametrize("token", ["nope", "x" * 43, "a" * 200])
def test_a_wrong_link_is_a_plain_404(client: Client, survey: SurveyRound, token: str) -> None:
    response = client.get(reverse("survey-customer", args=[token]))
    assert response.status_code == 404
    assert "survey" not in response.content.decode().lower()


def test_a_closed_rounds_link_is_a_404(client: Client, survey: SurveyRound, link: str) -> None:
    services.close_round(survey=survey)
    assert client.get(link).status_code == 404
    assert client.post(link, {}).status_code == 404


def test_many_wrong_links_from_one_address_are_refused(
    client: Client, survey: SurveyRound, link: str
) -> None:
    cache.clear()
    wrong = reverse("survey-customer", args=["w" * 43])
    for _ in range(20):
        assert client.get(wrong, REMOTE_ADDR="10.0.0.9").status_code == 404
    assert client.get(wrong, REMOTE_ADDR="10.0.0.9").status_code == 429
    assert client.get(link, REMOTE_ADDR="10.0.0.9").status_code == 429
    assert client.get(link, REMOTE_ADDR="10.0.0.10").status_code == 200


def test_an_answered_customer_is_counted_on_the_results(
    cast: Any, login: Any, survey: SurveyRound
) -> None:
    customer_answers(survey, "Acme")
    body = login(cast.otto).get(reverse("survey-round", args=[survey.pk])).content.decode()
    assert re.search(r"Customers who answered</div><div class=\"value\">1<", body)


@pytest.mark.parametrize(
    ("who", "shown"),
    [("alice", True), ("mona", True), ("lena", True), ("otto", True), ("stranger", False)],
)
def test_the_process_area_offers_the_survey(cast: Any, login: Any, who: str, shown: bool) -> None:
    body = login(getattr(cast, who)).get(reverse("process-map"), follow=True).content.decode()
    assert (f'href="{reverse("survey")}"' in body) is shown
