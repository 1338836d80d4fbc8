from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HipaaTrainingConfig(AppConfig):
    name = "hipaa_training"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import db, security, signals  # noqa: F401

        post_migrate.connect(db.install_append_only_triggers, dispatch_uid="append_only_triggers")
        post_migrate.connect(_create_cache_table, dispatch_uid="create_cache_table")


def _create_cache_table(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The database cache (CACHE_URL's default) needs its table: every migrate makes sure it exists."""
    if sender.name != "hipaa_training":
        return
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
