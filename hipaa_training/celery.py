"""The Celery app. With no REDIS_URL, tasks run in-process (see settings); with one, on the real broker."""

from __future__ import annotations

import os

from celery import Celery, signals
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hipaa_training.settings")

app = Celery("hipaa_training")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def load_urlconf(**_: object) -> None:
    """Import the URLconf (every view module) when a worker starts, before it forks its processes: otherwise each
    process pays it, about 0.7 s, in its first task that writes a link (a reminder run's first e-mail, a
    certificate's verification URL), and holds its own copy of the modules."""
    from django.urls import get_resolver
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        get_resolver().reverse_dict  # noqa: B018 (reading it builds the resolver's tables for the language)
