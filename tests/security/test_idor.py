"""IDOR: one person asking for another person's object gets 404, never the object.

Add a row to IDOR_CASES for every URL that names an object of one person (assignments, attempts, attestations,
certificates, transcripts as they land): `make(owner)` returns the URL kwargs of an object that belongs to owner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from records.documents.certificate import certificate_issue
from records.models import AttestationSignature, Completion, LessonView, PolicyAcknowledgement, QuizAttempt
from tests.records.helpers import assignment_of, attempt, see_lessons, take

pytestmark = pytest.mark.usefixtures("catalog")


def passkey_of(owner: Any) -> dict[str, Any]:
    key = Authenticator.objects.create(user=owner, type=Authenticator.Type.WEBAUTHN, data={"name": "laptop"})
    return {"pk": key.pk}


def assignment_of_owner(owner: Any) -> dict[str, Any]:
    return {"assignment_id": assignment_of(owner).pk}


def lesson_of(owner: Any) -> dict[str, Any]:
    return {"assignment_id": assignment_of(owner).pk, "position": 1}


def attempt_of(owner: Any) -> dict[str, Any]:
    a = assignment_of(owner)
    see_lessons(a)
    attempt(a, right=False)
    return {"assignment_id": a.pk, "number": 1}


def passed_check_of(owner: Any) -> dict[str, Any]:
    a = assignment_of(owner)
    see_lessons(a)
    attempt(a, right=True)
    return {"assignment_id": a.pk}  # the attestation page (and its POST) is next for the owner


def completion_of(owner: Any) -> dict[str, Any]:
    return {"assignment_id": take(assignment_of(owner)).assignment_id}


def certificate_of(owner: Any) -> dict[str, Any]:
    completion = take(assignment_of(owner))
    return {"code": certificate_issue(completion_id=completion.pk).code}


def policy_assignment_of(owner: Any) -> dict[str, Any]:
    from roles.assignments import sync_policy_assignments
    from roles.models import PolicyAssignment
    from tests.records.policy_helpers import publish

    version = publish(None, roles=())  # the whole workforce: everyone asking has one of their own too
    sync_policy_assignments()
    return {"policy_assignment_id": PolicyAssignment.objects.get(user=owner, policy_version=version).pk}


EVERYONE_ELSE = ("outsider", "manager", "compliance_officer")
# (url name, make(owner) -> kwargs, method, who asks for it)
IDOR_CASES: list[tuple[str, Callable[[Any], dict[str, Any]], str, tuple[str, ...]]] = [
    ("mfa_remove_webauthn", passkey_of, "post", EVERYONE_ELSE),
    ("mfa_edit_webauthn", passkey_of, "get", EVERYONE_ELSE),
    ("records:overview", assignment_of_owner, "get", EVERYONE_ELSE),
    ("records:lesson", lesson_of, "post", EVERYONE_ELSE),
    ("records:check", assignment_of_owner, "get", EVERYONE_ELSE),
    ("records:attempt", attempt_of, "get", EVERYONE_ELSE),
    ("records:attest", passed_check_of, "get", EVERYONE_ELSE),
    ("records:attest", passed_check_of, "post", EVERYONE_ELSE),
    ("records:done", completion_of, "get", EVERYONE_ELSE),
    ("records:transcript", lambda owner: {"person_id": owner.pk}, "get", ("outsider", "administrator")),
    # compliance officers and auditors may download anyone's certificate; a colleague or a manager may not
    ("records:certificate_download", certificate_of, "get", ("outsider", "manager", "administrator")),
    ("records:policy_read", policy_assignment_of, "get", EVERYONE_ELSE),
    ("records:policy_read", policy_assignment_of, "post", EVERYONE_ELSE),
]


def _evidence(owner: Any) -> tuple[int, ...]:
    return (
        QuizAttempt.objects.filter(assignment__user=owner).count(),
        AttestationSignature.objects.filter(assignment__user=owner).count(),
        Completion.objects.filter(user=owner).count(),
        LessonView.objects.filter(assignment__user=owner).count(),
        Authenticator.objects.filter(user=owner).count(),
        PolicyAcknowledgement.objects.filter(person=owner).count(),
    )


@pytest.mark.parametrize(
    ("url_name", "make", "method", "asker"),
    [(name, make, method, asker) for name, make, method, askers in IDOR_CASES for asker in askers],
    ids=[f"{name}-{method}-{asker}" for name, _, method, askers in IDOR_CASES for asker in askers],
)
def test_another_persons_object_is_404(request, login, employee, url_name, make, method, asker):
    url = reverse(url_name, kwargs=make(employee))
    before = _evidence(employee)
    client = login(request.getfixturevalue(asker))
    data = {"typed_name": employee.full_name, "agreed": "on"} if method == "post" else None
    response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code == 404
    assert _evidence(employee) == before  # nothing of theirs was read into a page or touched
