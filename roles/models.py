"""The workforce: people, departments, workforce roles, the modules each role requires, and assignments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from courses.models import Course


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


class Department(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkforceRole(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    handles_phi = models.BooleanField(default=True, help_text="Whether people in this role handle or can reach PHI.")
    courses = models.ManyToManyField(Course, through="Requirement", related_name="roles")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Requirement(models.Model):
    role = models.ForeignKey(WorkforceRole, on_delete=models.CASCADE, related_name="requirements")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="requirements")
    recurrence_months = models.PositiveSmallIntegerField(
        null=True, blank=True, default=12, help_text="Retrain every N months; empty means once."
    )
    due_within_days = models.PositiveSmallIntegerField(default=30, help_text="Days from assignment to due date.")

    class Meta:
        ordering = ["role", "course"]
        constraints = [models.UniqueConstraint(fields=["role", "course"], name="unique_role_course")]

    def __str__(self) -> str:
        every = f"every {self.recurrence_months} months" if self.recurrence_months else "once"
        return f"{self.role} -> {self.course} ({every})"


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
    REASONS = [
        (NEW_HIRE, "New hire"),
        (ROLE_CHANGE, "Role change"),
        (ANNUAL, "Recurring cycle"),
        (NEW_VERSION, "New material version"),
        (MANUAL, "Assigned by hand"),
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

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "course", "cycle"], name="unique_assignment_cycle")]
        indexes = [models.Index(fields=["due_on"]), models.Index(fields=["user", "course"])]

    def __str__(self) -> str:
        return f"{self.user.full_name}: {self.course.title} (cycle {self.cycle})"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.cancelled_at is None

    def is_overdue(self, today: dt.date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())


# --- issue 6: workforce import ---


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
