"""A demo company with a real year behind it, built through the product's own services under a moved clock.

About 60 people hired over the last three years. The product was adopted a year ago: that day the workforce
hired by then was added and assigned its modules; since then new hires joined on their hire dates, people
took their modules (some late, a few never), privacy essentials had a material change with its retraining
wave, two security reminders went out and were acknowledged, the five starter policies
(courses/policy_templates) were published to everyone and acknowledged, a client (Lakeside Orthopedic Group) signed
its BAA with Billing Operations working its accounts, one person left, and the annual cycle
came round. Each step runs with the clock set to its day (time-machine), so every record, hash and audit event is
what the product would have written that day. Finally the audit trail is verified and anchored.

Running it again adds nothing (the catalogue is still brought up to date, as `load_catalog` does).
billing@demo.example joined twelve days ago and keeps all three modules and the five policies open for the demo.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import time_machine
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test.utils import override_settings
from django.utils import timezone

from courses.loader import CourseSpec, default_catalog_dir, parse_catalog, publish_course
from courses.models import CourseVersion
from courses.policies import policy_create, policy_templates, policy_version_publish
from hipaa_training import audit, verify
from hipaa_training.celery import app as celery_app
from hipaa_training.models import AuditVerification
from records.services import policy_acknowledge
from records.walkthrough import module_walk
from roles import access
from roles.assignments import sync_assignments
from roles.bulletins import bulletin_acknowledge, bulletin_create
from roles.clients import client_create, client_scope_add
from roles.defaults import load_default_roles
from roles.models import Assignment, Bulletin, Department, PolicyAssignment, User, WorkforceRole
from roles.policies import policy_audience_set
from roles.services import person_create, person_deactivate

OFFICER = "officer@demo.example"
CHANGED_COURSE = "privacy-essentials"
# The lessons the material change added (the catalogue's current version has them, the year-old one did not).
ADDED_LESSONS = ("Specially protected records", "State law")
DEPARTMENTS = {
    "executive": "Executive Office",
    "billing": "Billing Operations",
    "intake": "Patient Services",
    "it": "Technology",
    "compliance": "Compliance and HR",
    "isolated": "Facilities",
}
FIRST = [
    "Avery", "Jordan", "Riley", "Morgan", "Casey", "Taylor", "Quinn", "Rowan", "Parker", "Sasha",
    "Elena", "Marcus", "Priya", "Diego", "Hannah", "Kenji", "Lena", "Omar", "Grace", "Tomas",
]  # fmt: skip
LAST = [
    "Nguyen", "Patel", "Garcia", "Okafor", "Schmidt", "Kowalski", "Haddad", "Brennan", "Iverson", "Moreau",
    "Delgado", "Lindqvist", "Achebe", "Romano", "Takahashi", "Whitfield", "Castillo", "Novak", "Farouk", "Young",
]  # fmt: skip
# Weighted like a billing company: mostly billing and intake staff.
ROLE_WEIGHTS = {"billing": 18, "intake": 14, "it": 6, "compliance": 3, "executive": 3, "isolated": 6}
RANDOM_PEOPLE = 50
BULLETINS = [
    (
        80,
        "Phishing: check the sender before you click",
        "Payers and clients never ask for a password by e-mail. If a message asks you to sign in, open the "
        "portal from your bookmarks instead, and forward the message to security@demo.example.",
    ),
    (
        250,
        "Lock your screen, every time you step away",
        "Windows+L or Ctrl+Cmd+Q. A claim on an unlocked screen is a disclosure waiting to happen; the screens "
        "now lock by themselves after five minutes.",
    ),
]
MATERIAL_CHANGE_DAY = 200  # days after the product was adopted
POLICY_DAY = 20  # the starter policies are published to everyone
REVIEW_SOON = "sanctions"  # its review date falls due in two weeks: the officer's list shows it
LEAVER_DAY = 160
CLIENT_DAY = 45  # a client's business associate agreement takes effect; Billing Operations works its accounts
CLIENT = "Lakeside Orthopedic Group"
STRAGGLER_RATE = 0.04  # assignments nobody gets round to
LATE_RATE = 0.15


@dataclass
class Hire:
    email: str
    name: str
    role: str | None
    hire_date: dt.date | None
    groups: tuple[str, ...] = ()
    reports_to_manager: bool = False
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def _seeded(*parts: object) -> random.Random:
    """A random stream fixed by its parts, so each person's and each assignment's story is the same every run."""
    return random.Random(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest())


def _weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def earlier_edition(spec: CourseSpec) -> CourseSpec:
    """The course as it stood a year ago: without the lessons its material change added."""
    lessons = [lesson for lesson in spec.lessons if not lesson.title.startswith(ADDED_LESSONS)]
    return dataclasses.replace(
        spec,
        lessons=lessons,
        material=True,
        change_note="First edition.",
        content_hash=hashlib.sha256(f"earlier edition of {spec.content_hash}".encode()).hexdigest(),
    )


@contextmanager
def tasks_in_process() -> Iterator[None]:
    """Certificates and deliveries are made on the day they happened, not later by a worker in today's time."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


