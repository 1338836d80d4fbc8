"""A real Celery round trip: a task sent through Redis, run by a real worker, against the real database."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from hipaa_training.celery import app
from roles.models import Assignment
from roles.tasks import sync_assignments_task
from tests.factories import UserFactory, role

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_worker():
    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.mark.usefixtures("catalog")
def test_a_task_sent_through_redis_is_run_by_a_real_worker(redis_worker):
    person = UserFactory(workforce_role=role("billing"))  # no assignments yet: made behind the engine's back
    assert not Assignment.objects.filter(user=person).exists()

    result = sync_assignments_task.apply_async()
    assert result.id
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Assignment.objects.filter(user=person).exists():
        time.sleep(0.1)
    assert Assignment.objects.filter(user=person).count() == 3
