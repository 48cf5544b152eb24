"""Reads for the process survey: who may do what, the round's items, and its results.

Who may do what:

- ops admins open and close rounds and make customers' links;
- reps and managers answer the open round, and each sees only their own answers;
- ops, leaders and managers see the results (counted answers, never one person's);
  managers only once a round has closed, since comparing two looks at an open round
  would show what the one person who answered in between said;
- a customer reaches only their own link's page, while the round is open.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.http import Http404

from stagecoach.accounts.models import Person, Role
from stagecoach.accounts.selectors import can_administer, scope_for
from stagecoach.discovery.selectors import candidates_by_stage
from stagecoach.process.models import ActivityType, Pipeline
from stagecoach.process.selectors import open_stages
from stagecoach.survey import aggregation
from stagecoach.survey.models import (
    CustomerInvitation,
    Group,
    Pick,
    Question,
    SurveyResponse,
    SurveyRound,
)

# Who is asked which question: customers are not asked what the seller does inside a
# stage (they see stage names and criteria, nothing else of the organisation's map).
ASKED = {
    Question.DO: frozenset({Group.REP, Group.MANAGER}),
    Question.EXIT: frozenset({Group.CUSTOMER, Group.REP, Group.MANAGER}),
}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


def token_digest(token: str) -> str:
    # A 256-bit random token needs no slow hash, and the lookup is one indexed query.
    return hashlib.sha256(token.encode()).hexdigest()


# Access ---------------------------------------------------------------------------------


def respondent_group(user: object) -> Group | None:
    """The group a login answers in: reps and managers answer in the app."""
    person = scope_for(user).person
    if person is None:
        return None
    if person.role == Role.REP:
        return Group.REP
    if person.role == Role.MANAGER:
        return Group.MANAGER
    return None


def may_run(user: object) -> bool:
    return can_administer(user)


def may_see_results(user: object) -> bool:
    scope = scope_for(user)
    return can_administer(user) or scope.everyone or scope.is_manager


def may_use(user: object) -> bool:
    return may_see_results(user) or respondent_group(user) is not None


def shares_visible(user: object, survey: SurveyRound) -> bool:
    """Managers see shares of closed rounds only; ops and leaders run the survey and see
    them as answers come in."""
    return not survey.is_open or can_administer(user) or scope_for(user).everyone


def _refuse() -> Http404:
    # The same answer as a page that does not exist: nothing to learn from probing.
    return Http404("No such survey round.")


def get_round_for_user(user: object, round_id: int, *, purpose: str) -> SurveyRound:
    """The round, if this login may use it for ``purpose`` ("results", "answer", "run");
    a 404 otherwise."""
    allowed = {
        "results": may_see_results,
        "answer": lambda u: respondent_group(u) is not None,
        "run": may_run,
    }[purpose](user)
    if not allowed:
        raise _refuse()
    found = SurveyRound.objects.select_related("pipeline", "opened_by").filter(pk=round_id).first()
    if found is None:
        raise _refuse()
    return found


def invitation_for_token(token: str) -> CustomerInvitation | None:
    """The link's invitation while its round is open; None for any other token."""
    if not _TOKEN.fullmatch(token):
        return None
    return (
        CustomerInvitation.objects.select_related("round__pipeline")
        .filter(digest=token_digest(token), round__closed_at__isnull=True)
        .first()
    )


# The round's items ----------------------------------------------------------------------


