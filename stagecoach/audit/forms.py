from __future__ import annotations

from django import forms

from stagecoach.audit.models import AuditEvent


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("", "Everything"), *AuditEvent.Action.choices], required=False
    )
    who = forms.CharField(required=False, max_length=254, label="Who (email contains)")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("'Since' is after 'until'.")
        return data
