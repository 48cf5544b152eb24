from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from stagecoach.accounts.models import Person
from stagecoach.coaching.asktell import MAX_TRANSCRIPT
from stagecoach.coaching.models import Cadence, Commitment, Frequency, Session, SessionItem, Topic
from stagecoach.coaching.services import NewCommitment
from stagecoach.pipeline.models import Opportunity
from stagecoach.process.models import Skill, Stage, StageKind


class CadenceForm(forms.ModelForm[Cadence]):
    class Meta:
        model = Cadence
        fields = [
            "team",
            "review_weekday",
            "review_time",
            "minutes_per_rep",
            "one_on_one_frequency",
            "one_on_one_weekday",
            "one_on_one_time",
            "one_on_one_minutes",
        ]
        widgets = {
            "review_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "one_on_one_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {
            "review_weekday": "Team pipeline review on",
            "review_time": "at",
            "minutes_per_rep": "Minutes per rep",
            "one_on_one_frequency": "1:1s",
            "one_on_one_weekday": "on",
            "one_on_one_time": "at",
            "one_on_one_minutes": "lasting (minutes)",
        }

    def __init__(
        self, *args: Any, teams: Any = None, one_on_ones_only: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["minutes_per_rep"].widget.attrs.update(min=1, max=30)
        if one_on_ones_only:
            # A leader's cadence: 1:1s with their managers, no team pipeline review.
            for name in ("team", "review_weekday", "review_time", "minutes_per_rep"):
                del self.fields[name]
        self.fields["one_on_one_minutes"].widget.attrs.update(min=10, max=120)


class RepFrequencyForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=[("", "As the team"), *Frequency.choices], required=False, label=""
    )


class TopicForm(forms.ModelForm[Topic]):
    class Meta:
        model = Topic
        fields = ["title", "period", "starts_on", "skill", "stage", "guidance"]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "guidance": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"starts_on": "Starting"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        from stagecoach.coaching.services import topic_end

        if data.get("period") and data.get("starts_on"):
            try:
                topic_end(data["period"], data["starts_on"])
            except (OverflowError, ValueError):
                self.add_error("starts_on", "The topic would end after the calendar does.")
        return data


class SessionNewForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[c for c in Session.Kind.choices if c[0] != Session.Kind.TEAM_REVIEW]
    )
    rep = forms.ModelChoiceField(queryset=Person.objects.none())
    scheduled_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="When"
    )
    duration_minutes = forms.IntegerField(min_value=5, max_value=240, initial=30, label="Minutes")

    def __init__(self, *args: Any, reps: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reps  # type: ignore[attr-defined]


class AgendaItemForm(forms.Form):
    include = forms.BooleanField(required=False, initial=True)
    kind = forms.ChoiceField(
        choices=SessionItem.Kind.choices, initial=SessionItem.Kind.OTHER, widget=forms.HiddenInput
    )
    title = forms.CharField(max_length=300, required=False)
    tag = forms.ChoiceField(choices=SessionItem.Tag.choices, initial=SessionItem.Tag.SKILL)
    phase = forms.ChoiceField(choices=SessionItem.Phase.choices, required=False)
    minutes = forms.IntegerField(min_value=0, max_value=120, initial=5)
    detail = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    questions = forms.CharField(required=False, widget=forms.HiddenInput)
    opportunity_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    skill_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    stage_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    flag_code = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_skill_id(self) -> int | None:
        return _existing(Skill, self.cleaned_data.get("skill_id"))

    def clean_stage_id(self) -> int | None:
        return _existing(Stage, self.cleaned_data.get("stage_id"))

    def has_bad_hidden_field(self) -> bool:
        """A hidden value the page never sends: the post was made up, not typed."""
        return any(field.name in self.errors for field in self.hidden_fields())

    def clean_questions(self) -> list[str]:
        raw = self.cleaned_data.get("questions") or "[]"
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError("Questions are not readable.") from None
        if not isinstance(value, list):
            raise forms.ValidationError("Questions are not readable.")
        return [str(q) for q in value][:10]


def _existing(model: type[Skill] | type[Stage], pk: int | None) -> int | None:
    if pk is not None and not model.objects.filter(pk=pk).exists():
        raise forms.ValidationError(f"No such {model._meta.verbose_name}.")
    return pk


AgendaFormSet = forms.formset_factory(AgendaItemForm, extra=1, max_num=20, absolute_max=30)


class LogForm(forms.Form):
    held_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        label="Held at",
    )
    duration_minutes = forms.IntegerField(min_value=1, max_value=480, label="Minutes")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    questions_asked = forms.IntegerField(min_value=0, required=False, label="Questions asked")
    directives_given = forms.IntegerField(min_value=0, required=False, label="Directives given")
    tally_source = forms.ChoiceField(
        choices=Session.TallySource.choices, required=False, widget=forms.HiddenInput
    )
    transcript = forms.CharField(
        required=False,
        max_length=MAX_TRANSCRIPT,
        error_messages={
            "max_length": f"A transcript of up to {MAX_TRANSCRIPT:,} characters is read "
            "(some three hours of a meeting); paste the part with the coaching conversation."
        },
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Transcript (WebVTT, SRT or plain text)",
    )

    def clean_held_at(self) -> datetime:
        held_at: datetime = self.cleaned_data["held_at"]
        if timezone.localtime(held_at).date() > timezone.localdate():
            raise forms.ValidationError(
                "A session cannot have been held after today: log it once it has happened."
            )
        return held_at

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        asked, told = data.get("questions_asked"), data.get("directives_given")
        if (asked is None) != (told is None):
            raise forms.ValidationError(
                "Enter both the questions asked and the directives given, or neither."
            )
        return data


