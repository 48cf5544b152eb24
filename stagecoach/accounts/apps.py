from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "stagecoach.accounts"
    label = "accounts"
    verbose_name = "People and teams"
