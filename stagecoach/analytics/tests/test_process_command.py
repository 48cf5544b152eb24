"""`stagecoach process --json`: the process as deals run it, for the organisation, a
team (leavers' deals included) or a rep."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from stagecoach.accounts.models import Team
from stagecoach.testing.factories import make_opportunity, make_person


def process_json(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("process", "--json", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


@pytest.fixture
def org() -> dict[str, Any]:
    east, west = Team.objects.create(name="East"), Team.objects.create(name="West")
    ann = make_person("Ann East", team=east)
    leaver = make_person("Lee Left", team=east)
    leaver.is_active = False
    leaver.save()
    bob = make_person("Bob West", team=west)
    start = timezone.now() - timedelta(days=60)

    def deal(owner: Any, *stages: str) -> None:
        make_opportunity(
            owner, history=[(s, start + timedelta(days=7 * i)) for i, s in enumerate(stages)]
        )

    deal(ann, "Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won")
    deal(ann, "Prospecting", "Closed Lost")
    deal(leaver, "Prospecting", "Discovery", "Closed Lost")  # skips Qualification
    deal(bob, "Prospecting", "Qualification", "Prospecting")  # goes back
    return {"east": east, "ann": ann, "bob": bob}


@pytest.mark.django_db
def test_the_organisation_team_and_rep_each_see_their_deals_paths(org: dict[str, Any]) -> None:
    whole = process_json("--as-of", timezone.localdate().isoformat())
    assert whole["scope"] == "organisation"
    assert whole["deals"] == 4
    assert whole["conformance"]["share"] == pytest.approx(2 / 4)

    east = process_json("--team", str(org["east"].pk))
    assert east["deals"] == 3  # the leaver's deal is the team's too
    assert {tuple(v["path"]) for v in east["variants"]} == {
        (
            "Prospecting",
            "Qualification",
            "Discovery",
            "Proposal",
            "Negotiation",
            "Closed Won",
        ),
        ("Prospecting", "Closed Lost"),
        ("Prospecting", "Discovery", "Closed Lost"),
    }
    assert [(w["left_by"], w["stage"]) for w in east["conformance"]["where"]] == [
        ("skipped", "Qualification")
    ]

    bob = process_json("--rep", str(org["bob"].pk))
    assert bob["deals"] == 1
    assert [(t["from"], t["to"], t["kind"]) for t in bob["transitions"]] == [
        ("Prospecting", "Qualification", "forward"),
        ("Qualification", "Prospecting", "back"),
    ]


@pytest.mark.django_db
def test_an_unknown_team_or_rep_is_an_error(org: dict[str, Any]) -> None:
    with pytest.raises(CommandError, match="no team with id 999999"):
        process_json("--team", "999999")
    with pytest.raises(CommandError, match="no person"):
        process_json("--rep", "nobody")
