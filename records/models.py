"""What happened and its proof. Attempts, signatures, completions, certificates and revocations are
evidence: append-only at the database level (hipaa_training.db), kept at least 6 years (45 CFR 164.316(b)(2))."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from courses.models import CourseVersion, Lesson, PolicyVersion
from hipaa_training.db import AppendOnlyModel
from roles.models import Assignment, PolicyAssignment


class LessonView(models.Model):
    """A lesson the person has seen, for resuming and for opening the knowledge check."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="lesson_views")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "lesson"], name="unique_lesson_view")]

    def __str__(self) -> str:
        return f"assignment {self.assignment_id} saw lesson {self.lesson_id}"


class QuizAttempt(AppendOnlyModel):
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="attempts")
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()
    question_order = models.JSONField(help_text="Question ids in the order they were shown.")
    choice_order = models.JSONField(
        default=dict,
        blank=True,
        help_text="Question id -> its choice ids in the order they were shown; written with the attempt. "
        "Empty for attempts made before choices were shuffled, which showed them in file order.",
    )
    answers = models.JSONField(help_text="Question id -> chosen choice ids.")
    score = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assignment", "number"]
        constraints = [models.UniqueConstraint(fields=["assignment", "number"], name="unique_attempt_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} on {self.assignment_id}: {self.score}%"


class AttestationSignature(AppendOnlyModel):
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="attestations")
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="+")
    statement_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the exact statement text signed.")
    typed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment"], name="one_attestation_per_assignment")]

    def __str__(self) -> str:
        return f"{self.typed_name} signed {self.version} at {self.signed_at:%Y-%m-%d %H:%M}"


class Completion(AppendOnlyModel):
    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="completion")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="completions")
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="completions")
    attestation = models.OneToOneField(AttestationSignature, on_delete=models.PROTECT, related_name="completion")
    score = models.PositiveSmallIntegerField()
    attempts = models.PositiveSmallIntegerField()
    time_spent_seconds = models.PositiveIntegerField()
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-completed_at"]
        indexes = [models.Index(fields=["completed_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} completed {self.version} at {self.completed_at:%Y-%m-%d}"


class Certificate(AppendOnlyModel):
    completion = models.OneToOneField(Completion, on_delete=models.PROTECT, related_name="certificate")
    code = models.CharField(max_length=64, unique=True, help_text="Unguessable (128+ bits) verification code.")
    file = models.CharField(max_length=300, help_text="Path of the PDF in the media storage.")
    sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField(default=timezone.now)
    valid_until = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return self.code


class CertificateRevocation(AppendOnlyModel):
    certificate = models.OneToOneField(Certificate, on_delete=models.PROTECT, related_name="revocation")
    reason = models.TextField()
    revoked_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")


class PolicyAcknowledgement(AppendOnlyModel):
    """A person read a policy version and acknowledged it, signing with their typed name (45 CFR 164.530(i), (j))."""

    assignment = models.OneToOneField(PolicyAssignment, on_delete=models.PROTECT, related_name="acknowledgement")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="acknowledgements")
    content_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the exact text or PDF acknowledged.")
    typed_name = models.CharField(max_length=200)
    acknowledged_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["acknowledged_at", "pk"]

    def __str__(self) -> str:
        return f"{self.typed_name} acknowledged {self.version_id} at {self.acknowledged_at:%Y-%m-%d %H:%M}"


# PDF reports and evidence bundles, built in the background.


class ReportJob(models.Model):
    """A PDF training report or an evidence bundle an auditor or officer asked for; built by a Celery task.

    Not evidence itself (its status changes as it is built); what it produced is hashed, and the request,
    the build and every download are audit events.
    """

    REPORT = "report"
    BUNDLE = "bundle"
    KINDS = [(REPORT, "PDF training report"), (BUNDLE, "Evidence bundle (ZIP)")]
    PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
    STATUSES = [(PENDING, "Queued"), (RUNNING, "Being built"), (DONE, "Ready"), (FAILED, "Failed")]

    kind = models.CharField(max_length=10, choices=KINDS)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.CharField(max_length=300, blank=True, help_text="Path in the media storage.")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["requested_by", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def client_id(self) -> int | None:
        """A client's evidence pack names its client in the filters (records/documents/client_pack.py)."""
        value = (self.filters or {}).get("client")
        return int(value) if value is not None else None

    @property
    def download_name(self) -> str:
        stamp = timezone.localtime(self.requested_at).strftime("%Y%m%d-%H%M")
        if self.client_id is not None:
            return f"hipaa-training-client-evidence-{stamp}-{self.pk}.zip"
        return f"hipaa-training-{'report' if self.kind == self.REPORT else 'evidence'}-{stamp}-{self.pk}." + (
            "pdf" if self.kind == self.REPORT else "zip"
        )


# Stored daily figures for the dashboard's trend (records/summaries.py). Derived from the records, never evidence:
# a day whose figures could have changed (history written for it afterwards) is dropped and stored again.


class StoredDay(models.Model):
    """A past day whose figures are stored in `DailyFigure`, complete; or today's figures so far, counted from
    the records as they stood at `counted_from` (see records/summaries.py `store_today`)."""

    day = models.DateField(primary_key=True)
    stored_at = models.DateTimeField(default=timezone.now)
    counted_from = models.CharField(
        max_length=100,
        blank=True,
        help_text="Today's figures only: the latest audit event, assignment, completion, history row and stale "
        "group they were counted after. Empty for a day that is over, whose figures are complete.",
    )

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return self.day.isoformat()


class DailyFigure(models.Model):
    """The assignments that existed at the end of a past day, for the people in one role, department and manager
    (as they stood that day, from their history) and one module: how many, completed by then, overdue then."""

    day = models.ForeignKey(StoredDay, on_delete=models.CASCADE, related_name="figures")
    role_id = models.IntegerField(null=True)
    department_id = models.IntegerField(null=True)
    manager_id = models.IntegerField(null=True)
    course_id = models.IntegerField()
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField()
    overdue = models.PositiveIntegerField()
    due_soon = models.PositiveIntegerField()
    on_time = models.PositiveIntegerField()
    people = models.PositiveIntegerField(help_text="Different people among these assignments.")
    retraining = models.PositiveIntegerField(default=0, help_text="Of these, retraining after a material change.")
    retraining_done = models.PositiveIntegerField(default=0)
    retraining_overdue = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "course_id"])]

    def __str__(self) -> str:
        return f"{self.day_id}: course {self.course_id}, {self.done}/{self.total}"


