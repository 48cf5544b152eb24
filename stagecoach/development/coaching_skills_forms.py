"""Forms for coaching skills: rating a manager's six competencies, scoring an observed
session against the rubric."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from stagecoach.development.coaching_skills import COMPETENCIES, OBSERVABLE, CompetencySpec
from stagecoach.development.models import LEVEL_NAMES

MAX_NOTE = 2000


def _level_field(label: str, choices: dict[int, str]) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        choices=[("", "Not rated"), *choices.items()],
        coerce=int,
        empty_value=None,
        required=False,
        label=label,
    )


class CoachingRatingForm(forms.Form):
    """``level_<code>`` per competency (blank: not rated this time), a date and a note."""

    rated_on = forms.DateField(initial=timezone.localdate, widget=forms.DateInput({"type": "date"}))
    note = forms.CharField(
        required=False, max_length=MAX_NOTE, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in COMPETENCIES:
            self.fields[f"level_{spec.code}"] = _level_field(spec.name, LEVEL_NAMES)

    def rows(self) -> list[tuple[CompetencySpec, forms.BoundField]]:
        return [(spec, self[f"level_{spec.code}"]) for spec in COMPETENCIES]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.levels():
            raise forms.ValidationError("Rate at least one competency.")
        return data

    def levels(self) -> dict[str, int]:
        data = getattr(self, "cleaned_data", {})
        return {
            s.code: data[f"level_{s.code}"] for s in COMPETENCIES if data.get(f"level_{s.code}")
        }


class ObservationForm(forms.Form):
    """``score_<code>`` per observable competency, the date and a note."""

    observed_on = forms.DateField(
        initial=timezone.localdate, widget=forms.DateInput({"type": "date"})
    )
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE,
        label="What you saw",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in OBSERVABLE:
            self.fields[f"score_{spec.code}"] = _level_field(
                spec.name, {n: f"{n} · {spec.rubric.get(n, '')}".rstrip(" ·") for n in range(1, 6)}
            )

    def rows(self) -> list[tuple[CompetencySpec, forms.BoundField]]:
        return [(spec, self[f"score_{spec.code}"]) for spec in OBSERVABLE]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.scores():
            raise forms.ValidationError("Score at least one part of the rubric.")
        return data

    def scores(self) -> dict[str, int]:
        data = getattr(self, "cleaned_data", {})
        return {s.code: data[f"score_{s.code}"] for s in OBSERVABLE if data.get(f"score_{s.code}")}
