"""Redis unreachable (a closed port): people still sign in, train, sign, verify, and the officer and auditor
still see the dashboard and export; background work waits and the sweeps catch up."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from hipaa_training.celery import app
from records.models import Certificate, Completion, ReportJob
from records.tasks import certificate_sweep_task, report_sweep_task
from tests.conftest import just_signed_in
from tests.factories import PASSWORD
from tests.records.helpers import assignment_of, check_form, version_of

ROOT = Path(__file__).resolve().parents[2]
CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def product_caches(**env: str) -> dict:
    """CACHES as the product's own settings build them from this environment (not the test settings)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    environment.update(env, DJANGO_SETTINGS_MODULE="hipaa_training.settings")
    code = "import json; from django.conf import settings; print(json.dumps(settings.CACHES))"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def redis_down(settings):
    """The product configured with REDIS_URL at a closed port: its own cache choice, and a dead broker."""
    settings.REDIS_URL = CLOSED
    settings.CACHES = product_caches(REDIS_URL=CLOSED)
    previous = app.conf.broker_url
    app.conf.update(task_always_eager=False, broker_url=CLOSED, broker_connection_timeout=0.5, task_publish_retry=False)
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.update(task_always_eager=True, broker_url=previous, task_publish_retry=True)
    app._pool = None
    app.amqp._producer_pool = None


def test_the_cache_is_never_the_broker_by_default():
    caches = product_caches(REDIS_URL=CLOSED)
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    chosen = product_caches(REDIS_URL=CLOSED, CACHE_URL="redis://127.0.0.1:6379/3")
    assert chosen["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_everyone_still_works_and_the_sweeps_catch_up(
    redis_down, client, catalog, employee, compliance_officer, auditor
):
    # Signing in (allauth's rate limits and the lockout counters live in the cache).
    response = client.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get(reverse("records:training")).status_code == 200

    # Taking a module: every lesson, the knowledge check, the attestation.
    a = assignment_of(employee)
    v = version_of(a)
    for lesson in v.lessons.order_by("position"):
        read = client.post(reverse("records:lesson", args=[a.pk, lesson.position]), {"version": v.pk})
        assert read.status_code == 302
    page = client.get(reverse("records:check", args=[a.pk])).content.decode()
    check = check_form(page, v, right=True)
    assert client.post(reverse("records:check", args=[a.pk]), check).status_code == 302
    signed = client.post(
        reverse("records:attest", args=[a.pk]),
        {"version": v.pk, "typed_name": employee.full_name, "agreed": "on"},
    )
    assert signed.status_code == 302
    completion = Completion.objects.get(assignment=a)
    assert not Certificate.objects.exists()  # its rendering is deferred: the broker is down

    # The public verification page answers (its limit lives in the cache too).
    assert client.get(reverse("records:verify", args=["NOSUCHCODE"])).status_code == 404

    # The officer's dashboard and the auditor's exports.
    client.logout()
    client.force_login(compliance_officer, backend="django.contrib.auth.backends.ModelBackend")
    just_signed_in(client, compliance_officer)
    assert client.get(reverse("records:dashboard")).status_code == 200
    client.logout()
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    just_signed_in(client, auditor)
    export = client.get(reverse("records:audit_export", args=["training"]))
    assert export.status_code == 200 and employee.email in b"".join(export.streaming_content).decode()
    assert client.post(reverse("records:audit_request"), {"kind": "report"}).status_code == 302
    job = ReportJob.objects.get()
    assert job.status == ReportJob.PENDING

    health = client.get(reverse("healthz"))
    assert health.status_code == 200 and health.json()["broker"].startswith("error")

    # The sweeps (on beat, once the broker is back) do what was deferred.
    assert report_sweep_task.apply().get() == 0  # just queued: its task may still be on its way
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert report_sweep_task.apply().get() == 1
    job.refresh_from_db()
    assert job.status == ReportJob.DONE, job.error
    certificate_sweep_task.apply()
    certificate = Certificate.objects.get(completion=completion)
    assert client.get(reverse("records:verify", args=[certificate.code])).status_code == 200