class StoredPeople(models.Model):
    """How many different people had assignments at the end of a past day, per role, department and manager as
    they stood that day (a person is in one such group on a day, so the groups add up)."""

    day = models.ForeignKey(StoredDay, on_delete=models.CASCADE, related_name="people")
    role_id = models.IntegerField(null=True)
    department_id = models.IntegerField(null=True)
    manager_id = models.IntegerField(null=True)
    people = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.day_id}: {self.people} people"


class NewHireFigure(models.Model):
    """The new hires of a stored day (hired in the window before it) in one role, department and manager as they
    stood that day, judged on one module's new-hire assignments, or on all of them (`course_id` empty): how many,
    fully trained, trained on time, still within their window, and how many took each number of days from hire to
    their last completion (for the median)."""

    day = models.ForeignKey(StoredDay, on_delete=models.CASCADE, related_name="new_hires")
    role_id = models.IntegerField(null=True)
    department_id = models.IntegerField(null=True)
    manager_id = models.IntegerField(null=True)
    course_id = models.IntegerField(null=True, help_text="Empty: judged on all their new-hire modules.")
    window_days = models.PositiveIntegerField()
    people = models.PositiveIntegerField()
    trained = models.PositiveIntegerField()
    trained_on_time = models.PositiveIntegerField()
    still_in_window = models.PositiveIntegerField()
    days_taken = models.JSONField(default=dict, help_text="Days from hire to the last completion: how many people.")

    def __str__(self) -> str:
        return f"{self.day_id}: {self.people} new hires"


class StaleGroup(models.Model):
    """A group of today's stored figures (a role, department and manager) that a person joined or left when their
    record was saved: their role, department, manager, leaving or hire date changed. Catching today's figures up
    counts these groups again (records/summaries.py `store_today`); rows before the mark are spent."""

    role_id = models.IntegerField(null=True)
    department_id = models.IntegerField(null=True)
    manager_id = models.IntegerField(null=True)
    person_id = models.IntegerField(
        null=True, help_text="Whose move it was: only their modules' rows are counted again (none: the whole group)."
    )
    new_hire = models.BooleanField(
        default=True, help_text="They were or are a new hire, or their hire date changed: the group's new hires too."
    )

    def __str__(self) -> str:
        return f"role {self.role_id}, department {self.department_id}, manager {self.manager_id}"
