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

pytestmark = pytest.mark.usefixtures("catalog")


def passkey_of(owner: Any) -> dict[str, Any]:
    key = Authenticator.objects.create(user=owner, type=Authenticator.Type.WEBAUTHN, data={"name": "laptop"})
    return {"pk": key.pk}


# (url name, make(owner) -> kwargs, method)
IDOR_CASES: list[tuple[str, Callable[[Any], dict[str, Any]], str]] = [
    ("mfa_remove_webauthn", passkey_of, "post"),
    ("mfa_edit_webauthn", passkey_of, "get"),
]


@pytest.mark.parametrize(("url_name", "make", "method"), IDOR_CASES, ids=[c[0] for c in IDOR_CASES])
@pytest.mark.parametrize("asker", ["outsider", "manager", "compliance_officer"])
def test_another_persons_object_is_404(request, login, employee, url_name, make, method, asker):
    url = reverse(url_name, kwargs=make(employee))
    client = login(request.getfixturevalue(asker))
    response = getattr(client, method)(url)
    assert response.status_code == 404
    assert Authenticator.objects.filter(user=employee).count() >= 1  # nothing of theirs was touched