def map_items(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's open stages with their items as the map stands now: what a round
    opened today asks about."""
    types = [label for value, label in ActivityType.choices if value != ActivityType.OTHER]
    stages = []
    for stage in open_stages(pipeline):
        do = [a.description for a in stage.key_activities.all()] + types
        exit_ = [c.text for c in stage.exit_criteria.all()]
        stages.append(
            {"id": stage.pk, "name": stage.name, "do": _unique(do), "exit": _unique(exit_)}
        )
    return {"stages": stages}


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for label in labels:
        seen.setdefault(aggregation.normalise(label), " ".join(label.split()))
    return list(seen.values())


# Rounds and answers ---------------------------------------------------------------------


def respondents(survey: SurveyRound) -> dict[str, int]:
    """Group → how many answered the round."""
    counts = dict(
        survey.responses.order_by()
        .values("group")
        .annotate(n=Count("id"))
        .values_list("group", "n")
    )
    return {group: counts.get(group, 0) for group in Group.values}


def rounds_with_counts(rounds: list[SurveyRound]) -> list[tuple[SurveyRound, dict[str, int]]]:
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(Group.values, 0))
    rows = (
        SurveyResponse.objects.filter(round__in=rounds)
        .order_by()
        .values("round_id", "group")
        .annotate(n=Count("id"))
        .values_list("round_id", "group", "n")
    )
    for round_id, group, n in rows:
        counts[round_id][group] = n
    return [(r, counts[r.pk]) for r in rounds]


def own_response(survey: SurveyRound, person: Person) -> SurveyResponse | None:
    return survey.responses.filter(person=person).prefetch_related("picks").first()


def answered_by(person: Person) -> list[SurveyRound]:
    """The rounds this person has answered, newest first."""
    return list(
        SurveyRound.objects.filter(responses__person=person)
        .select_related("pipeline")
        .order_by("-opened_at", "-id")
    )


def current_answers(response: SurveyResponse | None) -> dict[tuple[int, str], dict[str, Any]]:
    """(stage id, question) → the labels picked and the written-in text, to fill a form."""
    found: dict[tuple[int, str], dict[str, Any]] = defaultdict(
        lambda: {"picked": [], "written": [], "position": None}
    )
    if response is None:
        return found
    for pick in response.picks.all():
        entry = found[(pick.stage_id, pick.question)]
        if pick.question == Question.STEP:
            entry["position"] = pick.position
        elif pick.written_in:
            entry["written"].append(pick.label)
        else:
            entry["picked"].append(pick.label)
    return found


# Results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResults:
    question: Question
    rows: list[aggregation.ItemRow]
    differences: list[aggregation.ItemRow]


@dataclass(frozen=True)
class StageResults:
    stage_id: int
    name: str
    step: aggregation.Step
    questions: list[QuestionResults]
    # What the CRM data says winners do here (the process discovery's candidates).
    candidates: list[dict[str, Any]]


def _tallies(
    survey: SurveyRound, counts: dict[str, int]
) -> dict[tuple[int, str], aggregation.Tally]:
    picks: dict[tuple[int, str], list[tuple[str, int, str]]] = defaultdict(list)
    rows = Pick.objects.filter(response__round=survey).values_list(
        "stage_id", "question", "response__group", "response_id", "label"
    )
    for stage_id, question, group, response_id, label in rows:
        picks[(stage_id, question)].append((group, response_id, label))
    return {
        (stage["id"], question): aggregation.tally(
            on_list=stage[question],
            picks=picks[(stage["id"], question)],
            respondents=counts,
            asked=asked,
        )
        for stage in survey.stages
        for question, asked in ASKED.items()
    }


def _steps(survey: SurveyRound, customers: int) -> dict[int, aggregation.Step]:
    positions: dict[int, list[int]] = {stage["id"]: [] for stage in survey.stages}
    rows = Pick.objects.filter(response__round=survey, question=Question.STEP).values_list(
        "stage_id", "position"
    )
    for stage_id, position in rows:
        if stage_id in positions and position is not None:
            positions[stage_id].append(position)
    return aggregation.steps(positions=positions, customers=customers)


def results(survey: SurveyRound) -> list[StageResults]:
    """Each stage of the round with every item's shares per group, commonalities first,
    the largest differences, the customers' steps, and what the data says."""
    counts = respondents(survey)
    tallies = _tallies(survey, counts)
    steps = _steps(survey, counts[Group.CUSTOMER])
    candidates = candidates_by_stage()
    found = []
    for stage in survey.stages:
        questions = []
        for question in ASKED:
            item_rows = aggregation.rows(tallies[(stage["id"], question)])
            questions.append(
                QuestionResults(
                    question=question,
                    rows=item_rows,
                    differences=aggregation.differences(item_rows),
                )
            )
        found.append(
            StageResults(
                stage_id=stage["id"],
                name=stage["name"],
                step=steps[stage["id"]],
                questions=questions,
                candidates=candidates.get(stage["id"], []),
            )
        )
    return found


@dataclass(frozen=True)
class StageComparison:
    name: str
    questions: list[tuple[Question, list[aggregation.Compared]]]


def comparison(first: SurveyRound, second: SurveyRound) -> list[StageComparison]:
    """Each stage either round asked about, with item shares side by side (the first
    round's stages in order, then any the second added)."""
    a, b = _tallies(first, respondents(first)), _tallies(second, respondents(second))
    names = {s["id"]: s["name"] for s in first.stages}
    for s in second.stages:
        names.setdefault(s["id"], s["name"])
    empty = aggregation.tally(on_list=(), picks=(), respondents={}, asked=())
    found = []
    for stage_id, name in names.items():
        questions = []
        for question in ASKED:
            compared = aggregation.compare(
                a.get((stage_id, question), empty), b.get((stage_id, question), empty)
            )
            questions.append((question, compared))
        found.append(StageComparison(name=name, questions=questions))
    return found
