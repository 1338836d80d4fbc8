from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HipaaTrainingConfig(AppConfig):
    name = "hipaa_training"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import db, security, signals  # noqa: F401

        post_migrate.connect(db.install_append_only_triggers, dispatch_uid="append_only_triggers")
