"""The workforce: people, departments, workforce roles, the modules each role requires, and assignments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from courses.models import Course, Policy, PolicyVersion
from hipaa_training.db import AppendOnlyModel

MAX_DUE_WITHIN_DAYS = 365
MAX_RECURRENCE_MONTHS = 120


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class RetirableQuerySet(models.QuerySet[Any]):
    def active(self) -> RetirableQuerySet:
        """What may be chosen for a person now: not retired."""
        return self.filter(retired_at__isnull=True)


class Department(models.Model):
    name = models.CharField(max_length=120, unique=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Retired: kept for the records, no longer offered for people."
    )

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class WorkforceRole(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    handles_phi = models.BooleanField(default=True, help_text="Whether people in this role handle or can reach PHI.")
    courses: models.ManyToManyField[Course, Requirement] = models.ManyToManyField(
        Course, through="Requirement", related_name="roles"
    )
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Retired once nobody is in it: kept for the records, not offered for people."
    )

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class Requirement(models.Model):
    role = models.ForeignKey(WorkforceRole, on_delete=models.CASCADE, related_name="requirements")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="requirements")
    recurrence_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RECURRENCE_MONTHS)],
        help_text="Retrain every N months; empty means once.",
    )
    due_within_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DUE_WITHIN_DAYS)],
        help_text="Days from assignment to due date.",
    )

    class Meta:
        ordering = ["role", "course"]
        constraints = [models.UniqueConstraint(fields=["role", "course"], name="unique_role_course")]

    def __str__(self) -> str:
        every = f"every {self.recurrence_months} months" if self.recurrence_months else "once"
        return f"{self.role} -> {self.course} ({every})"


class DepartmentRequirement(models.Model):
    """A module a department requires on its own terms, as a state law may: Texas HB 300 asks for training
    within 90 days of hire, and many employers keep a two-year cycle. It adds its course for everyone in the
    department; where their role requires the course too, the stricter terms hold (the shorter due window, the
    shorter cycle), so a department can tighten a role's training but never loosen it."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="requirements")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="department_requirements")
    recurrence_months = models.PositiveSmallIntegerField(
        null=True, blank=True, default=24, help_text="Retrain every N months after completion; empty means once."
    )
    due_within_days = models.PositiveSmallIntegerField(
        default=90,
        help_text="A new hire's first due date is this many days after their hire date; "
        "later cycles and retraining are due this many days after they are assigned.",
    )

    class Meta:
        ordering = ["department", "course"]
        constraints = [models.UniqueConstraint(fields=["department", "course"], name="unique_department_course")]

    def __str__(self) -> str:
        every = f"every {self.recurrence_months} months" if self.recurrence_months else "once"
        return f"{self.department} -> {self.course} ({every})"


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("e-mail", max_length=254, unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    workforce_role = models.ForeignKey(
        WorkforceRole, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="people")
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    hire_date = models.DateField(null=True, blank=True)
    terminated_on = models.DateField(null=True, blank=True)
    access_expires_on = models.DateField(
        null=True, blank=True, help_text="For auditors: login is refused after this date."
    )
    reminder_digest = models.BooleanField(default=False, help_text="One daily digest instead of separate reminders.")

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        constraints = [models.UniqueConstraint(Lower("email"), name="unique_user_email_ci")]
        # People in name order: lists of assignments that share a due date take their first rows from it.
        indexes = [models.Index(fields=["full_name", "id"], name="user_name_order")]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_terminated(self) -> bool:
        return self.terminated_on is not None


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def open(self) -> AssignmentQuerySet:
        return self.filter(completed_at__isnull=True, cancelled_at__isnull=True)

    def completed(self) -> AssignmentQuerySet:
        return self.filter(completed_at__isnull=False)

    def overdue(self, today: dt.date | None = None) -> AssignmentQuerySet:
        return self.open().filter(due_on__lt=today or timezone.localdate())


class Assignment(models.Model):
    NEW_HIRE = "new_hire"
    ROLE_CHANGE = "role_change"
    ANNUAL = "annual"
    NEW_VERSION = "new_version"
    MANUAL = "manual"
    CLIENT = "client"
    REASONS = [
        (NEW_HIRE, "New hire"),
        (ROLE_CHANGE, "Role change"),
        (ANNUAL, "Recurring cycle"),
        (NEW_VERSION, "New material version"),
        (MANUAL, "Assigned by hand"),
        (CLIENT, "Required by a client's agreement"),
    ]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="assignments")
    cycle = models.PositiveIntegerField(default=1)
    reason = models.CharField(max_length=20, choices=REASONS)
    assigned_on = models.DateField()
    due_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="Set by the completion record.")
    cancelled_at = models.DateTimeField(
        null=True, blank=True, help_text="No longer required (role change or termination); history is kept."
    )
    cancel_reason = models.CharField(max_length=200, blank=True)
    note = models.CharField(
        max_length=500, blank=True, help_text="Why an officer assigned it by hand (reason MANUAL); blank otherwise."
    )

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "course", "cycle"], name="unique_assignment_cycle")]
        indexes = [
            models.Index(fields=["due_on"]),
            models.Index(fields=["user", "course"]),
            # Today's overdue and due-soon lists read only open assignments, in due order.
            models.Index(
                fields=["due_on"],
                condition=models.Q(completed_at__isnull=True, cancelled_at__isnull=True),
                name="assignment_open_due",
            ),
            # The dashboard's retraining section reads only the assignments a material new version made.
            models.Index(fields=["due_on"], condition=models.Q(reason="new_version"), name="assignment_retraining_due"),
        ]

    def __str__(self) -> str:
        return f"{self.user.full_name}: {self.course.title} (cycle {self.cycle})"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.cancelled_at is None

    def is_overdue(self, today: dt.date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())

    @property
    def title(self) -> str:
        return self.course.title


