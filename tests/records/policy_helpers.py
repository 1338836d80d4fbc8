"""Publishing a policy in tests: through the same services as the officer's pages."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.utils import timezone
from pypdf import PdfWriter

from courses.models import Policy, PolicyVersion
from courses.policies import policy_create, policy_version_publish
from roles.policies import policy_audience_set
from tests.factories import role

BODY = "# Acceptable use\n\nUse **company systems** for company work only.\n"


def publish(
    actor: Any, *, roles: tuple[str, ...] = ("billing",), title: str = "Acceptable use", **version: Any
) -> PolicyVersion:
    """A new policy for `roles` (empty: everyone), published with its first version."""
    policy = policy_create(title=title, owner="Privacy officer", actor=actor)
    policy_audience_set(policy=policy, everyone=not roles, roles=[role(r) for r in roles], actor=actor)
    return publish_version(actor, policy, **version)


def publish_version(actor: Any, policy: Policy, **version: Any) -> PolicyVersion:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "body_markdown": BODY,
        "effective_on": today,
        "review_on": today + dt.timedelta(days=365),
        "change_note": "First version.",
        "material": True,
        "ack_within_days": 14,
    }
    values.update(version)
    return policy_version_publish(policy=policy, actor=actor, **values)


def pdf_bytes(text: str = "policy") -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
