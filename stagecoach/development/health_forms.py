"""The coaching self-assessment form: a score and a note for each of the nine questions."""

from __future__ import annotations

from typing import Any

from django import forms

from stagecoach.development.health import QUESTIONS, SCORES, Question
from stagecoach.development.health_services import MAX_NOTE, SelfAnswer
from stagecoach.development.models import SelfAssessment


class SelfAssessmentForm(forms.Form):
    """``score_<n>`` (blank: not answered this time) and ``note_<n>`` per question."""

    def __init__(
        self, *args: Any, latest: dict[int, SelfAssessment] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        latest = latest or {}
        for q in QUESTIONS:
            previous = latest.get(q.number)
            self.fields[f"score_{q.number}"] = forms.TypedChoiceField(
                choices=[("", "Not answered"), *SCORES.items()],
                coerce=int,
                empty_value=None,
                required=False,
                label=f"{q.number}. {q.text}",
                initial=previous.score if previous else "",
            )
            self.fields[f"note_{q.number}"] = forms.CharField(
                required=False,
                max_length=MAX_NOTE,
                label=f"Note on question {q.number}",
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=previous.note if previous else "",
            )

    def rows(self) -> list[tuple[Question, forms.BoundField, forms.BoundField]]:
        return [(q, self[f"score_{q.number}"], self[f"note_{q.number}"]) for q in QUESTIONS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for q in QUESTIONS:
            if data.get(f"note_{q.number}", "").strip() and not data.get(f"score_{q.number}"):
                self.add_error(f"score_{q.number}", "A note needs a score to go with it.")
        if not any(data.get(f"score_{q.number}") for q in QUESTIONS):
            raise forms.ValidationError("Score at least one question.")
        return data

    def answers(self) -> list[SelfAnswer]:
        return [
            SelfAnswer(
                question=q.number,
                score=self.cleaned_data[f"score_{q.number}"],
                note=self.cleaned_data.get(f"note_{q.number}", ""),
            )
            for q in QUESTIONS
            if self.cleaned_data.get(f"score_{q.number}")
        ]