class CommitmentForm(forms.Form):
    owner = forms.ChoiceField(choices=(), required=False)
    action = forms.CharField(max_length=500, required=False)
    due_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    opportunity = forms.ModelChoiceField(queryset=Opportunity.objects.none(), required=False)
    skill = forms.ModelChoiceField(queryset=Skill.objects.all(), required=False)
    metric = forms.CharField(max_length=60, required=False)

    def __init__(self, *args: Any, owners: list[Person], opportunities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(p.pk, p.name) for p in owners]  # type: ignore[attr-defined]
        self.fields["opportunity"].queryset = opportunities  # type: ignore[attr-defined]
        self.owners = {p.pk: p for p in owners}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") and not data.get("due_on"):
            self.add_error("due_on", "A commitment needs a due date.")
        if data.get("action") and data.get("owner"):
            owner = self.owners.get(int(data["owner"]))
            if owner is None:
                self.add_error("owner", "Choose who owns it.")
            data["owner_person"] = owner
        return data


def commitment_forms(
    session: Session, data: Mapping[str, Any] | None, *, prefixes: Iterable[str]
) -> list[CommitmentForm]:
    """Forms for new commitments in a session: owned by its rep or its manager, about
    one of the rep's open deals."""
    owners = [p for p in (session.rep, session.manager) if p is not None]
    opportunities = (
        Opportunity.objects.filter(owner=session.rep, stage__kind=StageKind.OPEN).order_by("name")
        if session.rep
        else Opportunity.objects.none()
    )
    return [
        CommitmentForm(
            data,
            prefix=prefix,
            owners=owners,
            opportunities=opportunities,
            initial={"due_on": timezone.localdate() + timedelta(days=7)},
        )
        for prefix in prefixes
    ]


def new_commitments(valid_forms: Iterable[CommitmentForm]) -> tuple[NewCommitment, ...]:
    """The commitments valid forms describe; a row left blank is none."""
    return tuple(
        NewCommitment(
            owner=f.cleaned_data["owner_person"],
            action=f.cleaned_data["action"],
            due_on=f.cleaned_data["due_on"],
            opportunity_id=f.cleaned_data["opportunity"].pk
            if f.cleaned_data.get("opportunity")
            else None,
            skill_id=f.cleaned_data["skill"].pk if f.cleaned_data.get("skill") else None,
            metric=f.cleaned_data.get("metric") or "",
        )
        for f in valid_forms
        if (f.cleaned_data.get("action") or "").strip() and f.cleaned_data.get("owner_person")
    )


FOLLOW_UP_CHOICES = [
    ("", "Not discussed"),
    (Commitment.Status.OPEN, "Still open"),
    (Commitment.Status.DONE, "Done"),
    (Commitment.Status.DROPPED, "Dropped"),
]


class WebhookForm(forms.Form):
    """A team's webhook. The saved address is never shown: leaving the box empty keeps it."""

    url = forms.URLField(
        label="Incoming webhook address",
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"autocomplete": "off", "placeholder": "https://hooks…"}),
    )
    remove = forms.BooleanField(label="Stop posting (remove the webhook)", required=False)

    def clean_url(self) -> str:
        from stagecoach.coaching.webhooks import UnsafeWebhook, check_webhook_url

        url: str = self.cleaned_data["url"]
        if url:
            try:
                check_webhook_url(url)
            except UnsafeWebhook as exc:
                raise forms.ValidationError(str(exc)) from exc
        return url
