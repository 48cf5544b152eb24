"""The buying roles a new installation starts with (the classic four); ops edit them."""

from __future__ import annotations

from stagecoach.strategy.models import BuyingRole

ROLES = [
    (
        "economic_buyer",
        "Economic buyer",
        "Releases the money and can say yes when everyone else says no.",
        "late",
        True,
        "Economic Buyer\nDecision Maker\nExecutive Sponsor\nBudget Holder",
    ),
    (
        "champion",
        "Coach / champion",
        "Wants us to win and guides us through the decision.",
        "early",
        False,
        "Champion\nCoach\nInfluencer",
    ),
    (
        "technical",
        "Technical buyer",
        "Judges the fit against specifications and can say no.",
        "late",
        False,
        "Technical Buyer\nEvaluator\nTechnical Evaluator",
    ),
    (
        "user",
        "User buyer",
        "Will use what we sell and judges its effect on their job.",
        "",
        False,
        "Business User\nUser\nEnd User",
    ),
]


def ensure_default_roles(using: str = "default") -> None:
    """Add the default roles when there are none at all (a fresh or flushed database);
    a list ops have edited is left alone."""
    if BuyingRole.objects.using(using).exists():
        return
    BuyingRole.objects.using(using).bulk_create(
        BuyingRole(
            key=key,
            name=name,
            description=description,
            order=order,
            required_from=required_from,
            is_economic_buyer=economic,
            crm_names=crm_names,
        )
        for order, (key, name, description, required_from, economic, crm_names) in enumerate(ROLES)
    )
