"""Policies and their acknowledgements, through the services: publishing, the audience, the engine, evidence."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from courses.models import PolicyVersion
from hipaa_training.db import AppendOnlyError
from hipaa_training.models import AuditEvent
from records.models import PolicyAcknowledgement
from records.services import policy_acknowledge
from roles.assignments import sync_policy_assignments
from roles.models import PolicyAssignment
from roles.policies import policy_audience_set
from roles.services import person_update
from tests.conftest import make_person
from tests.factories import role
from tests.records.policy_helpers import BODY, pdf_bytes, publish, publish_version

pytestmark = pytest.mark.django_db


def acknowledge(assignment, name, **extra):
    values = {
        "assignment": assignment,
        "version_id": assignment.policy_version_id,
        "typed_name": name,
        "ip_address": "203.0.113.9",
        "user_agent": "Test browser",
        "actor": assignment.user,
    }
    return policy_acknowledge(**{**values, **extra})


def test_publishing_asks_the_audience_and_nobody_else(
    employee, outsider, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish(compliance_officer, roles=("billing",))
    assert version.number == 1 and version.material
    assert version.content_sha256 == hashlib.sha256(BODY.strip().encode()).hexdigest()
    assert "<strong>company systems</strong>" in version.body_html
    asked = PolicyAssignment.objects.filter(policy_version=version)
    assert sorted(a.user.email for a in asked) == ["billie@example.test", "manager@example.test"]
    first = asked.get(user=employee)
    assert first.due_on == timezone.localdate() + dt.timedelta(days=14)
    assert first.reason == PolicyAssignment.AUDIENCE
    assert AuditEvent.objects.filter(action="policy.version_published").count() == 1
    assert AuditEvent.objects.filter(action="policy_assignment.created").count() == 2
    assert not sync_policy_assignments().created  # running again changes nothing


def test_a_material_version_asks_again_and_a_non_material_one_does_not(
    employee, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        v1 = publish(compliance_officer)
    acknowledge(PolicyAssignment.objects.get(user=employee), employee.full_name)
    with django_capture_on_commit_callbacks(execute=True):
        publish_version(compliance_officer, v1.policy, body_markdown=BODY + "\nTypo fixed.", material=False)
    assert PolicyAssignment.objects.filter(user=employee).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        v3 = publish_version(compliance_officer, v1.policy, body_markdown=BODY + "\nNew rule.", material=True)
    again = PolicyAssignment.objects.get(user=employee, policy_version=v3)
    assert again.reason == PolicyAssignment.NEW_VERSION and again.is_open
    manager_rows = PolicyAssignment.objects.filter(user__email="manager@example.test").order_by("pk")
    assert [a.cancelled_at is not None for a in manager_rows] == [True, False]  # v1, never acknowledged, replaced


def test_a_new_hire_and_a_person_moved_into_the_audience_are_asked(
    outsider, compliance_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish(compliance_officer, roles=("billing",))
    hire = make_person("new.biller@example.test", "Nadia New", "billing")
    assert PolicyAssignment.objects.get(user=hire).reason == PolicyAssignment.NEW_HIRE
    assert not PolicyAssignment.objects.filter(user=outsider).exists()
    person_update(person=outsider, actor=compliance_officer, workforce_role=role("billing"))
    moved = PolicyAssignment.objects.get(user=outsider, policy_version=version)
    assert moved.reason == PolicyAssignment.ROLE_CHANGE
    person_update(person=outsider, actor=compliance_officer, workforce_role=role("intake"))
    moved.refresh_from_db()
    assert moved.cancelled_at is not None and "audience" in moved.cancel_reason


def test_changing_the_audience_asks_the_new_roles(employee, outsider, compliance_officer):
    version = publish(compliance_officer, roles=("billing",))
    sync_policy_assignments()
    policy_audience_set(policy=version.policy, everyone=True, actor=compliance_officer)
    assert PolicyAssignment.objects.filter(user=outsider, cancelled_at__isnull=True).count() == 1
    with pytest.raises(ValidationError):
        policy_audience_set(policy=version.policy, everyone=False, roles=[], actor=compliance_officer)
    assert AuditEvent.objects.filter(action="policy.audience_changed").count() == 2


def test_the_acknowledgement_records_the_exact_text_name_time_address(employee, compliance_officer):
    publish(compliance_officer)
    sync_policy_assignments()
    assignment = PolicyAssignment.objects.get(user=employee)
    ack = acknowledge(assignment, "  billie   BILLER ")
    assert ack.content_sha256 == assignment.policy_version.content_sha256
    assert (ack.typed_name, ack.ip_address, ack.user_agent) == ("billie BILLER", "203.0.113.9", "Test browser")
    assignment.refresh_from_db()
    assert assignment.acknowledged_at == ack.acknowledged_at
    event = AuditEvent.objects.get(action="policy.acknowledged")
    assert event.data["person"] == employee.email and event.data["content_sha256"] == ack.content_sha256
    with pytest.raises(ValidationError, match="already acknowledged"):
        acknowledge(assignment, employee.full_name)
    with pytest.raises(AppendOnlyError):
        ack.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        PolicyAcknowledgement.objects.filter(pk=ack.pk).update(typed_name="Someone else")


def test_a_wrong_name_or_another_version_is_refused_and_nothing_is_saved(employee, compliance_officer):
    publish(compliance_officer)
    sync_policy_assignments()
    assignment = PolicyAssignment.objects.get(user=employee)
    events = AuditEvent.objects.count()
    for name in ("Billie Bilier", "", "   "):
        with pytest.raises(ValidationError, match="full name"):
            acknowledge(assignment, name)
    with pytest.raises(ValidationError, match="not the version"):
        acknowledge(assignment, employee.full_name, version_id=assignment.policy_version_id + 1000)
    assert not PolicyAcknowledgement.objects.exists()
    assert AuditEvent.objects.count() == events
    assignment.refresh_from_db()
    assert assignment.acknowledged_at is None


def test_a_pdf_policy_is_checked_and_hashed(compliance_officer):
    data = pdf_bytes()
    version = publish(compliance_officer, body_markdown="", pdf=data, pdf_name="aup.pdf")
    assert version.is_pdf and bytes(version.pdf) == data
    assert version.pdf_sha256 == version.content_sha256 == hashlib.sha256(data).hexdigest()
    for bad, message in (
        (b"<html>not a pdf</html>", "not a PDF"),
        (b"%PDF-1.7\nrubbish", "could not be read"),
    ):
        with pytest.raises(ValidationError, match=message):
            publish_version(compliance_officer, version.policy, body_markdown="", pdf=bad)
    assert PolicyVersion.objects.filter(policy=version.policy).count() == 1


def test_a_pdf_over_the_limit_is_refused(compliance_officer, settings):
    settings.POLICY_PDF_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match="larger than"):
        publish(compliance_officer, body_markdown="", pdf=pdf_bytes() + b" " * 2048)


def test_a_version_needs_a_change_note_a_body_and_a_later_review_date(compliance_officer):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        publish(compliance_officer, body_markdown="", change_note=" ", review_on=today)
    assert set(refused.value.message_dict) == {"body_markdown", "change_note", "review_on"}
    assert not PolicyVersion.objects.exists()


def test_the_engine_runs_in_a_constant_number_of_queries(compliance_officer, django_assert_num_queries):
    publish(compliance_officer, roles=())
    sync_policy_assignments()
    with django_assert_num_queries(7):
        sync_policy_assignments()
    for n in range(5):
        make_person(f"more{n}@example.test", f"More {n}", "intake")
    with django_assert_num_queries(7):
        sync_policy_assignments()


def test_a_person_moved_out_and_back_in_is_asked_again(outsider, compliance_officer):
    version = publish(compliance_officer, roles=("intake",))
    sync_policy_assignments()
    person_update(person=outsider, actor=compliance_officer, workforce_role=role("billing"))
    person_update(person=outsider, actor=compliance_officer, workforce_role=role("intake"))
    rows = PolicyAssignment.objects.filter(user=outsider, policy_version=version).order_by("pk")
    assert [a.cancelled_at is None for a in rows] == [False, True]
