"""A large import holds the audit chain's lock only at its end: people sign in while it applies (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.urls import reverse

from hipaa_training.models import AuditEvent
from hipaa_training.verify import verify
from roles.imports import workforce_import_apply, workforce_import_upload
from roles.models import User, WorkforceImport
from tests.factories import PASSWORD

HEADER = "email,full_name,workforce_role,department,manager_email,hire_date,status\n"
ROWS = 1500


def big_file(n: int) -> bytes:
    roles = ["billing", "intake", "it", "executive", "compliance", "isolated"]
    lines = [
        f"person{i:05d}@example.test,Person {i},{roles[i % 6]},Department {i % 20},,2025-01-0{1 + i % 9},active"
        for i in range(n)
    ]
    return (HEADER + "\n".join(lines) + "\n").encode()


def other_transactions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sign_in_completes_while_a_large_import_is_applying(client, catalog, compliance_officer, employee):
    plan, upload = workforce_import_upload(content=big_file(ROWS), filename="big.csv", actor=compliance_officer)
    assert plan.ok and upload is not None and len(plan.create) == ROWS
    outcome: dict[str, object] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            workforce_import_apply(upload_id=upload.pk, plan_sha256=upload.plan_sha256, actor=compliance_officer)
            outcome["ok"] = True
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = exc
        finally:
            outcome["seconds"] = time.monotonic() - started
            connections.close_all()

    importer = threading.Thread(target=run)
    importer.start()
    deadline = time.monotonic() + 30
    while other_transactions() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # well into the rows: today's code took the chain's lock at the first one
    assert importer.is_alive(), "the import finished before the sign-in could be tried; make the file larger"

    started = time.monotonic()
    response = client.post(reverse("account_login"), {"login": employee.email, "password": PASSWORD})
    signed_in_after = time.monotonic() - started
    still_importing = importer.is_alive()
    importer.join(timeout=600)

    assert response.status_code == 302
    assert still_importing, f"the sign-in waited for the import ({signed_in_after:.1f} s)"
    assert signed_in_after < 30, signed_in_after  # the import takes minutes; the sign-in competes only for CPU
    assert outcome.get("ok"), outcome
    print(f"import of {ROWS} rows: {outcome['seconds']:.1f} s; sign-in during it: {signed_in_after:.2f} s")
    assert User.objects.filter(email__startswith="person").count() == ROWS
    assert WorkforceImport.objects.get().applied_at is not None
    login = AuditEvent.objects.get(action="auth.login", actor_id=employee.pk)
    imported = AuditEvent.objects.get(action="workforce.imported")
    assert login.seq < imported.seq  # the sign-in's event went in while the import was still applying
    assert verify().ok
