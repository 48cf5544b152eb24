"""Who sees what: the scope rules, and every page that shows person data.

Charlie (a rep of another team) and the stranger (a login linked to nobody) must get
a 404 for every page about Alice, and must not see her name anywhere they can go.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from stagecoach.accounts.selectors import (
    get_person_for_user,
    scope_for,
    visible_people,
    visible_teams,
)
from stagecoach.testing.factories import make_opportunity

pytestmark = pytest.mark.django_db


def names(queryset) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.name for p in queryset}


def test_a_rep_sees_only_themselves(cast) -> None:  # type: ignore[no-untyped-def]
    assert names(visible_people(cast.alice.user)) == {"Alice Rep"}
    assert list(visible_teams(cast.alice.user)) == []


def test_a_manager_sees_their_team_and_themselves(cast) -> None:  # type: ignore[no-untyped-def]
    assert names(visible_people(cast.mona.user)) == {"Mona Manager", "Alice Rep", "Bob Rep"}
    assert {t.name for t in visible_teams(cast.mona.user)} == {"Alpha"}


def test_a_manager_sees_sub_teams_and_reports_of_reports(cast) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.accounts.models import Team
    from stagecoach.testing.factories import make_person

    pod = Team.objects.create(name="Alpha pod", parent=cast.alpha)
    dana = make_person("Dana Rep", team=pod)
    # Eve is in no team but reports to Alice's manager through Finn.
    finn = make_person("Finn Lead", role="manager", manager=cast.mona)
    eve = make_person("Eve Rep", manager=finn)
    visible = names(visible_people(cast.mona.user))
    assert {dana.name, finn.name, eve.name} <= visible
    assert "Charlie Rep" not in visible


def _reach(roots: list[int], edges: dict[int, list[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, []))
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_a_managers_scope_matches_walking_the_organisation(seed: int) -> None:
    """Random organisations, loops in the reporting lines and the team tree included:
    the database's answer is the plain walk over every team and person."""
    import random

    from stagecoach.accounts.models import Person, Team
    from stagecoach.accounts.selectors import _managed_by
    from stagecoach.testing.factories import make_person

    rng = random.Random(seed)
    teams = [Team.objects.create(name=f"T{seed}-{i}") for i in range(8)]
    people = [
        make_person(f"P{seed}-{i}", role=rng.choice(["manager", "rep", "rep"])) for i in range(30)
    ]
    for team in teams:
        others = [t for t in teams if t != team]
        team.parent = rng.choice([None, None, *others])  # loops are possible
        team.manager = rng.choice([None, *people])
        team.save()
    for person in people:
        person.team = rng.choice([None, *teams])
        person.manager = rng.choice([None, None, *(p for p in people if p != person)])
        person.save()

    children: dict[int, list[int]] = {}
    for team_id, parent_id in Team.objects.values_list("id", "parent_id"):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(team_id)
    reports: dict[int, list[int]] = {}
    for person_id, manager_id in Person.objects.values_list("id", "manager_id"):
        if manager_id is not None:
            reports.setdefault(manager_id, []).append(person_id)
    for manager in people:
        led = list(Team.objects.filter(manager=manager).values_list("id", flat=True))
        team_ids = _reach(led, children)
        members = Person.objects.filter(team_id__in=team_ids).values_list("id", flat=True)
        assert _managed_by(manager.pk) == (team_ids, _reach([manager.pk, *members], reports))


def test_leaders_and_ops_see_everyone(cast) -> None:  # type: ignore[no-untyped-def]
    everyone = {
        "Alice Rep",
        "Bob Rep",
        "Charlie Rep",
        "Mona Manager",
        "Nate Manager",
        "Lena Leader",
        "Otto Ops",
    }
    assert names(visible_people(cast.lena.user)) == everyone
    assert names(visible_people(cast.otto.user)) == everyone


