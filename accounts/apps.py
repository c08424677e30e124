from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The system checks, and the OpenAPI description of the Clerk authentication class.
        from accounts import checks, schema  # noqa: F401
