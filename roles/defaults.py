"""The default workforce roles and the modules each requires (DESIGN.md). Loaded once; then it is data
that the compliance officer changes in the product."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from courses.models import Course
from hipaa_training import audit

from .models import Requirement, WorkforceRole

COMMON = ["security-awareness", "privacy-essentials"]

DEFAULT_ROLES: list[dict[str, Any]] = [
    {
        "slug": "executive",
        "name": "Executive",
        "description": "Owners, directors and team leaders who decide on technology, outsourcing and workflows.",
        "handles_phi": True,
        "courses": [*COMMON, "leadership-oversight"],
    },
    {
        "slug": "billing",
        "name": "Billing and revenue cycle",
        "description": "Claims, coding, denials, prior authorisations, A/R, A/P and payment posting.",
        "handles_phi": True,
        "courses": [*COMMON, "billing-privacy"],
    },
    {
        "slug": "intake",
        "name": "Intake and patient communication",
        "description": "Call centre, registration, eligibility and benefits, client service and account managers.",
        "handles_phi": True,
        "courses": [*COMMON, "patient-communication"],
    },
    {
        "slug": "it",
        "name": "IT and technical",
        "description": "System and database administrators, developers, cloud, analytics and helpdesk.",
        "handles_phi": True,
        "courses": [*COMMON, "privileged-access-security"],
    },
    {
        "slug": "compliance",
        "name": "Compliance and HR",
        "description": "Privacy and security officers, audit, quality and HR staff who handle PHI.",
        "handles_phi": True,
        "courses": [*COMMON, "compliance-program"],
    },
    {
        "slug": "isolated",
        "name": "Isolated (no PHI access)",
        "description": "Roles that never enter PHI work areas or use PHI systems.",
        "handles_phi": False,
        "courses": ["security-awareness", "confidentiality-basics"],
    },
]


def load_default_roles() -> list[str]:
    """Create the default roles and requirements that do not exist yet; never change existing ones."""
    created = []
    courses = {c.slug: c for c in Course.objects.all()}
    with transaction.atomic():
        for spec in DEFAULT_ROLES:
            role, made = WorkforceRole.objects.get_or_create(
                slug=spec["slug"],
                defaults={k: spec[k] for k in ("name", "description", "handles_phi")},
            )
            if made:
                created.append(role.slug)
                for slug in spec["courses"]:
                    if slug in courses:
                        Requirement.objects.get_or_create(role=role, course=courses[slug])
        if created:
            audit.record("requirement.defaults_loaded", data={"roles": created})
    return created