def test_a_login_without_a_person_sees_nobody(cast) -> None:  # type: ignore[no-untyped-def]
    assert list(visible_people(cast.stranger)) == []
    assert list(visible_teams(cast.stranger)) == []


def test_an_inactive_login_sees_nobody(cast) -> None:  # type: ignore[no-untyped-def]
    cast.lena.user.is_active = False
    cast.lena.user.save()
    cast.lena.user.refresh_from_db()
    assert not scope_for(cast.lena.user).everyone


def test_access_helper_hides_existence(cast) -> None:  # type: ignore[no-untyped-def]
    from django.http import Http404

    with pytest.raises(Http404):
        get_person_for_user(cast.charlie.user, cast.alice.pk)
    with pytest.raises(Http404):
        get_person_for_user(cast.charlie.user, 999_999)


# -- pages ------------------------------------------------------------------------------

# Every page of the app that takes an object id, with how to build it for Alice's data.
# test_every_page_is_in_the_access_matrix fails when a page is added without a row here.
PAGES = {
    "team": lambda c: reverse("team", args=[c.alpha.pk]),
    "person": lambda c: reverse("person", args=[c.alice.pk]),
    "deal": lambda c: reverse("deal", args=[c.deal.pk]),
    "deal-plan-revision": lambda c: reverse("deal-plan-revision", args=[c.deal.pk, c.revision.pk]),
    "imports": lambda c: reverse("imports"),
    "import_detail": lambda c: reverse("import_detail", args=[c.run.pk]),
    "import_file": lambda c: reverse("import_file", args=[c.run.pk, "stage_mapping.csv"]),
    "import_mapping": lambda c: reverse("import_mapping", args=[c.upload_token]),
    "session": lambda c: reverse("session", args=[c.session.pk]),
    "session-prepare": lambda c: reverse("session-prepare", args=[c.session.pk]),
    "session-log": lambda c: reverse("session-log", args=[c.session.pk]),
    "agenda": lambda c: reverse("agenda", args=[c.alice.pk]),
    "team-review": lambda c: reverse("team-review", args=[c.alpha.pk]),
    "skills": lambda c: reverse("skills", args=[c.alice.pk]),
    "team-skills": lambda c: reverse("team-skills", args=[c.alpha.pk]),
    # The team's webhook address is a secret: its managers' and ops admins' only.
    "team-webhook": lambda c: reverse("team-webhook", args=[c.alpha.pk]),
    "development": lambda c: reverse("development", args=[c.alice.pk]),
    "action-plan": lambda c: reverse("action-plan", args=[c.action_plan.pk]),
    "action-plan-new": lambda c: reverse("action-plan-new", args=[c.alice.pk]),
    "impact": lambda c: reverse("impact"),
    "coaching-health": lambda c: reverse("coaching-health"),
    "coaching-health-csv": lambda c: reverse("coaching-health-csv"),
    "scorecard": lambda c: reverse("scorecard", args=[c.mona.pk]),
    "scorecard-csv": lambda c: reverse("scorecard-csv", args=[c.mona.pk]),
    "self-assessment": lambda c: reverse("self-assessment"),
    # A manager's coaching skills: theirs and those above them; observing is the leader's.
    "coaching-skills": lambda c: reverse("coaching-skills", args=[c.mona.pk]),
    "observation-new": lambda c: reverse("observation-new", args=[c.session.pk]),
    "audit-log": lambda c: reverse("audit-log"),
    "audit-log-csv": lambda c: reverse("audit-log-csv"),
    # Pages for those who coach: never for a rep or a login linked to nobody.
    "cadence": lambda c: reverse("cadence"),
    "session-new": lambda c: reverse("session-new"),
    # The process area: the map for everyone with a place in the organisation, what
    # winners do for those who coach or lead, the editor for ops.
    "process-map": lambda c: reverse("process-map"),
    "process-versions": lambda c: reverse("process-versions"),
    "process-version": lambda c: reverse("process-version", args=[1]),
    "process-discovered": lambda c: reverse("process-discovered"),
    "process-winners": lambda c: reverse("process-winners"),
    "process-stage-edit": lambda c: reverse("process-stage-edit", args=[c.deal.stage_id]),
    "process-stage-add": lambda c: reverse("process-stage-add", args=[c.deal.pipeline_id]),
    "process-pipeline-add": lambda c: reverse("process-pipeline-add"),
    # The survey: results for those who coach or lead, answers for those who sell.
    "survey-round": lambda c: reverse("survey-round", args=[c.survey.pk]),
    "survey-answer": lambda c: reverse("survey-answer", args=[c.survey.pk]),
    "survey-customers": lambda c: reverse("survey-customers", args=[c.survey.pk]),
    "survey": lambda c: reverse("survey"),
    "survey-compare": lambda c: reverse("survey-compare"),
}
# Pages without an object id: they must render for anyone logged in, showing only
# what the login may see.
LISTS = {
    "home": lambda c: reverse("home"),
    "teams": lambda c: reverse("teams"),
    "coaching": lambda c: reverse("coaching"),
    "topics": lambda c: reverse("topics"),
    "calendar": lambda c: reverse("calendar"),
    # Each login's own API tokens, never anyone else's.
    "api-tokens": lambda c: reverse("api-tokens"),
}
PUBLIC = {"login", "logout"}
# Answers to its private token only, never to a login (test_feeds.py).
TOKEN = {"calendar-feed", "survey-customer"}

