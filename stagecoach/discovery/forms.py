from __future__ import annotations

from typing import Any

from django import forms

from stagecoach.discovery.models import CandidateDecision
from stagecoach.process.models import ActivityType, Pipeline, Skill, Stage, StageKind

REASON_HELP = "Saved with the new version, for whoever reads the history."


class StageForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=StageKind.choices)
    order = forms.IntegerField(min_value=1, label="Position", help_text="1 comes first.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    target_days = forms.IntegerField(min_value=0, max_value=32767, required=False)
    default_probability = forms.IntegerField(
        min_value=0, max_value=100, required=False, label="Probability (%)"
    )
    is_required = forms.BooleanField(
        required=False, label="Required", help_text="Skipping it counts as a process skip."
    )
    skills = forms.ModelMultipleChoiceField(
        Skill.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    exit_criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One verifiable outcome a line, in order.",
    )
    reason = forms.CharField(max_length=300, label="Why this change", help_text=REASON_HELP)

    def __init__(self, *args: Any, stage: Stage, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stage = stage

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        clash = Stage.objects.filter(pipeline=self.stage.pipeline, name__iexact=name)
        if clash.exclude(pk=self.stage.pk).exists():
            raise forms.ValidationError("This pipeline already has a stage with this name.")
        return name

    def clean_exit_criteria(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["exit_criteria"].splitlines()]
        texts = list(dict.fromkeys(line for line in lines if line))
        too_long = [t for t in texts if len(t) > 300]
        if too_long:
            raise forms.ValidationError("An exit criterion has at most 300 characters.")
        return texts


class KeyActivityForm(forms.Form):
    # Blank by default, so the empty row left for a new one is not a half-filled form.
    activity_type = forms.ChoiceField(choices=[("", "—"), *ActivityType.choices], label="Type")
    description = forms.CharField(max_length=300)
    minimum_count = forms.IntegerField(min_value=1, max_value=100, initial=1, label="At least")


KeyActivityFormSet = forms.formset_factory(KeyActivityForm, extra=1, can_delete=True)


class AddStageForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=StageKind.choices, initial=StageKind.OPEN)
    order = forms.IntegerField(min_value=1, label="Position", help_text="1 comes first.")
    reason = forms.CharField(max_length=300, label="Why this change", help_text=REASON_HELP)


class AddPipelineForm(forms.Form):
    name = forms.CharField(max_length=120)
    reason = forms.CharField(max_length=300, label="Why this change", help_text=REASON_HELP)

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if Pipeline.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError("There is a pipeline with this name already.")
        return name


class DecisionForm(forms.Form):
    stage = forms.ModelChoiceField(Stage.objects.all())
    activity_type = forms.ChoiceField(choices=ActivityType.choices)
    timing = forms.ChoiceField(choices=CandidateDecision.Timing.choices)
    decision = forms.ChoiceField(choices=CandidateDecision.Decision.choices)
    note = forms.CharField(max_length=500, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == CandidateDecision.Decision.REJECTED and not data.get("note"):
            self.add_error("note", "Say why it is rejected: the note is kept with the decision.")
        return data
