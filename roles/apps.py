from django.apps import AppConfig


class RolesConfig(AppConfig):
    name = "roles"
    verbose_name = "Workforce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import identity, receivers, security  # noqa: F401
        from .oidc import checks

        checks.refuse_to_start()  # PRODUCTION=1 with a plain-http identity provider