# State-changing endpoints: (how to build the URL, what to post, who may). Every login
# not listed gets a 404 and changes nothing; anonymous is sent to the login page.
LEADS = {"mona", "lena", "otto"}
ACTIONS = {
    "refresh_analytics": (lambda c: reverse("refresh_analytics"), {}, LEADS | {"nate"}),
    "topic-delete": (lambda c: reverse("topic-delete", args=[c.topic.pk]), {}, {"lena", "otto"}),
    "session-count": (
        lambda c: reverse("session-count", args=[c.session.pk]),
        {"notes": "How did it go? Send the proposal."},
        LEADS,
    ),
    "commitment-status": (
        lambda c: reverse("commitment-status", args=[c.commitment.pk]),
        {"status": "done"},
        LEADS | {"alice"},
    ),
    "team-review-log": (lambda c: reverse("team-review-log", args=[c.alpha.pk]), {}, LEADS),
    "plan-new": (lambda c: reverse("plan-new", args=[c.alice.pk]), {}, LEADS),
    "plan-close": (lambda c: reverse("plan-close", args=[c.action_plan.plan_id]), {}, LEADS),
    "win-new": (lambda c: reverse("win-new", args=[c.alice.pk]), {}, LEADS),
    "action-plan-check-in": (
        lambda c: reverse("action-plan-check-in", args=[c.action_plan.pk]),
        {},
        LEADS,
    ),
    "action-plan-close": (
        lambda c: reverse("action-plan-close", args=[c.action_plan.pk]),
        {},
        LEADS,
    ),
    "action-done": (
        lambda c: reverse("action-done", args=[c.plan_action.pk]),
        {"done": "1"},
        LEADS | {"alice"},
    ),
    "process-decide": (
        lambda c: reverse("process-decide"),
        {"stage": "", "decision": "rejected"},
        {"lena", "otto"},
    ),
    "process-discover-now": (lambda c: reverse("process-discover-now"), {}, {"otto"}),
    "survey-open": (lambda c: reverse("survey-open"), {}, {"otto"}),
    "survey-close": (lambda c: reverse("survey-close", args=[c.survey.pk]), {}, {"otto"}),
    # The deal's owner and her manager tick; leaders and ops read the checklist only.
    "deal-criterion-check": (
        lambda c: reverse("deal-criterion-check", args=[c.deal.pk, c.criterion.pk]),
        {"met": "1"},
        {"alice", "mona"},
    ),
    # The deal owner's manager starts a deal review; whoever leads the session changes
    # the plan in it.
    "deal-review-start": (
        lambda c: reverse("deal-review-start", args=[c.deal.pk]),
        {},
        {"mona"},
    ),
    "deal-review-plan": (
        lambda c: reverse("deal-review-plan", args=[c.deal_review.pk]),
        {"position": "ahead"},
        LEADS,
    ),
    # The deal's owner and her manager edit its plan and buying influences.
    "deal-influence-add": (
        lambda c: reverse("deal-influence-add", args=[c.deal.pk]),
        {"name": "Zed Buyer", "stance": "unknown"},
        {"alice", "mona"},
    ),
    "deal-influence-edit": (
        lambda c: reverse("deal-influence-edit", args=[c.deal.pk, c.influence.pk]),
        {"name": "Cy", "stance": "opposed"},
        {"alice", "mona"},
    ),
    "deal-influence-delete": (
        lambda c: reverse("deal-influence-delete", args=[c.deal.pk, c.influence.pk]),
        {},
        {"alice", "mona"},
    ),
    "deal-plan-save": (
        lambda c: reverse("deal-plan-save", args=[c.deal.pk]),
        {"objective": "A new objective", "position": "ahead"},
        {"alice", "mona"},
    ),
    # The leader rates a manager's coaching skills, the manager rates themselves.
    "coaching-skills-rate": (
        lambda c: reverse("coaching-skills-rate", args=[c.mona.pk]),
        {},
        {"mona", "lena"},
    ),
    # A token is its login's alone: not even a leader revokes Alice's.
    "api-token-revoke": (
        lambda c: reverse("api-token-revoke", args=[c.token.pk]),
        {},
        {"alice"},
    ),
}

