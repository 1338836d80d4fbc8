"""Evidence tables refuse UPDATE and DELETE at the database level (and TRUNCATE on PostgreSQL), for every
AppendOnlyModel: a new evidence table is covered as soon as it exists (add a row builder below)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from hipaa_training import audit
from hipaa_training.db import AppendOnlyError, AppendOnlyModel, append_only_tables
from hipaa_training.models import AuditEvent
from hipaa_training.verify import verification_record

pytestmark = pytest.mark.django_db


def _model(table: str) -> type[AppendOnlyModel]:
    return next(m for m in apps.get_models() if m._meta.db_table == table)


def _attempt(employee):
    from records.models import QuizAttempt

    assignment = employee.assignments.first()
    return QuizAttempt.objects.create(
        assignment=assignment,
        version=assignment.course.versions.latest("number"),
        number=1,
        question_order=[],
        answers={},
        score=100,
        passed=True,
    )


# Each builder reuses the row another one made: one assignment holds the whole chain of evidence.
def _signature(employee):
    from records.models import AttestationSignature

    if AttestationSignature.objects.exists():
        return AttestationSignature.objects.first()
    assignment = employee.assignments.first()
    return AttestationSignature.objects.create(
        assignment=assignment,
        version=assignment.course.versions.latest("number"),
        statement_sha256="0" * 64,
        typed_name=employee.full_name,
    )


def _completion(employee):
    from records.models import Completion

    if Completion.objects.exists():
        return Completion.objects.first()
    signature = _signature(employee)
    return Completion.objects.create(
        assignment=signature.assignment,
        user=employee,
        version=signature.version,
        attestation=signature,
        score=100,
        attempts=1,
        time_spent_seconds=600,
    )


def _certificate(employee):
    from records.models import Certificate

    if Certificate.objects.exists():
        return Certificate.objects.first()
    return Certificate.objects.create(
        completion=_completion(employee), code="c" * 32, file="certificates/x.pdf", sha256="0" * 64
    )


def _revocation(employee):
    from records.models import CertificateRevocation

    return CertificateRevocation.objects.create(certificate=_certificate(employee), reason="Issued in error.")


def _bulletin(employee):
    from django.utils import timezone

    from roles.models import Bulletin

    if Bulletin.objects.exists():
        return Bulletin.objects.first()
    return Bulletin.objects.create(
        title="Phishing", body="Check the sender.", send_at=timezone.now(), created_by=employee
    )


def _bulletin_delivery(employee):
    from django.utils import timezone

    from roles.models import BulletinDelivery

    return BulletinDelivery.objects.create(bulletin=_bulletin(employee), person=employee, sent_at=timezone.now())


def _bulletin_ack(employee):
    from roles.models import BulletinAcknowledgement

    return BulletinAcknowledgement.objects.create(bulletin=_bulletin(employee), person=employee)


def _client_scope(employee):
    from roles.models import Client, ClientScope

    client = Client.objects.create(name="Riverside Clinic", baa_effective_on=timezone.localdate())
    return ClientScope.objects.create(
        client=client, person=employee, action=ClientScope.ADDED, valid_from=timezone.localdate(), reason="test"
    )


def _policy_version(employee):
    from courses.models import PolicyVersion
    from tests.records.policy_helpers import publish

    if PolicyVersion.objects.exists():
        return PolicyVersion.objects.first()
    return publish(None)


def _policy_ack(employee):
    from records.models import PolicyAcknowledgement
    from roles.assignments import sync_policy_assignments
    from roles.models import PolicyAssignment

    version = _policy_version(employee)
    sync_policy_assignments(people=[employee])
    assignment = PolicyAssignment.objects.get(user=employee, policy_version=version)
    return PolicyAcknowledgement.objects.create(
        assignment=assignment, person=employee, version=version, content_sha256="0" * 64, typed_name="Eve Evidence"
    )


def _draft_revision(employee):
    from courses.drafts import draft_start
    from courses.models import CourseVersion

    draft = draft_start(version=CourseVersion.objects.filter(course__slug="security-awareness").first(), actor=None)
    return draft.revisions.get()


# Tables the catalogue fixture does not fill: how to make one row (table name -> builder taking the employee).
BUILDERS: dict[str, Callable] = {
    "hipaa_training_auditverification": lambda employee: verification_record(anchor_head=False),
    "records_quizattempt": _attempt,
    "records_attestationsignature": _signature,
    "records_completion": _completion,
    "records_certificate": _certificate,
    "records_certificaterevocation": _revocation,
    "roles_bulletin": _bulletin,
    "roles_bulletindelivery": _bulletin_delivery,
    "roles_bulletinacknowledgement": _bulletin_ack,
    "roles_clientscope": _client_scope,
    "courses_policyversion": _policy_version,
    "records_policyacknowledgement": _policy_ack,
    "courses_coursedraftrevision": _draft_revision,
}


@pytest.fixture(scope="module")
def rows(django_db_setup, django_db_blocker) -> Iterator[dict[str, tuple[type[AppendOnlyModel], object]]]:
    """One row in every evidence table, made once for the module (rolled back after it): the catalogue is slow."""
    from courses.loader import load_catalog
    from roles.defaults import load_default_roles
    from tests.conftest import make_person

    with django_db_blocker.unblock(), transaction.atomic():
        load_catalog()
        load_default_roles()
        employee = make_person("evidence@example.test", "Eve Evidence", "billing")
        made = {}
        for table in append_only_tables():
            model = _model(table)
            row = model._default_manager.first()
            if row is None:
                if table not in BUILDERS:
                    pytest.fail(f"{table} is append-only: add a row builder for it to BUILDERS in {__name__}")
                row = BUILDERS[table](employee)
            made[table] = (model, row.pk)
        yield made
        transaction.set_rollback(True)


def _refused(statement: str, params: list) -> str:
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(refused.value)


def test_the_evidence_tables_are_all_covered():
    tables = append_only_tables()
    for expected in ("hipaa_training_auditevent", "records_completion", "records_certificate", "courses_lesson"):
        assert expected in tables


@pytest.mark.parametrize("table", append_only_tables())
def test_update_and_delete_are_refused_by_the_database(table, rows):
    model, row_pk = rows[table]
    quote = connection.ops.quote_name
    pk = quote(model._meta.pk.column)

    assert "append-only" in _refused(f"UPDATE {quote(table)} SET {pk} = {pk} WHERE {pk} = %s", [row_pk])
    assert "append-only" in _refused(f"DELETE FROM {quote(table)} WHERE {pk} = %s", [row_pk])
    assert model._default_manager.filter(pk=row_pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize("table", append_only_tables())
def test_truncate_is_refused_on_postgresql(table, rows):
    model, row_pk = rows[table]
    with connection.cursor() as cursor:  # check the deferred foreign keys now: TRUNCATE refuses to run before
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert "append-only" in _refused(f"TRUNCATE {connection.ops.quote_name(table)} CASCADE", [])
    assert model._default_manager.filter(pk=row_pk).exists()


def test_the_orm_refuses_too_before_reaching_the_database():
    event = audit.record("test.event")
    event.action = "edited"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(at=timezone.now() - dt.timedelta(days=1))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
