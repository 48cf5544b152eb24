"""The systems records come from. A record's (source, source id) is its identity."""

from django.db import models


class Source(models.TextChoices):
    DEMO = "demo", "Demo generator"
    CANONICAL = "canonical", "stagecoach CSV"
    SALESFORCE = "salesforce", "Salesforce"
    HUBSPOT = "hubspot", "HubSpot"
    PIPEDRIVE = "pipedrive", "Pipedrive"
    MAVEN = "maven", "Maven CRM data set"
    MAPPED = "mapped", "Other CRM (column mapping)"
    MANUAL = "manual", "Entered in stagecoach"