class Year:
    """The demo company's last year, day by day."""

    def __init__(self, *, today: dt.date, password: str) -> None:
        self.today = today
        self.start = today - dt.timedelta(days=365)
        self.password_hash = make_password(password)  # one hash for every demo login: hashing is slow on purpose
        self.events: dict[dt.date, list[tuple[dt.time, int, Callable[[], None]]]] = defaultdict(list)
        self.order = 0
        self.officer: User | None = None
        self.manager: User | None = None
        self.completed = 0
        self.never: set[tuple[str, str]] = {("isolated@demo.example", "confidentiality-basics")}
        self.open_for_demo = {"billing@demo.example"}
        self.always = {
            "executive@demo.example",
            "intake@demo.example",
            "it@demo.example",
            "compliance@demo.example",
            "isolated@demo.example",
            OFFICER,
            "manager@demo.example",
            "admin@demo.example",
        }

    # --- the clock ---

    def moment(self, day: dt.date, at: dt.time) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, at))

    def on(self, day: dt.date, at: dt.time, action: Callable[[], None]) -> None:
        self.order += 1
        self.events[day].append((at, self.order, action))

    # --- who works here ---

    def roster(self) -> list[Hire]:
        t = self.today
        people = [
            Hire(OFFICER, "Olivia Officer", "compliance", t - dt.timedelta(days=1500), (access.COMPLIANCE_OFFICER,)),
            Hire("manager@demo.example", "Morgan Manager", "billing", t - dt.timedelta(days=900), (access.MANAGER,)),
            Hire(
                "auditor@demo.example",
                "Aubrey Auditor",
                None,
                None,
                (access.AUDITOR,),
                extra={"access_expires_on": t + dt.timedelta(days=90)},
            ),
            Hire("admin@demo.example", "Ada Administrator", "it", t - dt.timedelta(days=1000), (access.ADMINISTRATOR,)),
        ]
        for slug, name, days in [
            ("executive", "Evelyn Executive", 1050),
            ("billing", "Billie Biller", 12),
            ("intake", "Ingrid Intake", 700),
            ("it", "Ivan Technologist", 540),
            ("compliance", "Camila Compliance", 420),
            ("isolated", "Isaac Isolated", 400),
        ]:
            people.append(
                Hire(f"{slug}@demo.example", name, slug, t - dt.timedelta(days=days), reports_to_manager=True)
            )
        rng = random.Random(2026)
        pool = [slug for slug, weight in ROLE_WEIGHTS.items() for _ in range(weight)]
        for i in range(1, RANDOM_PEOPLE + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            # Hired over the last three years, a third of them in the last one.
            days = rng.randint(366, 3 * 365) if rng.random() < 0.66 else rng.randint(5, 360)
            people.append(
                Hire(
                    f"{first.lower()}.{last.lower()}{i}@demo.example",
                    f"{first} {last}",
                    rng.choice(pool),
                    t - dt.timedelta(days=days),
                    reports_to_manager=i % 3 == 0,
                )
            )
        return people

    def hire(self, h: Hire) -> User:
        roles = {r.slug: r for r in WorkforceRole.objects.all()}
        departments = {d.name: d for d in Department.objects.all()}
        made = person_create(
            email=h.email,
            full_name=h.name,
            actor=self.officer,
            workforce_role=roles.get(h.role) if h.role else None,
            department=departments.get(DEPARTMENTS[h.role]) if h.role else None,
            manager=self.manager if h.reports_to_manager else None,
            hire_date=h.hire_date,
            invite=False,
            **h.extra,
        )
        User.objects.filter(pk=made.pk).update(password=self.password_hash)
        for group in h.groups:
            made.groups.add(Group.objects.get(name=group))
        if access.ADMINISTRATOR in h.groups:
            User.objects.filter(pk=made.pk).update(is_superuser=True, is_staff=True)
        return made

    def join(self, h: Hire) -> None:
        self.hire(h)

    # --- what people do ---

    def plan(self, a: Assignment) -> dt.datetime | None:
        """When this person gets round to this assignment, or None for never."""
        email, slug = a.user.email, a.course.slug
        if email in self.open_for_demo or (email, slug) in self.never:
            return None
        rng = _seeded(email, slug, a.cycle, a.reason)
        window = max(2, (a.due_on - a.assigned_on).days)
        r = rng.random()
        if r < STRAGGLER_RATE and email not in self.always:
            return None
        late = r < STRAGGLER_RATE + LATE_RATE
        delay = rng.randint(window + 2, window + 45) if late else rng.randint(1, window - 1)
        day = _weekday(a.assigned_on + dt.timedelta(days=delay))
        return self.moment(day, dt.time(rng.randint(9, 16), rng.randint(0, 59)))

    def take(self, assignment_id: int) -> None:
        a = Assignment.objects.select_related("user", "course").get(pk=assignment_id)
        if a.completed_at or a.cancelled_at or not a.user.is_active:
            return
        fail_first = _seeded(a.user.email, a.course.slug, a.cycle, "fail").random() < 0.3
        module_walk(a, fail_first=fail_first, ip_address="10.20.0.15", user_agent="Mozilla/5.0 (demo seed)")
        self.completed += 1

    def schedule_completions(self, day: dt.date) -> None:
        for a in Assignment.objects.open().select_related("user", "course").order_by("pk"):
            when = self.plan(a)
            if when is not None and timezone.localdate(when) == day:
                self.on(day, when.timetz().replace(tzinfo=None), partial(self.take, a.pk))
        for p in PolicyAssignment.objects.open().select_related("user").order_by("pk"):
            when = self.plan_acknowledgement(p)
            if when is not None and timezone.localdate(when) == day:
                self.on(day, when.timetz().replace(tzinfo=None), partial(self.acknowledge_policy, p.pk))

    def plan_acknowledgement(self, a: PolicyAssignment) -> dt.datetime | None:
        """When this person acknowledges this policy, or None for never (the demo's billing employee)."""
        if a.user.email in self.open_for_demo:
            return None
        rng = _seeded(a.user.email, a.policy_version_id, "policy")
        window = max(2, (a.due_on - a.assigned_on).days)
        late = rng.random() < LATE_RATE and a.user.email not in self.always
        delay = rng.randint(window + 1, window + 20) if late else rng.randint(0, window - 1)
        day = _weekday(a.assigned_on + dt.timedelta(days=delay))
        return self.moment(day, dt.time(rng.randint(9, 16), rng.randint(0, 59)))

    def acknowledge_policy(self, assignment_id: int) -> None:
        a = PolicyAssignment.objects.select_related("user").get(pk=assignment_id)
        if a.is_open and a.user.is_active:
            policy_acknowledge(
                assignment=a,
                version_id=a.policy_version_id,
                typed_name=a.user.full_name,
                ip_address="10.20.0.15",
                user_agent="Mozilla/5.0 (demo seed)",
                actor=a.user,
            )

    def sign_client(self) -> None:
        """A covered entity signs its BAA; its claims are worked by Billing Operations (its evidence pack covers
        them). The agreement adds no module of its own, so the demo's training figures stay as they are."""
        client = client_create(
            name=CLIENT,
            baa_effective_on=timezone.localdate(),
            notes="Orthopaedic practice: claims, denials and payment posting. Asks for an evidence pack each year.",
            actor=self.officer,
        )
        client_scope_add(
            client=client,
            department=Department.objects.get(name=DEPARTMENTS["billing"]),
            reason="Billing Operations works Lakeside's claims and denials",
            actor=self.officer,
        )

    def publish_policies(self) -> None:
        today = timezone.localdate()
        for template in policy_templates():
            policy = policy_create(title=template.title, owner="Olivia Officer, privacy officer", actor=self.officer)
            policy_audience_set(policy=policy, everyone=True, actor=self.officer)
            review = (
                self.today + dt.timedelta(days=14)
                if template.slug == REVIEW_SOON
                else today.replace(year=today.year + 2)
            )
            policy_version_publish(
                policy=policy,
                body_markdown=template.body_markdown,
                effective_on=today,
                review_on=review,
                change_note="First version, adapted from the product's starter template.",
                material=True,
                ack_within_days=30,
                actor=self.officer,
            )

    def publish_change(self, spec: CourseSpec) -> None:
        publish_course(spec, actor=self.officer)  # material: its retraining is assigned on commit

    def remind(self, title: str, body: str, day: dt.date) -> None:
        assert self.officer is not None
        bulletin = bulletin_create(title=title, body=body, send_at=timezone.now(), actor=self.officer)
        for person in User.objects.filter(is_active=True, workforce_role__isnull=False).order_by("pk"):
            rng = _seeded(person.email, title)
            if rng.random() < 0.88:
                later = _weekday(day + dt.timedelta(days=rng.choice([0, 0, 0, 1, 1, 2, 3, 6, 9])))
                if later <= self.today:
                    at = dt.time(rng.randint(9, 16), rng.randint(0, 59))
                    self.on(later, at, partial(self.acknowledge, bulletin.pk, person.pk))

    def acknowledge(self, bulletin_id: int, person_id: int) -> None:
        person = User.objects.get(pk=person_id)
        if person.is_active:
            bulletin_acknowledge(
                bulletin=Bulletin.objects.get(pk=bulletin_id),
                person=person,
                ip_address="10.20.0.15",
                user_agent="Mozilla/5.0 (demo seed)",
            )

    def leave(self, email: str) -> None:
        person_deactivate(person=User.objects.get(email=email), actor=self.officer)

    # --- the year ---

    def run(self) -> None:
        roster = self.roster()
        founding = [h for h in roster if h.hire_date is None or h.hire_date <= self.start]
        later = [h for h in roster if h.hire_date is not None and h.hire_date > self.start]
        specs = parse_catalog(default_catalog_dir())
        # On a database whose catalogue was loaded already, the year has no material change of its own.
        with_change = not CourseVersion.objects.filter(course__slug=CHANGED_COURSE).exists()
        with time_machine.travel(self.moment(self.start, dt.time(8, 0))):
            for spec in specs:
                publish_course(earlier_edition(spec) if with_change and spec.slug == CHANGED_COURSE else spec)
            load_default_roles()
            for name in DEPARTMENTS.values():
                Department.objects.get_or_create(name=name)
            for h in founding:
                made = self.hire(h)
                if h.email == OFFICER:
                    self.officer = made
                elif h.email == "manager@demo.example":
                    self.manager = made
        for h in later:
            assert h.hire_date is not None
            self.on(h.hire_date, dt.time(8, 30), partial(self.join, h))
        if with_change:
            changed = next(s for s in specs if s.slug == CHANGED_COURSE)
            change_day = _weekday(self.start + dt.timedelta(days=MATERIAL_CHANGE_DAY))
            self.on(change_day, dt.time(7, 45), partial(self.publish_change, changed))
        self.on(_weekday(self.start + dt.timedelta(days=POLICY_DAY)), dt.time(7, 30), self.publish_policies)
        self.on(_weekday(self.start + dt.timedelta(days=CLIENT_DAY)), dt.time(9, 0), self.sign_client)
        for offset, title, body in BULLETINS:
            day = _weekday(self.start + dt.timedelta(days=offset))
            self.on(day, dt.time(8, 0), partial(self.remind, title, body, day))
        leaver = [h for h in founding if h.email[-14].isdigit()][5]  # one of the long-standing staff
        self.on(
            _weekday(self.start + dt.timedelta(days=LEAVER_DAY)), dt.time(17, 30), partial(self.leave, leaver.email)
        )

        day = self.start
        while day < self.today:
            day += dt.timedelta(days=1)
            with time_machine.travel(self.moment(day, dt.time(1, 0))):
                sync_assignments()  # the nightly beat: the annual cycle comes round
            if day < self.today:
                self.schedule_completions(day)
            self.live(day)

    def live(self, day: dt.date) -> None:
        """Do the day's events in time order; an event may plan more for later the same day."""
        pending = self.events[day]
        while pending:
            pending.sort(key=lambda e: (e[0], e[1]))
            at, _, action = pending.pop(0)
            moment = self.moment(day, at)
            if day == self.today and moment > timezone.now():
                continue  # later today: not yet
            with time_machine.travel(moment):
                action()
        del self.events[day]


class Command(BaseCommand):
    help = (
        "Build the demo company and its last year (idempotent). Password from DEMO_PASSWORD (default hipaa-demo-2026)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD", "hipaa-demo-2026")
        started = time.monotonic()
        if User.objects.filter(email=OFFICER).exists():
            call_command("load_catalog", verbosity=0, stdout=self.stdout)
            self.stdout.write("The demo company is already here: nothing added.")
        else:
            year = Year(today=timezone.localdate(), password=password)
            # Reminders and bulletins of the past year are not mailed to anyone today.
            with tasks_in_process(), override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                year.run()
            self.stdout.write(self.style.SUCCESS(f"A year of training history: {year.completed} modules completed."))
        self.stdout.write(self.verified())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company ready ({User.objects.count()} people, {time.monotonic() - started:.1f} s)."
            )
        )
        self.stdout.write(f"Password for every demo login: {password}")
        for email, what in [
            ("billing@demo.example", "billing employee, joined 12 days ago"),
            ("executive@demo.example", "executive"),
            ("intake@demo.example", "intake employee"),
            ("it@demo.example", "IT employee"),
            ("compliance@demo.example", "compliance employee"),
            ("isolated@demo.example", "isolated role (no PHI)"),
            ("manager@demo.example", "manager"),
            (OFFICER, "compliance officer"),
            ("auditor@demo.example", "auditor"),
            ("admin@demo.example", "administrator (/admin/)"),
        ]:
            self.stdout.write(f"  {email:28} {what}")

    def verified(self) -> str:
        """Verify and anchor the audit trail, unless the last check already covers its head and is fresh."""
        head = audit.head()
        last = AuditVerification.objects.order_by("-checked_at", "-pk").first()
        fresh = dt.timedelta(hours=settings.AUDIT_VERIFICATION_STALE_HOURS) / 2
        if (
            last is not None
            and last.ok
            and head is not None
            and last.head_seq == head.seq
            and timezone.now() - last.checked_at < fresh
        ):
            return f"Audit trail verified at {last.checked_at:%Y-%m-%d %H:%M} (head #{last.head_seq})."
        outcome = verify.verification_record(anchor_head=True)
        if not outcome.ok:
            return self.style.ERROR(f"Audit trail NOT verified: {outcome.problem_kind} {outcome.detail}")
        return self.style.SUCCESS(
            f"Audit trail verified and anchored: {outcome.events} events, head #{outcome.head_seq}."
        )