IMPORTS = {"imports", "import_detail", "import_file", "import_mapping"}
COACH = {"cadence", "session-new"}
LEAD = {"session", "session-prepare", "session-log", "agenda"}
DEVELOP = {"skills", "team-skills", "development", "action-plan", "action-plan-new", "impact"}
HEALTH = {"coaching-health", "coaching-health-csv"}
AUDIT = {"audit-log", "audit-log-csv"}
SCORECARD = {"scorecard", "scorecard-csv"}
COACHING_SKILLS = {"coaching-skills"}
OBSERVE = {"observation-new"}
PROCESS = {"process-map", "process-versions", "process-version", "process-discovered"}
WINNERS = {"process-winners"}
EDIT = {"process-stage-edit", "process-stage-add", "process-pipeline-add"}
SURVEY = {"survey-round", "survey-compare"}
ANSWER = {"survey-answer", "survey"}
ALLOWED = {
    "alice": {
        "person",
        "deal",
        "deal-plan-revision",
        "session",
        "agenda",
        "skills",
        "development",
        "action-plan",
    }
    | PROCESS
    | ANSWER,
    "bob": PROCESS | ANSWER,
    "mona": {
        "team",
        "person",
        "deal",
        "deal-plan-revision",
        "team-review",
        *LEAD,
        *COACH,
        *DEVELOP,
        *HEALTH,
        *SCORECARD,
        *COACHING_SKILLS,
    }
    | {"self-assessment", "team-webhook"}
    | PROCESS
    | WINNERS
    | SURVEY
    | ANSWER,
    "nate": {*COACH, "impact", *HEALTH, "self-assessment"} | PROCESS | WINNERS | SURVEY | ANSWER,
    "charlie": PROCESS | ANSWER,
    "lena": {
        "team",
        "person",
        "deal",
        "deal-plan-revision",
        "team-review",
        *LEAD,
        *COACH,
        *DEVELOP,
        *HEALTH,
        *SCORECARD,
        *COACHING_SKILLS,
        *OBSERVE,
        *AUDIT,
        *PROCESS,
        *WINNERS,
        *SURVEY,
        "survey",
    },
    "otto": {
        "team",
        "person",
        "deal",
        "deal-plan-revision",
        "team-review",
        *LEAD,
        *COACH,
        *IMPORTS,
        *DEVELOP,
        *HEALTH,
        *SCORECARD,
        *COACHING_SKILLS,
        *AUDIT,
        "team-webhook",
        *PROCESS,
        *WINNERS,
        *EDIT,
        *SURVEY,
        "survey-customers",
        "survey",
    },
    "stranger": set(),
}


