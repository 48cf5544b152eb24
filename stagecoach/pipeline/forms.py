from __future__ import annotations

from typing import Any

from django import forms

from stagecoach.pipeline.importers import AUTO, FORMATS
from stagecoach.pipeline.importers.mapped import DATE_FORMATS, FIELDS, REQUIRED, Mapping
from stagecoach.pipeline.models import MappingProfile

FORMAT_LABELS = {
    AUTO: "Recognise it for me (an unknown CRM opens the column mapping)",
    "canonical": "stagecoach CSV (a folder of files, or a .zip)",
    "salesforce": "Salesforce Data Export (.zip or its CSV files) or report export (.csv)",
    "hubspot": "HubSpot deals export (.csv or .xlsx)",
    "pipedrive": "Pipedrive deals export (.csv or .xlsx)",
    "maven": "Maven CRM data set (its CSV files)",
    "mapped": "Any other CRM or a spreadsheet: map its columns",
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
        if not files and self.required:
            # The browser's `required` stops an empty form; a script is not stopped.
            raise forms.ValidationError(self.error_messages["required"], code="required")
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in files]
        for upload in cleaned:
            if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
                raise forms.ValidationError(f"{upload.name}: upload CSV, XLSX or ZIP files.")
        return cleaned


class ImportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[(name, FORMAT_LABELS[name]) for name in (AUTO, *FORMATS)], initial=AUTO
    )
    export = MultipleFileField(
        help_text="Select every file of the export at once, or one .zip of the folder."
    )
    mapping = forms.FileField(
        required=False,
        help_text="Optional: a stage mapping file you reviewed after an earlier import.",
    )
    profile = forms.ModelChoiceField(
        MappingProfile.objects.all(),
        required=False,
        to_field_name="name",
        empty_label="— map the columns now —",
        help_text="Any other CRM: a column mapping saved earlier.",
    )
    dry_run = forms.BooleanField(
        required=False, help_text="Check everything and report, write nothing."
    )


KIND_CHOICES = [("open", "open"), ("won", "won"), ("lost", "lost")]
NOT_IN_FILE = ""


class MappingForm(forms.Form):
    """The file's columns beside stagecoach's fields, and what its values mean.

    Built for one file: a select per field offering the file's columns, then one row
    per stage value (stage name and kind) and per status value (its kind).
    """

    name = forms.CharField(
        max_length=100, required=False, help_text="Save the mapping under this name."
    )
    date_format = forms.ChoiceField(choices=list(DATE_FORMATS.items()))
    pipeline = forms.CharField(
        max_length=120, required=False, help_text="Pipeline of rows that name none."
    )
    dry_run = forms.BooleanField(required=False)

    def __init__(
        self,
        *args: Any,
        header: list[str],
        stage_values: list[str],
        status_values: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(NOT_IN_FILE, "— not in the file —")] + [(h, h) for h in header if h.strip()]
        for name, description in FIELDS.items():
            self.fields[f"col_{name}"] = forms.ChoiceField(
                label=description, choices=choices, required=name in REQUIRED
            )
        self.stage_values = stage_values
        self.status_values = status_values
        for index, _ in enumerate(stage_values):
            self.fields[f"stage_{index}"] = forms.CharField(max_length=120)
            self.fields[f"kind_{index}"] = forms.ChoiceField(choices=KIND_CHOICES)
        for index, _ in enumerate(status_values):
            self.fields[f"status_{index}"] = forms.ChoiceField(choices=KIND_CHOICES)

    def field_rows(self) -> list[tuple[str, forms.BoundField]]:
        return [(name, self[f"col_{name}"]) for name in FIELDS]

    def stage_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (value, self[f"stage_{i}"], self[f"kind_{i}"])
            for i, value in enumerate(self.stage_values)
        ]

    def status_rows(self) -> list[tuple[str, forms.BoundField]]:
        return [(value, self[f"status_{i}"]) for i, value in enumerate(self.status_values)]

    def mapping(self, *, name: str) -> Mapping:
        """The profile the cleaned form describes; ValueError when it is incomplete."""
        data = self.cleaned_data
        return Mapping.from_dict(
            {
                "name": name,
                "columns": {f: data[f"col_{f}"] for f in FIELDS if data.get(f"col_{f}")},
                "stages": [
                    {"value": v, "stage": data[f"stage_{i}"], "kind": data[f"kind_{i}"]}
                    for i, v in enumerate(self.stage_values)
                ],
                "statuses": {v: data[f"status_{i}"] for i, v in enumerate(self.status_values)},
                "date_format": data["date_format"],
                "pipeline": data.get("pipeline", ""),
            }
        )
