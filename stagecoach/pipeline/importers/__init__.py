"""CRM importers: one module per source format, all following ``base.Reader``."""

from __future__ import annotations

from importlib import import_module

from stagecoach.pipeline.importers.base import Reader

FORMATS: dict[str, str] = {
    "canonical": "stagecoach.pipeline.importers.canonical:CanonicalReader",
    "salesforce": "stagecoach.pipeline.importers.salesforce:SalesforceReader",
    "hubspot": "stagecoach.pipeline.importers.hubspot:HubSpotReader",
    "pipedrive": "stagecoach.pipeline.importers.pipedrive:PipedriveReader",
    "maven": "stagecoach.pipeline.importers.maven:MavenReader",
    # Any other CRM, read through a saved column mapping profile (--profile).
    "mapped": "stagecoach.pipeline.importers.mapped:MappedReader",
}
# Not a reader: recognise the export first, then use the format it is.
AUTO = "auto"


def reader_class(format_name: str) -> type[Reader]:
    try:
        module_name, class_name = FORMATS[format_name].split(":")
    except KeyError:
        raise ValueError(
            f"unknown format {format_name!r}; use one of {', '.join(FORMATS)}"
        ) from None
    cls: type[Reader] = getattr(import_module(module_name), class_name)
    return cls
