from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save, pre_save


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Training records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from roles.models import Assignment, PersonState, User

        from . import summaries
        from .models import Completion

        # Stored daily figures are dropped when what they were counted from changes for their day.
        post_save.connect(summaries.history_written, sender=PersonState, dispatch_uid="summaries-history")
        for model in (Assignment, Completion):
            post_save.connect(summaries.backdated, sender=model, dispatch_uid=f"summaries-{model.__name__}")
        pre_save.connect(summaries.person_saving, sender=User, dispatch_uid="summaries-person-before")
        post_save.connect(summaries.person_saved, sender=User, dispatch_uid="summaries-person")
