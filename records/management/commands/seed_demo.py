"""A demo company: departments, one person per workforce role, an officer, an auditor, a manager, ~50 more,
and a realistic history taken through the records services: completions with attempts, signed attestations and
certificates; some people overdue. billing@demo.example keeps all three of their modules open for the demo."""

from __future__ import annotations

import datetime as dt
import os
import random
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from records.walkthrough import module_walk
from roles import access
from roles.assignments import sync_assignments
from roles.defaults import load_default_roles
from roles.models import Assignment, Department, User, WorkforceRole
from roles.services import person_create

DEPARTMENTS = {
    "executive": "Executive Office",
    "billing": "Billing Operations",
    "intake": "Patient Services",
    "it": "Technology",
    "compliance": "Compliance and HR",
    "isolated": "Facilities",
}
FIRST = [
    "Avery",
    "Jordan",
    "Riley",
    "Morgan",
    "Casey",
    "Taylor",
    "Quinn",
    "Rowan",
    "Parker",
    "Sasha",
    "Elena",
    "Marcus",
    "Priya",
    "Diego",
    "Hannah",
    "Kenji",
    "Lena",
    "Omar",
    "Grace",
    "Tomas",
]
LAST = [
    "Nguyen",
    "Patel",
    "Garcia",
    "Okafor",
    "Schmidt",
    "Kowalski",
    "Haddad",
    "Brennan",
    "Iverson",
    "Moreau",
    "Delgado",
    "Lindqvist",
    "Achebe",
    "Romano",
    "Takahashi",
    "Whitfield",
    "Castillo",
    "Novak",
    "Farouk",
    "Young",
]
# Weighted like a billing company: mostly billing and intake staff.
ROLE_WEIGHTS = {"billing": 18, "intake": 14, "it": 6, "compliance": 3, "executive": 3, "isolated": 6}


class Command(BaseCommand):
    help = "Build the demo company (idempotent). Password from DEMO_PASSWORD (default hipaa-demo-2026)."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD", "hipaa-demo-2026")
        call_command("load_catalog", verbosity=0, stdout=self.stdout)
        load_default_roles()
        today = timezone.localdate()
        with transaction.atomic():
            roles = {r.slug: r for r in WorkforceRole.objects.all()}
            departments = {slug: Department.objects.get_or_create(name=name)[0] for slug, name in DEPARTMENTS.items()}
            new_people: list[User] = []

            def person(email: str, name: str, role: str | None, *, groups: tuple[str, ...] = (), **extra: Any) -> User:
                existing = User.objects.filter(email=email).first()
                if existing:
                    return existing
                made = person_create(
                    email=email,
                    full_name=name,
                    workforce_role=roles.get(role) if role else None,
                    department=departments.get(role) if role else None,
                    invite=False,
                    **extra,
                )
                for group in groups:
                    made.groups.add(Group.objects.get(name=group))
                new_people.append(made)
                return made

            manager = person(
                "manager@demo.example",
                "Morgan Manager",
                "billing",
                groups=(access.MANAGER,),
                hire_date=today - dt.timedelta(days=900),
            )
            person(
                "officer@demo.example",
                "Olivia Officer",
                "compliance",
                groups=(access.COMPLIANCE_OFFICER,),
                hire_date=today - dt.timedelta(days=1500),
            )
            person(
                "auditor@demo.example",
                "Aubrey Auditor",
                None,
                groups=(access.AUDITOR,),
                access_expires_on=today + dt.timedelta(days=90),
            )
            admin = person(
                "admin@demo.example",
                "Ada Administrator",
                "it",
                groups=(access.ADMINISTRATOR,),
                hire_date=today - dt.timedelta(days=2000),
            )
            if not admin.is_superuser:
                User.objects.filter(pk=admin.pk).update(is_superuser=True, is_staff=True)
            names = {
                "executive": "Evelyn Executive",
                "billing": "Billie Biller",
                "intake": "Ingrid Intake",
                "it": "Ivan Technologist",
                "compliance": "Camila Compliance",
                "isolated": "Isaac Isolated",
            }
            for slug, name in names.items():
                person(
                    f"{slug}@demo.example",
                    name,
                    slug,
                    manager=manager,
                    hire_date=today - dt.timedelta(days=400),
                )

            rng = random.Random(2026)
            pool = [slug for slug, weight in ROLE_WEIGHTS.items() for _ in range(weight)]
            for i in range(1, 51):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                # Mixed hire dates: a few started this month, most long ago.
                days = rng.choice([3, 10, 20, 45, 120, 400, 800, 1500, 2500])
                person(
                    f"{first.lower()}.{last.lower()}{i}@demo.example",
                    f"{first} {last}",
                    rng.choice(pool),
                    manager=manager if i % 3 == 0 else None,
                    hire_date=today - dt.timedelta(days=days),
                )
            if new_people:
                User.objects.filter(pk__in=[p.pk for p in new_people]).update(password=make_password(password))
        sync_assignments()
        completed = self.history(today)
        self.stdout.write(self.style.SUCCESS(f"Training history: {completed} modules completed by this run."))
        self.stdout.write(self.style.SUCCESS(f"Demo company ready ({User.objects.count()} people)."))
        self.stdout.write(f"Password for every demo login: {password}")
        for email, what in [
            ("billing@demo.example", "billing employee"),
            ("executive@demo.example", "executive"),
            ("intake@demo.example", "intake employee"),
            ("it@demo.example", "IT employee"),
            ("compliance@demo.example", "compliance employee"),
            ("isolated@demo.example", "isolated role (no PHI)"),
            ("manager@demo.example", "manager"),
            ("officer@demo.example", "compliance officer"),
            ("auditor@demo.example", "auditor"),
            ("admin@demo.example", "administrator (/admin/)"),
        ]:
            self.stdout.write(f"  {email:28} {what}")

    def history(self, today: dt.date) -> int:
        """Completions through the real services; overdue modules for some. Already-taken modules are skipped."""
        finishers = {
            "executive@demo.example": None,  # None: every module
            "intake@demo.example": {"security-awareness"},
            "it@demo.example": {"security-awareness", "privacy-essentials"},
            "compliance@demo.example": {"security-awareness", "privacy-essentials"},
            "officer@demo.example": {"security-awareness"},
            "manager@demo.example": {"security-awareness"},
        }
        randoms = list(User.objects.filter(email__regex=r"[0-9]+@demo\.example$").order_by("pk"))
        for i, person in enumerate(randoms):
            if i % 10 == 0:
                finishers[person.email] = {"security-awareness"} if i else None
        overdue = {"isolated@demo.example"} | {p.email for i, p in enumerate(randoms) if i % 5 == 1}
        done = 0
        open_assignments = Assignment.objects.open().select_related("user", "course").order_by("pk")
        for n, a in enumerate(open_assignments.filter(user__email__in=finishers)):
            wanted = finishers[a.user.email]
            if (wanted is None or a.course.slug in wanted) and not a.attempts.exists():
                module_walk(a, fail_first=n % 3 == 0, ip_address="127.0.0.1", user_agent="seed_demo")
                done += 1
        Assignment.objects.open().filter(user__email__in=overdue, due_on__gte=today).update(
            due_on=today - dt.timedelta(days=12)
        )
        return done
