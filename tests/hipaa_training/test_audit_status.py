"""Compliance officers see, on every page, when the audit trail was last verified, or a red warning."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hipaa_training import audit
from hipaa_training.celery import app
from hipaa_training.db import drop_triggers
from hipaa_training.models import AuditEvent, AuditVerification
from hipaa_training.tasks import verify_audit_chain_task
from hipaa_training.verify import verification_record

pytestmark = pytest.mark.django_db


def page(client) -> str:
    response = client.get(reverse("records:training"))
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_see_no_audit_status(client, compliance_officer):
    verification_record()
    response = client.get(reverse("records:training"), follow=True)
    assert "Audit trail" not in response.content.decode()


def test_an_employee_sees_no_audit_status_and_it_costs_them_no_query(login, employee):
    verification_record()
    client = login(employee)
    with CaptureQueriesContext(connection) as queries:
        html = page(client)
    assert "Audit trail" not in html
    assert not [q for q in queries.captured_queries if AuditVerification._meta.db_table in q["sql"]]


def test_a_compliance_officer_sees_when_the_trail_was_verified(login, compliance_officer):
    with time_machine.travel(dt.datetime(2026, 5, 4, 7, 30, tzinfo=dt.UTC), tick=False):
        verification_record()
        html = page(login(compliance_officer))
    assert 'class="audit-status audit-ok" role="status"' in html
    assert "Audit trail verified at" in html and 'datetime="2026-05-04T03:30:00-04:00"' in html


def test_a_compliance_officer_is_warned_in_red_when_the_trail_is_broken(login, compliance_officer):
    audit.record("test.event")
    seq = audit.record("test.event").seq - 1
    drop_triggers(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [seq])
    verification_record()

    html = page(login(compliance_officer))

    assert 'class="audit-status audit-bad" role="alert"' in html
    assert f"Audit trail BROKEN at seq {seq}: missing." in html


def test_a_compliance_officer_is_warned_before_the_first_check(login, compliance_officer):
    html = page(login(compliance_officer))
    assert "audit-bad" in html and "has not been verified yet" in html


def test_a_compliance_officer_is_warned_when_the_nightly_check_stopped(login, compliance_officer):
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=3), tick=False):
        verification_record()
    html = page(login(compliance_officer))
    assert "audit-bad" in html and "is the nightly job running?" in html


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_nightly_task_runs_on_a_real_worker(catalog):
    app.conf.update(task_always_eager=False, broker_url=settings.REDIS_URL)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        verify_audit_chain_task.apply_async()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not AuditVerification.objects.exists():
            time.sleep(0.1)
    outcome = AuditVerification.objects.get()
    assert outcome.ok and outcome.anchored_seq == audit.head().seq


def test_a_compliance_officer_is_warned_when_the_anchor_key_is_missing(settings, tmp_path, login, compliance_officer):
    settings.PRODUCTION, settings.AUDIT_ANCHOR_KEY = True, ""
    settings.AUDIT_ANCHOR_KEY_FILE = tmp_path / "no-such.key"
    verify_audit_chain_task.delay()
    html = page(login(compliance_officer))
    assert "audit-bad" in html and "Audit trail not anchored: No audit anchor key" in html
