"""Forms of the deal strategy: a pursuit plan's change and a buying influence."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from django import forms

from stagecoach.pipeline.models import Opportunity
from stagecoach.strategy.models import (
    BuyingRole,
    CompetitivePosition,
    Influence,
    PursuitPlan,
    ResourceKind,
)
from stagecoach.strategy.services import PlanData, ResourceData, StepData, plan_data


class PlanChangeForm(forms.Form):
    """What a deal review changes in the plan: the objective and competition as a whole,
    plus one new next step and one resource; open steps can be marked done."""

    objective = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    position = forms.ChoiceField(
        choices=CompetitivePosition.choices, label="Against the competition"
    )
    competitors = forms.CharField(max_length=300, required=False)
    risks = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    step_text = forms.CharField(max_length=300, required=False, label="New next step")
    step_owner = forms.CharField(max_length=120, required=False, label="Who")
    step_due = forms.DateField(
        required=False, label="By", widget=forms.DateInput(attrs={"type": "date"})
    )
    resource_kind = forms.ChoiceField(
        choices=[("", "—"), *ResourceKind.choices], required=False, label="Help needed"
    )
    resource_detail = forms.CharField(max_length=300, required=False, label="Detail")
    done = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, open_steps: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["done"].choices = open_steps  # type: ignore[attr-defined]
        self.fields["done"].label = "Done since"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("step_due") and not data.get("step_text"):
            self.add_error("step_text", "Say what the step is.")
        if data.get("resource_detail") and not data.get("resource_kind"):
            self.add_error("resource_kind", "Say what kind of help.")
        return data

    def changed_plan(self, opportunity: Opportunity, today: date) -> PlanData:
        """The deal's plan as it stands with this (valid) form's changes on top."""
        return apply_changes(current_plan(opportunity), self.cleaned_data, today)


def current_plan(opportunity: Opportunity) -> PlanData:
    plan = PursuitPlan.objects.filter(opportunity=opportunity).first()
    return plan_data(plan) if plan is not None else PlanData()


def plan_form(opportunity: Opportunity, data: Any = None) -> PlanChangeForm:
    current = current_plan(opportunity)
    open_steps = [
        (str(i), f"{s.text}" + (f" (by {s.due:%-d %b})" if s.due else ""))
        for i, s in enumerate(current.steps)
        if s.done_at is None
    ]
    return PlanChangeForm(
        data,
        open_steps=open_steps,
        initial={
            "objective": current.objective,
            "position": current.position,
            "competitors": current.competitors,
            "risks": current.risks,
        },
    )


def apply_changes(current: PlanData, cleaned: dict[str, Any], today: date) -> PlanData:
    done = {int(i) for i in cleaned.get("done") or []}
    steps = [
        replace(step, done_at=today) if i in done and step.done_at is None else step
        for i, step in enumerate(current.steps)
    ]
    if cleaned.get("step_text"):
        steps.append(
            StepData(
                text=cleaned["step_text"],
                owner=cleaned.get("step_owner") or "",
                due=cleaned.get("step_due"),
            )
        )
    resources = list(current.resources)
    if cleaned.get("resource_kind"):
        resources.append(
            ResourceData(kind=cleaned["resource_kind"], detail=cleaned.get("resource_detail") or "")
        )
    return replace(
        current,
        objective=cleaned.get("objective") or "",
        position=cleaned.get("position") or current.position,
        competitors=cleaned.get("competitors") or "",
        risks=cleaned.get("risks") or "",
        steps=steps,
        resources=resources,
    )


class InfluenceForm(forms.ModelForm[Influence]):
    class Meta:
        model = Influence
        fields = ["name", "title", "email", "role", "stance", "last_met", "note"]
        widgets = {"last_met": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = BuyingRole.objects.all()  # type: ignore[attr-defined]
        self.fields["role"].empty_label = "No role yet"  # type: ignore[attr-defined]


def form_problems(form: forms.BaseForm) -> str:
    """A refused form's errors in one line for a message: "Field: what is wrong; …"."""
    return "; ".join(
        f"{form.fields[name].label or name if name in form.fields else 'Form'}: "
        + " ".join(str(error) for error in errors)
        for name, errors in form.errors.items()
    )
