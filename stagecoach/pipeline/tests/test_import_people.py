"""People are who they are across sources: a canonical people.csv written by a RevOps
admin for an org first imported from a Salesforce Data Export names the same people
under other ids. They are matched by e-mail, never duplicated, and no import moves a
team's manager without saying so."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from stagecoach.accounts.models import Person, PersonSourceId, Team
from stagecoach.pipeline.imports import ImportOutcome, run_import

NULL = "000000000000000AAA"
MONA, ANN, OTTO = (f"00500000000000{n}AAA" for n in "123")
R_MGR, R_REP = (f"00E00000000000{n}AAA" for n in "12")


def write(path: Path, rows: list[list[str]], *, quoting: int = csv.QUOTE_MINIMAL) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, quoting=quoting, lineterminator="\r\n").writerows(rows)


def salesforce_export(folder: Path) -> Path:
    """Mona manages the "Sales Reps" role; Ann sells; Otto has left."""
    quoted = csv.QUOTE_ALL
    write(folder / "User.csv", [
        ["Id", "FirstName", "LastName", "Email", "ManagerId", "UserRoleId", "IsActive"],
        [MONA, "Mona", "Lee", "Mona.Lee@Example.com", NULL, R_MGR, "true"],
        [ANN, "Ann", "Rep", "ann@example.com", NULL, R_REP, "true"],
        [OTTO, "Otto", "Gone", "otto@example.com", NULL, R_REP, "false"],
    ], quoting=quoted)  # fmt: skip
    write(folder / "UserRole.csv", [
        ["Id", "Name", "ParentRoleId"], [R_MGR, "Sales Managers", NULL],
        [R_REP, "Sales Reps", R_MGR],
    ], quoting=quoted)  # fmt: skip
    write(folder / "Opportunity.csv", [
        ["Id", "IsDeleted", "Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
         "OwnerId", "CreatedDate"],
        ["006000000000001AAA", "false", "Acme", "Prospecting", "100", "2023-05-01", "false",
         "false", ANN, "2023-01-02 10:00:00"],
    ], quoting=quoted)  # fmt: skip
    return folder


def canonical_export(folder: Path, people: list[list[str]], teams: list[list[str]] | None = None) -> Path:  # fmt: skip
    write(folder / "people.csv", [["person_id", "name", "email", "role", "manager_id", "team"],
                                  *people])  # fmt: skip
    if teams is not None:
        write(folder / "teams.csv", [["team", "parent", "manager_id"], *teams])
    write(folder / "stages.csv", [["stage", "kind"], ["Prospecting", "open"], ["Won", "won"]])
    write(folder / "opportunities.csv", [
        ["opportunity_id", "owner_id", "stage", "created_at"],
        ["c-1", "p-ann", "Prospecting", "2023-02-01"],
    ])  # fmt: skip
    return folder


def imported(format_name: str, path: Path) -> ImportOutcome:
    outcome = run_import(format_name=format_name, path=path)
    assert outcome.ok, outcome.run.error
    return outcome


def ids_of(person: Person) -> dict[str, str]:
    return dict(person.source_ids.values_list("source", "source_id"))


@pytest.mark.django_db
def test_people_csv_matches_salesforce_users_by_email(tmp_path: Path) -> None:
    imported("salesforce", salesforce_export(tmp_path / "sf"))
    before = Person.objects.count()
    mona = Person.objects.get(source_ids__source_id=MONA)
    reps = Team.objects.get(name="Sales Reps")
    assert reps.manager == mona

    # The admin's file: e-mails in another case and with stray spaces, its own ids.
    outcome = imported("canonical", canonical_export(tmp_path / "canon", [
        ["p-mona", "Mona Lee", "  mona.lee@example.com ", "manager", "", "Sales Reps"],
        ["p-ann", "Ann Rep", "ANN@example.com", "rep", "p-mona", "Sales Reps"],
        ["p-otto", "Otto Gone", "otto@example.com", "rep", "p-mona", "Sales Reps"],
    ]))  # fmt: skip

    assert Person.objects.count() == before
    ann = Person.objects.get(source_ids__source_id=ANN)
    assert ids_of(ann) == {"salesforce": ANN, "canonical": "p-ann"}
    assert ids_of(Person.objects.get(pk=mona.pk))["canonical"] == "p-mona"
    # The deal in the canonical file is Ann's, the one person.
    assert ann.opportunities.count() == 2
    matched = [w for w in outcome.report.warnings if "already known from another source" in w]
    assert len(matched) == 3
    assert any("'p-ann' is 'Ann Rep'" in w and "ann@example.com" in w for w in matched)
    assert Team.objects.get(pk=reps.pk).manager_id == mona.pk
    # Nothing in people.csv says Otto is back: he stays inactive.
    assert Person.objects.get(source_ids__source_id=OTTO).is_active is False
    # A second import of the same file finds everyone by id: nothing new to report.
    again = imported("canonical", tmp_path / "canon")
    assert not [w for w in again.report.warnings if "another source" in w]
    assert Person.objects.count() == before


@pytest.mark.django_db
def test_a_later_file_never_moves_a_teams_manager_silently(tmp_path: Path) -> None:
    imported("salesforce", salesforce_export(tmp_path / "sf"))
    mona = Person.objects.get(source_ids__source_id=MONA)
    outcome = imported("canonical", canonical_export(
        tmp_path / "canon",
        [["p-mona", "Mona Lee", "mona.lee@example.com", "manager", "", "Sales Reps"],
         ["p-ann", "Ann Rep", "ann@example.com", "manager", "", "Sales Reps"]],
        teams=[["Sales Reps", "", "p-ann"]],
    ))  # fmt: skip
    assert Team.objects.get(name="Sales Reps").manager_id == mona.pk
    assert any(
        "team 'Sales Reps': this file makes 'Ann Rep' its manager, but it is managed by "
        "'Mona Lee'" in w
        for w in outcome.report.warnings
    )


@pytest.mark.django_db
def test_salesforce_after_people_csv_matches_and_says_who_left(tmp_path: Path) -> None:
    imported("canonical", canonical_export(tmp_path / "canon", [
        ["p-mona", "Mona Lee", "mona.lee@example.com", "manager", "", "Sales Reps"],
        ["p-ann", "Ann Rep", "ann@example.com", "rep", "p-mona", "Sales Reps"],
        ["p-otto", "Otto Gone", "Otto@Example.com", "rep", "p-mona", "Sales Reps"],
    ]))  # fmt: skip
    before = Person.objects.count()
    imported("salesforce", salesforce_export(tmp_path / "sf"))
    otto = Person.objects.get(source_ids__source_id="p-otto")
    assert ids_of(otto) == {"canonical": "p-otto", "salesforce": OTTO}
    assert otto.is_active is False  # the export that says he left is news
    # Only the role-hierarchy teams the canonical file did not have are new; no person is.
    assert Person.objects.count() == before


@pytest.mark.django_db
def test_an_ambiguous_or_taken_email_creates_a_person_and_says_why(tmp_path: Path) -> None:
    imported("canonical", canonical_export(tmp_path / "canon", [
        ["p-1", "Sam One", "sales@example.com", "rep", "", "East"],
        ["p-2", "Sam Two", "sales@example.com", "rep", "", "East"],
        ["p-ann", "Ann Rep", "ann@example.com", "rep", "", "East"],
    ]))  # fmt: skip
    folder = tmp_path / "sf"
    write(folder / "User.csv", [
        ["Id", "Name", "Email", "IsActive"],
        ["005000000000009AAA", "Sales Inbox", "SALES@example.com", "true"],
        [ANN, "Ann Rep", "ann@example.com", "true"],
        ["005000000000008AAA", "Ann Again", "ann@example.com", "true"],
    ])  # fmt: skip
    write(folder / "Opportunity.csv", [
        ["Id", "Name", "StageName", "CloseDate", "IsClosed", "IsWon", "OwnerId", "CreatedDate"],
        ["006000000000001AAA", "Acme", "Prospecting", "2023-05-01", "false", "false", ANN,
         "2023-01-02 10:00:00"],
    ])  # fmt: skip
    before = Person.objects.count()
    outcome = imported("salesforce", folder)
    warnings = outcome.report.warnings
    assert any("2 people already have the e-mail sales@example.com (Sam One, Sam Two)" in w
               for w in warnings)  # fmt: skip
    assert any("'005000000000008AAA': the e-mail ann@example.com belongs to someone who "
               "already has another Salesforce id" in w for w in warnings)  # fmt: skip
    assert Person.objects.count() == before + 2  # the inbox and Ann's second user
    assert PersonSourceId.objects.get(source_id=ANN).person.name == "Ann Rep"
    assert ids_of(Person.objects.get(source_ids__source_id=ANN))["canonical"] == "p-ann"


@pytest.mark.django_db
def test_a_hubspot_export_of_the_same_people_changes_no_role_or_team(tmp_path: Path) -> None:
    imported("salesforce", salesforce_export(tmp_path / "sf"))
    mona = Person.objects.get(source_ids__source_id=MONA)
    team_before, before = mona.team_id, Person.objects.count()
    deals = tmp_path / "hubspot-crm-exports-all-deals-2023-06-01.csv"
    # A stage the process has: an import whose every deal is rejected fails.
    write(deals, [
        ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
         "Create Date", "Pipeline"],
        ["101", "Acme", "Prospecting", "2023-07-01", "Mona Lee (mona.lee@example.com)",
         "100", "2023-05-01 10:00", "Sales Pipeline"],
        ["102", "Globex", "Prospecting", "2023-07-01", "Ann Rep (ANN@example.com)",
         "100", "2023-05-02 10:00", "Sales Pipeline"],
    ])  # fmt: skip
    for _ in range(2):  # the first import matches by e-mail, the second finds the ids
        imported("hubspot", deals)
        mona.refresh_from_db()
        # HubSpot names deal owners, not the organisation: Mona stays a manager in her team.
        assert (mona.role, mona.team_id) == ("manager", team_before)
        assert Team.objects.get(name="Sales Reps").manager_id == mona.pk
    assert ids_of(mona)["hubspot"] == "mona.lee@example.com"
    assert Person.objects.count() == before


@pytest.mark.django_db
def test_people_csv_says_who_has_left_and_a_file_that_does_not_say_brings_no_one_back(
    tmp_path: Path,
) -> None:
    folder = canonical_export(
        tmp_path / "c", [["p-ann", "Ann Rep", "ann@example.com", "rep", "", "East"]]
    )
    people = [["person_id", "name", "email", "role", "manager_id", "team", "active"],
              ["p-ann", "Ann Rep", "ann@example.com", "rep", "", "East", "Active"],
              ["p-bo", "Bo Left", "bo@example.com", "rep", "", "East", "no"],
              ["p-cy", "Cy Odd", "cy@example.com", "rep", "", "East", "on leave"]]  # fmt: skip
    write(folder / "people.csv", people)
    outcome = imported("canonical", folder)
    active = dict(Person.objects.values_list("name", "is_active"))
    assert active == {"Ann Rep": True, "Bo Left": False, "Cy Odd": True}
    assert any("'on leave' is not yes or no: kept as active" in w for w in outcome.report.warnings)

    # A people.csv without the column leaves Bo as he is; one that says "yes" brings him back.
    write(folder / "people.csv", [row[:6] for row in people])
    imported("canonical", folder)
    assert not Person.objects.get(name="Bo Left").is_active
    people[2][6] = "yes"
    write(folder / "people.csv", people)
    imported("canonical", folder)
    assert Person.objects.get(name="Bo Left").is_active


@pytest.mark.django_db
def test_a_deals_export_never_reactivates_someone_who_left(tmp_path: Path) -> None:
    deals = tmp_path / "deals.csv"
    write(deals, [
        ["Record ID", "Deal Name", "Deal Stage", "Deal owner", "Create Date"],
        ["101", "Acme", "Appointment Scheduled", "Ann Rep (ann@example.com)", "2023-05-01 10:00"],
    ])  # fmt: skip
    imported("hubspot", deals)
    Person.objects.filter(name="Ann Rep").update(is_active=False)
    imported("hubspot", deals)
    assert not Person.objects.get(name="Ann Rep").is_active


@pytest.mark.django_db
@pytest.mark.parametrize(
    "written,problem",
    [
        ("ann@example.com\r\nBcc: x@evil.example", "holds a line break"),
        ("ann@example.com, outsider@evil.example", "is more than one address"),
        ("ann@example.com; b@example.com", "is more than one address"),
        ("not an address", "is more than one address"),
        ("ann(at)example.com", "is not a valid address"),
    ],
)
def test_an_e_mail_that_is_not_one_address_is_dropped_and_the_person_kept(
    written: str, problem: str, tmp_path: Path
) -> None:
    folder = canonical_export(tmp_path / "c", [["p-ann", "Ann Rep", written, "rep", "", "East"]])
    outcome = imported("canonical", folder)
    ann = Person.objects.get(name="Ann Rep")
    assert ann.email == ""
    assert any(problem in w and "imported without it" in w for w in outcome.report.warnings)
    assert not outcome.report.rejects


@pytest.mark.django_db
def test_team_names_too_long_to_keep_never_merge_two_teams(tmp_path: Path) -> None:
    stem = "T" * 200
    east, west = stem + " East", stem + " West"
    folder = canonical_export(
        tmp_path / "c",
        [
            ["p-ann", "Ann Rep", "ann@example.com", "rep", "", east],
            ["p-bo", "Bo Rep", "bo@example.com", "rep", "", west],
        ],
        teams=[[east, "", ""], [west, "", ""]],
    )
    outcome = imported("canonical", folder)
    assert not Team.objects.filter(name__startswith=stem).exists()
    assert set(Person.objects.values_list("team", flat=True)) == {None}
    assert outcome.report.table("teams").rejected == 2
    assert sum("longer than 200 characters" in w for w in outcome.report.warnings) == 2