class SecurityPolicy(models.Model):
    """The organisation's sign-in policy: one row, edited by the compliance officer (in the admin)."""

    require_mfa_for_everyone = models.BooleanField(
        default=False,
        help_text="Every workforce member must enrol a second factor. Compliance officers, auditors and "
        "administrators always must.",
    )
    sso_may_create_accounts = models.BooleanField(
        default=False,
        help_text="Single sign-on may create an account for a person the product does not know yet. "
        "Off: only people already in the workforce list can sign in with SSO.",
    )
    sso_only = models.BooleanField(
        "single sign-on only",
        default=False,
        help_text="Turn off password sign-in (and password reset) for everyone except the break-glass "
        "administrator below: people sign in with the identity provider. Takes effect only while a provider is "
        "configured.",
    )
    break_glass_account = models.ForeignKey(
        "User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The one administrator who may still sign in with a password (and second factor) when the "
        "identity provider is down. Required for 'single sign-on only'.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "security policy"
        verbose_name_plural = "security policy"

    def __str__(self) -> str:
        return "Security policy"

    @classmethod
    def current(cls) -> SecurityPolicy:
        return cls.objects.get_or_create(pk=1)[0]


class SSOClaimMapping(models.Model):
    """One value of the identity provider's groups claim, and what it means here (applied at each SSO sign-in)."""

    ACCESS_GROUPS = [
        ("", "no change"),
        ("employee", "employee"),
        ("manager", "manager"),
        ("compliance officer", "compliance officer"),
        ("auditor", "auditor"),
    ]

    provider_id = models.CharField(
        max_length=100, blank=True, help_text="The provider (OIDC_PROVIDER_ID); blank: every configured provider."
    )
    claim_value = models.CharField(
        max_length=200, help_text="A value of the groups (or roles) claim, exactly as the provider sends it."
    )
    workforce_role = models.ForeignKey(WorkforceRole, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    access_group = models.CharField(max_length=40, blank=True, choices=ACCESS_GROUPS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SSO group mapping"
        ordering = ["provider_id", "claim_value"]
        constraints = [
            models.UniqueConstraint(fields=["provider_id", "claim_value"], name="sso_claim_mapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_value} ({self.provider_id or 'any provider'})"


class Organization(models.Model):
    """The organisation's name and logo as they appear on certificates and reports (one row, the officer's)."""

    LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}

    name = models.CharField(max_length=200, blank=True, help_text="Empty: the ORGANIZATION_NAME setting.")
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=20, blank=True, editable=False)
    logo_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "organisation"

    def __str__(self) -> str:
        return self.display_name

    @classmethod
    def current(cls) -> Organization:
        """The row, or an unsaved one with the defaults (reading never writes: `organization_update` saves it)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @property
    def display_name(self) -> str:
        return self.name or settings.ORGANIZATION_NAME

    def logo_data_uri(self) -> str:
        """The logo as a data: URI (what the PDF renderer may embed), or "" without one."""
        import base64

        if not self.logo:
            return ""
        return f"data:{self.logo_type};base64,{base64.b64encode(bytes(self.logo)).decode('ascii')}"


# Reminders, escalations and security bulletins.


def validate_day_list(value: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        days = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        raise ValidationError("Write whole numbers of days separated by commas, for example 14, 7, 1.") from None
    if not days or any(d < 1 or d > 365 for d in days):
        raise ValidationError("Each number of days before the due date must be between 1 and 365.")


class ReminderPolicy(models.Model):
    """The reminder calendar as data (one row): a compliance officer changes it, no code does."""

    before_due_days = models.CharField(
        max_length=60,
        default="14, 7, 1",
        validators=[validate_day_list],
        help_text="Days before the due date on which the person is reminded, separated by commas.",
    )
    overdue_every_days = models.PositiveSmallIntegerField(
        default=7, help_text="After the due-date reminder, remind again every N days while overdue."
    )
    manager_after_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days overdue after which the person's manager is told (weekly digest)."
    )
    officer_after_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days overdue after which the compliance officers are told (weekly digest)."
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "reminder policy"
        verbose_name_plural = "reminder policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(overdue_every_days__gte=1), name="reminder_every_positive"),
            models.CheckConstraint(condition=models.Q(manager_after_days__gte=1), name="reminder_manager_positive"),
            models.CheckConstraint(condition=models.Q(officer_after_days__gte=1), name="reminder_officer_positive"),
        ]

    def __str__(self) -> str:
        return "Reminder policy"

    @classmethod
    def current(cls) -> ReminderPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    @property
    def before_due(self) -> list[int]:
        """The reminder days before the due date, largest first."""
        return sorted({int(p) for p in self.before_due_days.replace(" ", "").split(",") if p}, reverse=True)


class Delivery(models.Model):
    """One message (or one part of a digest) that the calendar sends, claimed before it is sent.

    The unique constraints make "at most once per (assignment, kind, period)" a fact of the database:
    a run inserts the rows it means to send with ON CONFLICT DO NOTHING and sends only the rows it
    inserted (its claim token). See roles/reminders/claims.py for the recovery rule after a worker dies.
    """

    BEFORE_DUE = "before_due"
    DUE = "due"
    OVERDUE = "overdue"
    NUDGE = "nudge"
    MANAGER = "escalation_manager"
    OFFICER = "escalation_officer"
    DIGEST = "digest"
    BULLETIN = "bulletin"
    KINDS = [
        (BEFORE_DUE, "Before the due date"),
        (DUE, "On the due date"),
        (OVERDUE, "Overdue"),
        (NUDGE, "Nudge from the compliance officer"),
        (MANAGER, "Escalation to the manager"),
        (OFFICER, "Escalation to the compliance officers"),
        (DIGEST, "Daily digest"),
        (BULLETIN, "Security reminder"),
    ]
    PERSONAL = (BEFORE_DUE, DUE, OVERDUE, NUDGE)

    # No index of its own for `assignment` or `policy_assignment`: the unique constraint's index leads with it
    # (and any lookup by it implies its predicate). Each mark and claim writes every index of this table: issue
    # 14 took the two duplicates and `claim`'s LIKE index (Django's default for a CharField) away.
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For digests and bulletins; reminders go to the assignment's person (or manager, officers).",
    )
    bulletin = models.ForeignKey("Bulletin", null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries")
    policy_assignment = models.ForeignKey(
        "PolicyAssignment", null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    kind = models.CharField(max_length=20, choices=KINDS)
    period = models.CharField(max_length=20, help_text="Which occurrence: days before due, overdue week, date...")
    created_at = models.DateTimeField(default=timezone.now)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "kind", "period"],
                condition=models.Q(assignment__isnull=False),
                name="unique_delivery_per_assignment",
            ),
            models.UniqueConstraint(
                fields=["recipient", "kind", "period"],
                condition=models.Q(assignment__isnull=True),
                name="unique_delivery_per_recipient",
            ),
            models.UniqueConstraint(
                fields=["policy_assignment", "kind", "period"],
                condition=models.Q(policy_assignment__isnull=False),
                name="unique_delivery_per_policy_assignment",
            ),
        ]
        indexes = [
            models.Index(fields=["claimed_at"], condition=models.Q(sent_at__isnull=True), name="delivery_unsent"),
            models.Index(fields=["claim"], name="delivery_claim"),  # without the LIKE index db_index adds
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.period})"

    @property
    def item(self) -> Assignment | PolicyAssignment | None:
        """What a reminder or an escalation is about: a module's assignment, or a policy to acknowledge."""
        return self.assignment or self.policy_assignment


class Bulletin(AppendOnlyModel):
    """A security reminder (45 CFR 164.308(a)(5)(ii)(A)): once written it is never edited."""

    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    everyone = models.BooleanField(default=True, help_text="The whole workforce; otherwise only the roles chosen.")
    roles = models.ManyToManyField(WorkforceRole, blank=True, related_name="bulletins")
    send_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-send_at", "-id"]

    def __str__(self) -> str:
        return self.title


class BulletinDelivery(AppendOnlyModel):
    """Evidence that a security reminder was e-mailed to a person."""

    bulletin = models.ForeignKey(Bulletin, on_delete=models.PROTECT, related_name="sent_to")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "bulletin deliveries"
        constraints = [models.UniqueConstraint(fields=["bulletin", "person"], name="unique_bulletin_delivery")]


class BulletinAcknowledgement(AppendOnlyModel):
    """Evidence that a person read and acknowledged a security reminder."""

    bulletin = models.ForeignKey(Bulletin, on_delete=models.PROTECT, related_name="acknowledgements")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bulletin", "person"], name="unique_bulletin_ack")]


# Workforce import.


class WorkforceImport(models.Model):
    """An uploaded workforce CSV, kept between its preview and its application so exactly what was
    previewed is applied (the SHA-256 of the content and of the plan are checked again on apply)."""

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    plan_sha256 = models.CharField(max_length=64, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"


# Each person's history: role, department, manager and employment, effective-dated (roles/history.py writes it).


class PersonState(AppendOnlyModel):
    """A person's role, department, manager and employment from `valid_from` on, until a later row: the state on
    day D is the latest row with valid_from <= D (ties: the later `recorded_at`, then the higher id). Written by
    the services that change these fields (roles/history.py `record_state`); never edited, so any past day's
    figures can be rebuilt as they stood (45 CFR 164.316(b)(2): documentation of who had to be trained in what)."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="states")
    valid_from = models.DateField()
    workforce_role = models.ForeignKey(WorkforceRole, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    employed = models.BooleanField(default=True, help_text="In the workforce from that day (False: left).")
    reason = models.CharField(max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "person's state"
        verbose_name_plural = "people's history"
        ordering = ["person", "valid_from", "recorded_at", "pk"]
        indexes = [
            models.Index(fields=["person", "valid_from"]),
            # "The row that held on day D" for each person: one index probe, already in the order it wants.
            models.Index(fields=["person", "-valid_from", "-recorded_at", "-id"], name="personstate_on_day"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} from {self.valid_from}: {self.reason}"


# Clients (covered entities): what each business associate agreement adds, and who works each client's accounts.


class Client(models.Model):
    """A covered entity the company bills for, under a business associate agreement (45 CFR 164.504(e)): the
    BAA's effective date, the modules it adds (`ClientRequirement`) and, where it asks for one, a shorter window
    to complete them."""

    name = models.CharField(max_length=200, unique=True)
    baa_effective_on = models.DateField(
        "BAA effective on", help_text="The day the business associate agreement took effect."
    )
    due_within_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DUE_WITHIN_DAYS)],
        help_text="The agreement's window to complete its modules, in days; empty: the usual window.",
    )
    notes = models.TextField(blank=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="No longer a client: kept for the records, its modules no longer assigned."
    )

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class ClientRequirement(models.Model):
    """A module the client's agreement adds for everyone who works the client's accounts."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="requirements")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="client_requirements")
    recurrence_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RECURRENCE_MONTHS)],
        help_text="Retrain every N months; empty means once.",
    )

    class Meta:
        ordering = ["client", "course"]
        constraints = [models.UniqueConstraint(fields=["client", "course"], name="unique_client_course")]

    def __str__(self) -> str:
        return f"{self.client} -> {self.course}"


class ClientScope(AppendOnlyModel):
    """Who works a client's accounts, effective-dated and append-only: a department, a workforce role or one
    person was added to (or removed from) the client's accounts from `valid_from` on. A target is in scope on day
    D when its latest row with valid_from <= D (ties: the later `recorded_at`, then the higher id) adds it; a
    person worked the client on D when they, or the department or role they had on D (`PersonState`), were in
    scope (45 CFR 164.316(b)(2): who had to be trained for which client, on any past day)."""

    ADDED = "added"
    REMOVED = "removed"
    ACTIONS = [(ADDED, "added"), (REMOVED, "removed")]

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="scope")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    workforce_role = models.ForeignKey(WorkforceRole, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="client_scopes"
    )
    action = models.CharField(max_length=10, choices=ACTIONS)
    valid_from = models.DateField()
    reason = models.CharField(max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "client scope change"
        ordering = ["client", "valid_from", "recorded_at", "pk"]
        indexes = [models.Index(fields=["client", "valid_from"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(department__isnull=False, workforce_role__isnull=True, person__isnull=True)
                    | models.Q(department__isnull=True, workforce_role__isnull=False, person__isnull=True)
                    | models.Q(department__isnull=True, workforce_role__isnull=True, person__isnull=False)
                ),
                name="client_scope_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.target_label} {self.action} from {self.valid_from}"

    @property
    def target(self) -> tuple[str, int]:
        """("department" | "workforce_role" | "person", id)."""
        if self.department_id is not None:
            return ("department", self.department_id)
        if self.workforce_role_id is not None:
            return ("workforce_role", self.workforce_role_id)
        assert self.person_id is not None
        return ("person", self.person_id)

    @property
    def target_label(self) -> str:
        kind, _ = self.target
        if kind == "department":
            return f"department {self.department}"
        if kind == "workforce_role":
            return f"role {self.workforce_role}"
        return f"person {self.person.full_name if self.person else ''}"


class ClientAuditor(models.Model):
    """An auditor account bound to one client (the covered entity's compliance team): it sees only that client's
    people and packs, until the account's `access_expires_on`."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_auditor")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="auditors")
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["client", "user"]

    def __str__(self) -> str:
        return f"{self.user_id} audits {self.client_id}"


# Policies and procedures: who must acknowledge each policy, and each person's obligation to.


class PolicyAudience(models.Model):
    """Who a policy is for: the whole workforce, or the workforce roles chosen."""

    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="audience")
    everyone = models.BooleanField(default=True, help_text="The whole workforce; otherwise only the roles chosen.")
    roles = models.ManyToManyField(WorkforceRole, blank=True, related_name="policies")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Audience of {self.policy_id}"


class PolicyAssignmentQuerySet(models.QuerySet["PolicyAssignment"]):
    def open(self) -> PolicyAssignmentQuerySet:
        return self.filter(acknowledged_at__isnull=True, cancelled_at__isnull=True)


class PolicyAssignment(models.Model):
    """One person asked to read and acknowledge one version of a policy, by a due date."""

    AUDIENCE = "audience"
    NEW_HIRE = "new_hire"
    ROLE_CHANGE = "role_change"
    NEW_VERSION = "new_version"
    REASONS = [
        (AUDIENCE, "Published to their role"),
        (NEW_HIRE, "New hire"),
        (ROLE_CHANGE, "Role change"),
        (NEW_VERSION, "New material version"),
    ]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="policy_assignments")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="assignments")
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="assignments")
    reason = models.CharField(max_length=20, choices=REASONS)
    assigned_on = models.DateField()
    due_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True, help_text="Set by the acknowledgement record.")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    objects = PolicyAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(  # once cancelled (moved out of the audience), the person may be asked again
                fields=["user", "policy_version"],
                condition=models.Q(cancelled_at__isnull=True),
                name="unique_live_policy_assignment",
            ),
        ]
        indexes = [models.Index(fields=["user", "policy"])]

    def __str__(self) -> str:
        return f"{self.user_id}: policy version {self.policy_version_id}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None and self.cancelled_at is None

    def is_overdue(self, today: dt.date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())

    @property
    def title(self) -> str:
        return f"acknowledge the policy {self.policy.title}"
