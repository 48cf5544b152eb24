"""People are who they are: everyone who owned deals in the window has per-person figures.

A Salesforce Data Export written here as a real org has it: the role hierarchy makes a
country manager who owns most deals a manager, and a rep who has left is inactive
(IsActive false). Both must be in `metrics --json`, on the team page and in the team and
benchmark figures; the manager is flagged like any seller; the rep who left is not, and
has no 1:1 agenda. Access does not widen because a manager sells.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from stagecoach.accounts.models import Person, Role, Team, User
from stagecoach.analytics.engine.compute import compute
from stagecoach.analytics.engine.flags import Context
from stagecoach.analytics.engine.metrics import memberships
from stagecoach.analytics.models import Flag, MetricSet
from stagecoach.analytics.services import refresh
from stagecoach.coaching.agenda import build_agenda
from stagecoach.pipeline.imports import run_import

from .test_engine_golden import ALPHA, WINDOW, benchmark_data, frame

NULL = "000000000000000AAA"
VERA, CARLA, ANN, OTTO, BEN, BEA = (f"00500000000000{n}AAA" for n in "123456")
R_VP, R_DE_CM, R_DE_REP, R_UK_CM, R_UK_REP = (f"00E00000000000{n}AAA" for n in "12345")
AS_OF = datetime(2023, 6, 30, 23, 0, tzinfo=UTC)
DAY = AS_OF.date().isoformat()


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """As the Data Export writes files: every field quoted, CRLF, a BOM."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        out.writerow(header)
        out.writerows(rows)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def org_export(folder: Path) -> Path:
    """Carla, DE's country manager, owns 20 deals; Otto left in May after 8; Ann sells
    10 in DE; in the UK, Ben (a selling manager too) and Bea. No ManagerId anywhere: the
    reporting lines are in the role hierarchy, as in most orgs."""
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "User.csv",
          ["Id", "FirstName", "LastName", "Email", "ManagerId", "UserRoleId", "IsActive",
           "Title"], [
        [VERA, "Vera", "Boss", "vera@example.com", NULL, R_VP, "true", "VP Sales"],
        [CARLA, "Carla", "Meyer", "carla@example.com", NULL, R_DE_CM, "true", "Country Manager"],
        [ANN, "Ann", "Weber", "ann@example.com", NULL, R_DE_REP, "true", "AE"],
        [OTTO, "Otto", "Gone", "otto@example.com", NULL, R_DE_REP, "false", "AE"],
        [BEN, "Ben", "Hall", "ben@example.com", NULL, R_UK_CM, "true", "Country Manager"],
        [BEA, "Bea", "Stone", "bea@example.com", NULL, R_UK_REP, "true", "AE"],
    ])  # fmt: skip
    write(folder / "UserRole.csv", ["Id", "Name", "ParentRoleId"], [
        [R_VP, "VP Sales", NULL],
        [R_DE_CM, "Country Manager DE", R_VP], [R_DE_REP, "Sales DE", R_DE_CM],
        [R_UK_CM, "Country Manager UK", R_VP], [R_UK_REP, "Sales UK", R_UK_CM],
    ])  # fmt: skip
    # owner: (won, lost, open stalled in Negotiation since December)
    book = {CARLA: (12, 6, 2), ANN: (6, 4, 1), OTTO: (5, 3, 1), BEN: (4, 2, 0), BEA: (4, 2, 0)}
    deals: list[list[str]] = []
    history: list[list[str]] = []
    n = 0
    for owner, (won, lost, stalled) in book.items():
        for i in range(won + lost + stalled):
            n += 1
            deal = f"006{n:012d}AAA"
            if i < won + lost:
                created = datetime(2023, 1, 2, 9, tzinfo=UTC) + timedelta(days=3 * i)
                end = "Closed Won" if i < won else "Closed Lost"
                steps = [(created, "Qualification"), (created + timedelta(days=4), "Negotiation"),
                         (created + timedelta(days=12), end)]  # fmt: skip
                closed, is_won = "true", "true" if i < won else "false"
            else:
                created = datetime(2022, 12, 1, 9, tzinfo=UTC) + timedelta(days=i)
                steps = [(created, "Qualification"), (created + timedelta(days=4), "Negotiation")]
                closed, is_won = "false", "false"
            last_at, stage = steps[-1]
            deals.append([deal, "false", f"Deal {n}", stage, "1000", "EUR", "50",
                          last_at.date().isoformat(), "New Business", closed, is_won, owner,
                          stamp(created)])  # fmt: skip
            for j, (moment, name) in enumerate(steps):
                history.append([f"008{n:09d}{j:03d}AAA", deal, stamp(moment), name, "1000",
                                last_at.date().isoformat(), "false"])  # fmt: skip
    write(folder / "Opportunity.csv",
          ["Id", "IsDeleted", "Name", "StageName", "Amount", "CurrencyIsoCode", "Probability",
           "CloseDate", "Type", "IsClosed", "IsWon", "OwnerId", "CreatedDate"], deals)  # fmt: skip
    write(folder / "OpportunityHistory.csv",
          ["Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "CloseDate",
           "IsDeleted"], history)  # fmt: skip
    return folder


