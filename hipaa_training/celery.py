"""The Celery app. With no REDIS_URL, tasks run in-process (see settings); with one, on the real broker."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hipaa_training.settings")

app = Celery("hipaa_training")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
