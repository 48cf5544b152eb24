from django.db import migrations

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


def add_roles(apps, schema_editor):
    BuyingRole = apps.get_model("strategy", "BuyingRole")
    for order, (key, name, description, required_from, economic, crm_names) in enumerate(ROLES):
        BuyingRole.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "description": description,
                "order": order,
                "required_from": required_from,
                "is_economic_buyer": economic,
                "crm_names": crm_names,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("strategy", "0002_influences_plans")]

    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