@pytest.fixture
def cast(cast, tmp_path):  # type: ignore[no-untyped-def]
    """The shared cast, plus an import run with a file to download."""
    from stagecoach.pipeline.models import ImportRun

    mapping = tmp_path / "stage_mapping.csv"
    mapping.write_text("crm_pipeline,crm_stage,pipeline,stage,kind,how\n")
    cast.run = ImportRun.objects.create(
        format="canonical",
        file_name="export.zip",
        status="succeeded",
        mapping_path=str(mapping),
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    from stagecoach.pipeline.mappings import stash_upload

    # An export of a CRM stagecoach does not know, waiting on the mapping page.
    cast.upload_token = stash_upload(
        [
            SimpleUploadedFile(
                "potentials.csv",
                b"Potential Id,Potential Name,Potential Owner,Stage,Amount,Closing Date\n"
                b"zcrm_1,Deal,Alice,Closed Won,100,2026-01-05\n",
                content_type="text/csv",
            )
        ]
    )
    from django.utils import timezone

    from stagecoach.coaching.models import Commitment, Session

    cast.deal = make_opportunity(cast.alice, name="Alice's matrix deal")
    from stagecoach.process.models import ExitCriterion

    cast.criterion = ExitCriterion.objects.create(stage=cast.deal.stage, text="Pain confirmed")
    cast.session = Session.objects.create(
        kind=Session.Kind.ONE_ON_ONE,
        manager=cast.mona,
        rep=cast.alice,
        scheduled_at=timezone.now(),
        notes="Alice's 1:1 notes",
    )
    from stagecoach.coaching.deal_review import start_deal_review

    cast.deal_review = start_deal_review(cast.deal, cast.mona, now=timezone.now())
    from stagecoach.strategy.models import Influence
    from stagecoach.strategy.services import PlanData, save_plan

    plan, _ = save_plan(cast.deal, PlanData(objective="Alice's plan"), by=None, at=timezone.now())
    cast.revision = plan.revisions.get()
    cast.influence = Influence.objects.create(opportunity=cast.deal, name="Cy Champion")
    cast.commitment = Commitment.objects.create(
        owner=cast.alice,
        session=cast.session,
        action="Alice's commitment",
        due_on=timezone.localdate(),
    )
    from datetime import timedelta

    from stagecoach.development.models import ActionPlan, DevelopmentPlan

    today = timezone.localdate()
    plan = DevelopmentPlan.objects.create(
        rep=cast.alice, title="Alice's plan", starts_on=today, ends_on=today + timedelta(days=365)
    )
    cast.action_plan = ActionPlan.objects.create(
        plan=plan,
        title="Alice's action plan",
        starts_on=today,
        ends_on=today + timedelta(weeks=6),
        metric="win_rate",
        target=0.3,
    )
    from stagecoach.accounts.services import create_api_token
    from stagecoach.coaching.models import Topic
    from stagecoach.development.models import PlanAction

    cast.token = create_api_token(user=cast.alice.user, name="Alice's sidebar", scope="read").token
    cast.plan_action = PlanAction.objects.create(action_plan=cast.action_plan, text="Role-play")
    cast.topic = Topic.objects.create(
        title="Discovery questions", period="month", starts_on=today, ends_on=today
    )
    from stagecoach.process import versions
    from stagecoach.survey.services import open_round

    versions.record(reason="The map the matrix reads")
    cast.survey = open_round(pipeline=cast.deal.pipeline, title="Spring round", by=None)
    return cast


def _all_url_names() -> set[str]:
    found: set[str] = set()

    def walk(patterns, namespace: str | None = None) -> None:  # type: ignore[no-untyped-def]
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                # The admin has Django's own checks; the API has its own matrix (test_api.py).
                if pattern.namespace in ("admin", "api"):
                    continue
                walk(pattern.url_patterns, pattern.namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns)
    return found


def test_every_page_is_in_the_access_matrix() -> None:
    assert _all_url_names() - set(PAGES) - set(LISTS) - PUBLIC - TOKEN - set(ACTIONS) == set()


@pytest.mark.parametrize("who", sorted(ALLOWED))
@pytest.mark.parametrize("page", sorted(PAGES))
def test_object_pages_allow_or_deny(cast, login, who: str, page: str) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, name="Alice's secret deal")
    client = login(getattr(cast, who))
    response = client.get(PAGES[page](cast))
    if page in ALLOWED[who]:
        assert response.status_code == 200
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("page", sorted(PAGES) + sorted(LISTS))
def test_anonymous_is_sent_to_login(cast, client, page: str) -> None:  # type: ignore[no-untyped-def]
    url = {**PAGES, **LISTS}[page](cast)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["charlie", "nate", "stranger", "bob"])
