from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from stagecoach.coaching.models import Session
from stagecoach.development.models import (
    ACTION_PLAN_MAX_DAYS,
    ACTION_PLAN_MIN_DAYS,
    LEVEL_NAMES,
    RATE_METRICS,
    ActionPlan,
    CheckIn,
    Goal,
    TargetMetric,
)
from stagecoach.development.selectors import Competency
from stagecoach.process.models import ActivityType, Skill, Stage, StageKind

if TYPE_CHECKING:
    from stagecoach.development.services import ActionPlanDraft, CheckInDraft

LEVEL_CHOICES = [("", "—"), *((str(k), v) for k, v in LEVEL_NAMES.items())]
WEEKS_CHOICES = [(6, "6 weeks"), (7, "7 weeks"), (8, "8 weeks")]


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


class RatingForm(forms.Form):
    """One level (and note) per skill of the model; skills left at "—" are not rated."""

    rated_on = forms.DateField(widget=_date(), label="Rated on")
    session = forms.ModelChoiceField(
        queryset=Session.objects.none(),
        required=False,
        label="Observed in",
        empty_label="No particular session",
    )

    def __init__(self, *args: Any, model: list[Competency], sessions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.fields["session"].queryset = sessions  # type: ignore[attr-defined]
        self.fields["rated_on"].initial = timezone.localdate()
        for c in model:
            self.fields[f"level-{c.skill.pk}"] = forms.TypedChoiceField(
                choices=LEVEL_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                label=c.skill.name,
            )
            self.fields[f"note-{c.skill.pk}"] = forms.CharField(
                required=False, max_length=500, label=f"Note on {c.skill.name}"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.levels():
            raise forms.ValidationError("Choose a level for at least one skill.")
        if data.get("rated_on") and data["rated_on"] > timezone.localdate():
            self.add_error("rated_on", "A rating cannot be dated in the future.")
        return data

    def levels(self) -> dict[int, int]:
        data = getattr(self, "cleaned_data", {})
        return {
            c.skill.pk: data[f"level-{c.skill.pk}"]
            for c in self.model
            if data.get(f"level-{c.skill.pk}") is not None
        }

    def notes(self) -> dict[int, str]:
        data = getattr(self, "cleaned_data", {})
        return {c.skill.pk: data.get(f"note-{c.skill.pk}", "") for c in self.model}


class PlanForm(forms.Form):
    title = forms.CharField(max_length=200, initial="Development plan")
    starts_on = forms.DateField(widget=_date())
    ends_on = forms.DateField(widget=_date(), help_text="About a year from the start.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end <= start:
            self.add_error("ends_on", "The plan must end after it starts.")
        return data


class GoalForm(forms.Form):
    include = forms.BooleanField(required=False, initial=True)
    text = forms.CharField(max_length=300, required=False)
    skill = forms.ModelChoiceField(queryset=Skill.objects.all(), required=False)
    level_at_start = forms.TypedChoiceField(
        choices=LEVEL_CHOICES, coerce=int, empty_value=None, required=False
    )
    target_level = forms.TypedChoiceField(
        choices=LEVEL_CHOICES, coerce=int, empty_value=None, required=False
    )


GoalFormSet = forms.formset_factory(GoalForm, extra=0)


def _metric_stages() -> Any:
    return Stage.objects.filter(kind=StageKind.OPEN).select_related("pipeline")


class ActionPlanForm(forms.Form):
    title = forms.CharField(max_length=200)
    goal = forms.ModelChoiceField(queryset=Goal.objects.none(), required=False)
    skill = forms.ModelChoiceField(
        queryset=Skill.objects.all(), required=False, label="Focus area (skill)"
    )
    starts_on = forms.DateField(widget=_date())
    weeks = forms.TypedChoiceField(choices=WEEKS_CHOICES, coerce=int, initial=6)
    metric = forms.ChoiceField(choices=TargetMetric.choices, label="Target metric")
    metric_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        required=False,
        label="Stage",
        help_text="For stage conversion and days in stage.",
    )
    metric_activity = forms.ChoiceField(
        choices=[("", "Every type"), *ActivityType.choices],
        required=False,
        label="Activity type",
    )
    baseline = forms.FloatField(
        required=False,
        help_text="Leave empty to take the person's current figure. Rates in percent.",
    )
    target = forms.FloatField(help_text="Rates in percent (35 for 35%).")
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Concrete actions, one a line.",
    )

    def __init__(
        self,
        *args: Any,
        goals: Any,
        metrics: tuple[TargetMetric, ...] = tuple(TargetMetric),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["goal"].queryset = goals  # type: ignore[attr-defined]
        # A rep's plan targets a CRM figure, a manager's a coaching-health figure.
        self.fields["metric"].choices = [(m.value, m.label) for m in metrics]  # type: ignore[attr-defined]
        self.fields["metric_stage"].queryset = _metric_stages()  # type: ignore[attr-defined]
        self.fields["starts_on"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        metric = data.get("metric")
        if metric in (TargetMetric.CONVERSION, TargetMetric.STAGE_DAYS) and not data.get(
            "metric_stage"
        ):
            self.add_error("metric_stage", "Choose the stage this metric is about.")
        for name in ("baseline", "target"):
            value = data.get(name)
            if value is None:
                continue
            if value < 0:
                self.add_error(name, "A metric cannot be negative.")
            elif metric in RATE_METRICS:
                if value > 100:
                    self.add_error(name, "A rate is a percentage between 0 and 100.")
                else:
                    data[name] = value / 100
        lines = [line.strip() for line in data.get("actions", "").splitlines() if line.strip()]
        if not lines:
            self.add_error("actions", "Name at least one concrete action.")
        data["action_lines"] = tuple(lines)
        return data

    @property
    def ends_on(self) -> Any:
        return self.cleaned_data["starts_on"] + timedelta(weeks=self.cleaned_data["weeks"])

    def draft(self) -> ActionPlanDraft:
        """The action plan the valid form describes, for ``services.add_action_plan``."""
        from stagecoach.development.services import ActionPlanDraft

        data = self.cleaned_data
        return ActionPlanDraft(
            title=data["title"],
            starts_on=data["starts_on"],
            ends_on=self.ends_on,
            metric=data["metric"],
            target=data["target"],
            skill_id=data["skill"].pk if data.get("skill") else None,
            goal_id=data["goal"].pk if data.get("goal") else None,
            metric_stage_id=data["metric_stage"].pk if data.get("metric_stage") else None,
            metric_activity=data.get("metric_activity") or "",
            baseline=data.get("baseline"),
            actions=data["action_lines"],
        )


class CheckInForm(forms.Form):
    progress = forms.ChoiceField(choices=CheckIn.Progress.choices, required=False)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    session = forms.ModelChoiceField(
        queryset=Session.objects.none(), required=False, empty_label="Not in a session"
    )
    new_target = forms.FloatField(
        required=False, label="Revise target", help_text="Rates in percent."
    )
    new_ends_on = forms.DateField(
        required=False,
        widget=_date(),
        label="Move the end",
        help_text=f"Still {ACTION_PLAN_MIN_DAYS // 7}–{ACTION_PLAN_MAX_DAYS // 7} weeks from the start.",
    )
    new_actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Add actions"
    )

    def __init__(self, *args: Any, action_plan: ActionPlan, sessions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action_plan = action_plan
        self.fields["session"].queryset = sessions  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = data.get("new_target")
        if target is not None and self.action_plan.metric in RATE_METRICS:
            if not 0 <= target <= 100:
                self.add_error("new_target", "A rate is a percentage between 0 and 100.")
            else:
                data["new_target"] = target / 100
        end = data.get("new_ends_on")
        if end is not None:
            days = (end - self.action_plan.starts_on).days
            if not ACTION_PLAN_MIN_DAYS <= days <= ACTION_PLAN_MAX_DAYS:
                self.add_error(
                    "new_ends_on",
                    f"An action plan runs six to eight weeks; that end makes it {days} days.",
                )
        return data

    def draft(self, *, on: date) -> CheckInDraft:
        """The check-in the valid form describes, for ``services.check_in``."""
        from stagecoach.development.services import CheckInDraft

        data = self.cleaned_data
        return CheckInDraft(
            on=on,
            progress=data.get("progress") or "",
            note=data.get("note", ""),
            session_id=data["session"].pk if data.get("session") else None,
            new_target=data.get("new_target"),
            new_ends_on=data.get("new_ends_on"),
            new_actions=tuple(data.get("new_actions", "").splitlines()),
        )


class CloseActionPlanForm(forms.Form):
    outcome = forms.ChoiceField(choices=ActionPlan.Outcome.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    celebrate = forms.BooleanField(
        required=False, initial=True, label="Record it as a win the rep and manager see"
    )


class WinForm(forms.Form):
    title = forms.CharField(max_length=200)
    detail = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ClosePlanForm(forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="How it went")
