from __future__ import annotations

from typing import Any

from django import forms

from stagecoach.pipeline.importers import FORMATS

FORMAT_LABELS = {
    "canonical": "stagecoach CSV (a folder of files, or a .zip)",
    "salesforce": "Salesforce Data Export (.zip or its CSV files) or report export (.csv)",
    "hubspot": "HubSpot deals export (.csv or .xlsx)",
    "pipedrive": "Pipedrive deals export (.csv or .xlsx)",
    "maven": "Maven CRM data set (its CSV files)",
}
ALLOWED_SUFFIXES = (".csv", ".zip", ".xlsx", ".txt")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        files = data if isinstance(data, list | tuple) else [data]
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in files]
        for upload in cleaned:
            if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
                raise forms.ValidationError(f"{upload.name}: upload CSV, XLSX or ZIP files.")
        return cleaned


class ImportForm(forms.Form):
    format = forms.ChoiceField(choices=[(name, FORMAT_LABELS[name]) for name in FORMATS])
    export = MultipleFileField(
        help_text="Select every file of the export at once, or one .zip of the folder."
    )
    mapping = forms.FileField(
        required=False,
        help_text="Optional: a stage mapping file you reviewed after an earlier import.",
    )
    dry_run = forms.BooleanField(
        required=False, help_text="Check everything and report, write nothing."
    )
