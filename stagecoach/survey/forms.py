"""The survey's forms: opening a round, a customer's link, and the two questionnaires."""

from __future__ import annotations

from typing import Any

from django import forms

from stagecoach.process.models import Pipeline
from stagecoach.process.selectors import default_pipeline
from stagecoach.survey.models import Question, SurveyResponse, SurveyRound
from stagecoach.survey.selectors import current_answers
from stagecoach.survey.services import StageAnswer

WRITTEN_IN_HELP = "Anything not listed, one item a line."


class OpenRoundForm(forms.Form):
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.all(), empty_label=None)
    title = forms.CharField(max_length=200, help_text="E.g. “Spring 2026: how we sell”.")
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to reps and managers above the questions.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].initial = default_pipeline()


class InvitationForm(forms.Form):
    label = forms.CharField(
        max_length=200,
        label="Customer",
        help_text="A name or company, so you can tell the links apart. The customer never sees it.",
    )


def _picks_field(label: str, choices: list[str]) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        required=False,
        choices=[(c, c) for c in choices],
        widget=forms.CheckboxSelectMultiple,
    )


def _written_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=3000,
        help_text=WRITTEN_IN_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AnswerForm(forms.Form):
    """A rep's or manager's answers: per stage, what they do and what must be true."""

    questions = (Question.DO, Question.EXIT)

    def __init__(
        self, *args: Any, survey: SurveyRound, response: SurveyResponse | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.survey = survey
        before = current_answers(response)
        for stage in survey.stages:
            for question in self.questions:
                name = f"{question}_{stage['id']}"
                self.fields[name] = _picks_field(question.label, stage[question])
                self.fields[f"{name}_other"] = _written_field("Anything else")
                earlier = before[(stage["id"], question)]
                self.initial[name] = earlier["picked"]
                self.initial[f"{name}_other"] = "\n".join(earlier["written"])
        if not survey.is_open:
            # A closed round's answers are for reading only.
            for field in self.fields.values():
                field.disabled = True

    def stages(self) -> list[tuple[dict[str, Any], list[tuple[Any, Any]]]]:
        """Each stage with the (picks, anything else) fields of each question."""
        return [
            (
                stage,
                [
                    (self[f"{q}_{stage['id']}"], self[f"{q}_{stage['id']}_other"])
                    for q in self.questions
                ],
            )
            for stage in self.survey.stages
        ]

    def answers(self) -> list[StageAnswer]:
        return [
            StageAnswer(
                stage_id=stage["id"],
                question=q,
                picked=self.cleaned_data[f"{q}_{stage['id']}"],
                written=self.cleaned_data[f"{q}_{stage['id']}_other"],
            )
            for stage in self.survey.stages
            for q in self.questions
        ]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class CustomerForm(forms.Form):
    """How a customer bought: the steps that happened, in order, and what mattered.

    Only stage names and exit criteria are shown: nothing else of the organisation."""

    def __init__(
        self, *args: Any, survey: SurveyRound, response: SurveyResponse | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.survey = survey
        before = current_answers(response)
        places = [("", "Did not happen")] + [
            (str(i), f"{_ordinal(i)} step") for i in range(1, len(survey.stages) + 1)
        ]
        for stage in survey.stages:
            sid = stage["id"]
            self.fields[f"step_{sid}"] = forms.TypedChoiceField(
                label=stage["name"],
                choices=places,
                coerce=int,
                empty_value=None,
                required=False,
            )
            self.fields[f"exit_{sid}"] = _picks_field(
                f"What mattered to you before you moved on from “{stage['name']}”?",
                stage[Question.EXIT],
            )
            self.fields[f"exit_{sid}_other"] = _written_field("Anything else that mattered")
            position = before[(sid, Question.STEP)]["position"]
            self.initial[f"step_{sid}"] = str(position) if position else ""
            self.initial[f"exit_{sid}"] = before[(sid, Question.EXIT)]["picked"]
            self.initial[f"exit_{sid}_other"] = "\n".join(before[(sid, Question.EXIT)]["written"])

    def step_fields(self) -> list[Any]:
        return [self[f"step_{stage['id']}"] for stage in self.survey.stages]

    def stages(self) -> list[tuple[dict[str, Any], Any, Any]]:
        return [
            (stage, self[f"exit_{stage['id']}"], self[f"exit_{stage['id']}_other"])
            for stage in self.survey.stages
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        places = [data.get(f"step_{stage['id']}") for stage in self.survey.stages]
        taken = [p for p in places if p is not None]
        if len(taken) != len(set(taken)):
            raise forms.ValidationError("Two steps have the same place: give each its own.")
        return data

    def steps(self) -> list[int]:
        """The stage ids of the steps that happened, first first."""
        placed = [
            (self.cleaned_data[f"step_{stage['id']}"], stage["id"])
            for stage in self.survey.stages
            if self.cleaned_data.get(f"step_{stage['id']}") is not None
        ]
        return [sid for _place, sid in sorted(placed)]

    def answers(self) -> list[StageAnswer]:
        return [
            StageAnswer(
                stage_id=stage["id"],
                question=Question.EXIT,
                picked=self.cleaned_data[f"exit_{stage['id']}"],
                written=self.cleaned_data[f"exit_{stage['id']}_other"],
            )
            for stage in self.survey.stages
        ]


class RoundChoiceField(forms.ModelChoiceField[SurveyRound]):
    def label_from_instance(self, obj: SurveyRound) -> str:
        return f"{obj.title} ({obj.pipeline.name}, {obj.opened_at:%-d %b %Y})"


class CompareForm(forms.Form):
    first = RoundChoiceField(queryset=SurveyRound.objects.none(), label="Earlier round")
    second = RoundChoiceField(queryset=SurveyRound.objects.none(), label="Later round")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rounds = SurveyRound.objects.select_related("pipeline")
        for name in ("first", "second"):
            field = self.fields[name]
            assert isinstance(field, RoundChoiceField)
            field.queryset = rounds

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("first"), data.get("second")
        if first and second and first.pipeline_id != second.pipeline_id:
            raise forms.ValidationError("Compare two rounds of the same pipeline.")
        if first and second and first.pk == second.pk:
            raise forms.ValidationError("Pick two different rounds.")
        return data