@pytest.mark.parametrize("page", sorted(LISTS))
def test_lists_never_show_alices_data_to_outsiders(cast, login, who: str, page: str) -> None:  # type: ignore[no-untyped-def]
    make_opportunity(cast.alice, name="Alice's secret deal")
    client = login(getattr(cast, who))
    response = client.get(LISTS[page](cast), follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice" not in body
    assert "secret deal" not in body


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("alice", False),
        ("charlie", False),
        ("stranger", False),
        ("mona", True),
        ("nate", True),
        ("lena", True),
        ("otto", True),
    ],
)
def test_only_managers_leaders_and_ops_can_refresh_the_analytics(cast, login, who, allowed) -> None:  # type: ignore[no-untyped-def]
    from stagecoach.analytics.models import Refresh

    client = login(getattr(cast, who))
    url = reverse("refresh_analytics")
    assert client.get(url).status_code == 405
    response = client.post(url, {"next": "https://evil.example/"})
    if allowed:
        assert response.status_code == 302
        assert response["Location"] == "/"  # never off-site
        assert Refresh.objects.filter(trigger="page").count() == 1
    else:
        assert response.status_code == 404
        assert not Refresh.objects.exists()


def test_refresh_needs_a_csrf_token(cast) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.mona.user)
    assert client.post(reverse("refresh_analytics")).status_code == 403


# -- state changes ----------------------------------------------------------------------

ROLES = sorted(ALLOWED)


def _snapshot() -> dict[str, object]:
    """What the actions change, to prove a refused one changed nothing."""
    from stagecoach.accounts.models import ApiToken
    from stagecoach.analytics.models import Refresh
    from stagecoach.coaching.models import Commitment, Session, Topic
    from stagecoach.development.models import (
        ActionPlan,
        CheckIn,
        DevelopmentPlan,
        PlanAction,
        Win,
    )
    from stagecoach.discovery.models import CandidateDecision
    from stagecoach.process.models import ProcessVersion
    from stagecoach.strategy.models import CriterionCheck, Influence, PlanRevision
    from stagecoach.survey.models import SurveyRound

    return {
        "criterion_checks": CriterionCheck.objects.count(),
        "plan_revisions": PlanRevision.objects.count(),
        "influences": list(Influence.objects.order_by("pk").values_list("pk", "name", "stance")),
        "refreshes": Refresh.objects.count(),
        "topics": Topic.objects.count(),
        "sessions": list(Session.objects.order_by("pk").values_list("pk", "status", "notes")),
        "commitments": list(Commitment.objects.order_by("pk").values_list("pk", "status")),
        "plans": list(DevelopmentPlan.objects.order_by("pk").values_list("pk", "status")),
        "action_plans": list(ActionPlan.objects.order_by("pk").values_list("pk", "status")),
        "actions": list(PlanAction.objects.order_by("pk").values_list("pk", "done_on")),
        "check_ins": CheckIn.objects.count(),
        "wins": Win.objects.count(),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        "decisions": CandidateDecision.objects.count(),
        "versions": ProcessVersion.objects.count(),
        "rounds": list(SurveyRound.objects.order_by("pk").values_list("pk", "closed_at")),
    }