def person(source_id: str) -> Person:
    return Person.objects.get(source_ids__source_id=source_id)


def team(name: str) -> Team:
    return Team.objects.get(name=name)


def log_in(client: Client, who: Person) -> Client:
    user = User.objects.create_user(email=f"login-{who.pk}@example.com", password="x")
    who.user = user
    who.save(update_fields=["user"])
    client.force_login(user)
    return client


@pytest.fixture
def org(tmp_path: Path) -> None:
    outcome = run_import(format_name="salesforce", path=org_export(tmp_path / "export"))
    assert outcome.ok, outcome.run.error
    refresh(as_of=AS_OF)


def metrics_json(*args: str) -> list[dict]:  # type: ignore[type-arg]
    out = io.StringIO()
    call_command("metrics", "--json", "--as-of", DAY, *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


# -- the import gives them the roles a real org gives them -----------------------------------


@pytest.mark.django_db
def test_the_hierarchy_makes_the_seller_a_manager_and_the_leaver_inactive(org: None) -> None:
    carla, otto = person(CARLA), person(OTTO)
    assert carla.role == Role.MANAGER
    assert team("Sales DE").manager == carla
    assert carla.team == team("Country Manager DE")
    assert (otto.role, otto.is_active, otto.team) == (Role.REP, False, team("Sales DE"))


# -- per-person metrics ----------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_json_lists_the_selling_manager_and_the_rep_who_left(org: None) -> None:
    reports = {r["rep"]: r for r in metrics_json()}
    assert set(reports) == {CARLA, ANN, OTTO, BEN, BEA}  # Vera owns nothing: not listed
    carla, otto = reports[CARLA], reports[OTTO]
    assert (carla["role"], carla["active"]) == ("manager", True)
    assert (carla["won"], carla["lost"], carla["open"]) == (12, 6, 2)
    assert carla["deals_in_window"] == 20
    assert (otto["role"], otto["active"]) == ("rep", False)
    assert (otto["won"], otto["lost"], otto["open"]) == (5, 3, 1)
    assert reports[ANN]["active"] is True
    assert [r["rep"] for r in metrics_json("--rep", OTTO)] == [OTTO]


@pytest.mark.django_db
def test_team_figures_include_the_player_coach_and_the_leaver(org: None) -> None:
    sales_de = MetricSet.objects.get(subject=f"team:{team('Sales DE').pk}", as_of=AS_OF.date())
    # Ann 6/4, Otto 5/3 and Carla, who manages the team, 12/6.
    assert (sales_de.data["won"], sales_de.data["lost"]) == (23, 13)
    org_row = MetricSet.objects.get(subject="org", as_of=AS_OF.date()).data
    assert (org_row["won"], org_row["lost"]) == (31, 17)  # everyone once


@pytest.mark.django_db
def test_flags_go_to_the_selling_manager_never_to_the_rep_who_left(org: None) -> None:
    # Carla, Ann and Otto each have a deal sitting in Negotiation since December.
    stalled = set(Flag.objects.filter(code="stalled_deal").values_list("person_id", flat=True))
    assert stalled == {person(CARLA).pk, person(ANN).pk}
    assert not Flag.objects.filter(person=person(OTTO)).exists()


@pytest.mark.django_db
def test_the_rep_who_left_gets_no_agenda(org: None) -> None:
    otto = person(OTTO)
    agenda = build_agenda(otto, now=AS_OF, as_of=AS_OF.date())
    assert agenda.items == []
    assert agenda.notes == ["Otto Gone is inactive in the CRM: there is no 1:1 to plan."]
    assert build_agenda(person(ANN), now=AS_OF, as_of=AS_OF.date()).items != []


# -- pages -----------------------------------------------------------------------------------


def team_page(client: Client, team_id: int) -> str:
    response = client.get(reverse("team", args=[team_id]), {"as_of": DAY})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_player_coach_sees_herself_and_the_leaver_on_her_team_page(
    org: None, client: Client
) -> None:
    carla = person(CARLA)
    log_in(client, carla)
    response = client.get(reverse("team", args=[team("Sales DE").pk]), {"as_of": DAY})
    assert response.status_code == 200
    rows = {row["rep"].name: row for row in response.context["rows"]}
    assert set(rows) == {"Carla Meyer", "Ann Weber", "Otto Gone"}
    assert rows["Carla Meyer"]["m"]["won"] == 12
    assert rows["Otto Gone"]["m"]["lost"] == 3
    body = response.content.decode()
    otto_cell = body[body.index("Otto Gone") : body.index("Otto Gone") + 400]
    assert ">inactive</span>" in otto_cell
    carla_cell = body[body.index(">Carla Meyer<") : body.index(">Carla Meyer<") + 400]
    assert ">manager</span>" in carla_cell and "inactive" not in carla_cell
    flagged = {f["flag"].person.name for f in response.context["flags"]}
    assert "Otto Gone" not in flagged and "Carla Meyer" in flagged
    person_page = client.get(reverse("person", args=[person(OTTO).pk]), {"as_of": DAY})
    assert ">inactive</span>" in person_page.content.decode()
    assert "Next 1:1 agenda" not in person_page.content.decode()


@pytest.mark.django_db
def test_a_selling_manager_still_sees_no_other_team(org: None, client: Client) -> None:
    log_in(client, person(CARLA))
    uk = team("Sales UK")
    assert client.get(reverse("team", args=[uk.pk])).status_code == 404
    assert client.get(reverse("person", args=[person(BEA).pk])).status_code == 404
    assert client.get(reverse("person", args=[person(BEN).pk])).status_code == 404
    listed = {r["rep"] for r in client.get("/api/metrics", {"as_of": DAY}).json()}
    assert listed == {CARLA, ANN, OTTO}
    flagged = {f["rep"] for f in client.get("/api/flags", {"as_of": DAY}).json()}
    assert flagged <= {CARLA, ANN}
    team_api = client.get(f"/api/teams/{team('Sales DE').pk}/metrics", {"as_of": DAY}).json()
    assert {r["rep"] for r in team_api["reps"]} == {CARLA, ANN, OTTO}


@pytest.mark.django_db
def test_a_stranger_login_sees_nothing(org: None, client: Client) -> None:
    stranger = User.objects.create_user(email="stranger@example.com", password="x")
    client.force_login(stranger)
    for name in ("Sales DE", "Sales UK"):
        assert client.get(reverse("team", args=[team(name).pk])).status_code == 404
    assert client.get(reverse("person", args=[person(CARLA).pk])).status_code == 404
    assert client.get("/api/metrics", {"as_of": DAY}).json() == []
    assert client.get("/api/flags", {"as_of": DAY}).json() == []


# -- the engine's rules, on frames -----------------------------------------------------------


def test_a_manager_belongs_to_the_teams_they_manage() -> None:
    people = frame("people", [(1, "Mia", "manager", 20, True), (2, "Ann", "rep", 10, True)])
    teams = frame("teams", [(10, 20, 1, "Reps"), (20, None, None, "Country")])
    rows = set(memberships(people, teams).iter_rows())
    assert ("team:10", 1) in rows and ("team:20", 1) in rows
    assert ("team:10", 2) in rows and ("team:20", 2) in rows
    assert sum(1 for group, pid in rows if pid == 1) == 4  # rep:1, org, team:20, team:10


@pytest.mark.parametrize(
    ("role", "active", "flaggable"),
    [
        ("rep", True, True),
        ("manager", True, True),
        ("rep", False, False),
        ("manager", False, False),
    ],
)
def test_who_may_be_flagged(role: str, active: bool, flaggable: bool) -> None:
    data = benchmark_data([(7, 3, 2)], [(7, role, active)])
    results = compute(data, WINDOW, simulations=50)
    assert results.groups["rep:7"]["deals_in_window"] == 5
    context = Context(
        data=data.conformed(),
        window=WINDOW,
        groups=results.groups,
        states=pl.DataFrame(),
        skipped=pl.DataFrame(),
        process=None,  # type: ignore[arg-type]
    )
    assert [p for p, _ in context.reps()] == ([7] if flaggable else [])


def test_a_manager_with_no_deal_in_the_window_is_not_flagged() -> None:
    # An active rep is flaggable without deals (activity, pipeline); a manager only sells
    # when they owned deals in the window.
    people = frame("people", [(7, "Mia", "manager", ALPHA, True), (8, "Ann", "rep", ALPHA, True)])
    data = benchmark_data([], [])
    context = Context(
        data=replace(data, people=people).conformed(),
        window=WINDOW,
        groups={"rep:7": {"deals_in_window": 0}, "rep:8": {"deals_in_window": 0}},
        states=pl.DataFrame(),
        skipped=pl.DataFrame(),
        process=None,  # type: ignore[arg-type]
    )
    assert [p for p, _ in context.reps()] == [8]
