from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "innopoints.accounts"
    label = "accounts"
    verbose_name = "People and roles"

    def ready(self) -> None:
        from innopoints.accounts import signals  # noqa: F401