@pytest.mark.parametrize("who", [*ROLES, "anonymous"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_actions_allow_or_deny(cast, client, login, who: str, action: str) -> None:  # type: ignore[no-untyped-def]
    url, data, allowed = ACTIONS[action]
    browser = client if who == "anonymous" else login(getattr(cast, who))
    before = _snapshot()
    response = browser.post(url(cast), data)
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif who in allowed:
        assert response.status_code not in (403, 404), response.status_code
        assert response.status_code < 500
        return
    else:
        assert response.status_code == 404, response.status_code
    assert _snapshot() == before, f"{who} changed something through {action}"


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_page_someone_may_not_open_takes_no_post_from_them(
    cast, login, who: str, page: str
) -> None:  # type: ignore[no-untyped-def]
    """Forms post to the page that shows them: a login refused the page is refused the post."""
    if page in ALLOWED[who]:
        return
    client = login(getattr(cast, who))
    before = _snapshot()
    response = client.post(PAGES[page](cast), {})
    assert response.status_code in (404, 405), response.status_code
    assert _snapshot() == before


def _every_url(cast) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every named URL of the app and the API, with an address built for the cast."""
    from stagecoach.api import api

    builders = {**PAGES, **LISTS, **{name: entry[0] for name, entry in ACTIONS.items()}}
    urls = [(name, build(cast)) for name, build in builders.items()]
    urls += [
        ("calendar-feed", reverse("calendar-feed", args=["x" * 40])),
        ("login", reverse("login")),
        ("logout", reverse("logout")),
        ("admin", reverse("admin:index")),
    ]
    for path in api.get_openapi_schema()["paths"]:
        ids = {
            "person_id": cast.alice.pk,
            "team_id": cast.alpha.pk,
            "session_id": cast.session.pk,
            "commitment_id": cast.commitment.pk,
            "manager_id": cast.mona.pk,
            # Refused before the view runs: any id will do.
            "action_plan_id": 1,
            "opportunity_id": 1,
            "run_id": 1,
            "criterion_id": 1,
            "influence_id": 1,
        }
        urls.append((path, path.format(**ids)))
    return urls


def test_every_state_change_needs_the_csrf_token(cast) -> None:  # type: ignore[no-untyped-def]
    """No view is exempt: a post without the token is refused before the view runs."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.otto.user)
    from stagecoach.api import api

    writes = {path for path, ops in api.get_openapi_schema()["paths"].items() if "post" in ops}
    urls = _every_url(cast)
    assert len(urls) > 40
    accepted = []
    for name, url in urls:
        response = client.post(url, {"status": "done"})
        # A session's post to the API needs the token too (a personal access token does
        # not: a browser never sends one by itself); a read-only route takes no posts.
        refused = 405 if name.startswith("/api/") and name not in writes else 403
        if response.status_code != refused:
            accepted.append(f"{name} ({url}): {response.status_code}")
    assert accepted == []


def test_the_admin_is_for_staff_only(cast, client, login) -> None:  # type: ignore[no-untyped-def]
    url = reverse("admin:index")
    for who in ROLES:
        user = getattr(cast, who)
        user = getattr(user, "user", None) or user
        response = login(getattr(cast, who)).get(url)
        assert response.status_code == (200 if user.is_staff else 302), who
        client.logout()
    assert client.get(url).status_code == 302
