"""The catalogue. A published CourseVersion and its lessons and questions never change: records point at them."""

from __future__ import annotations

import datetime as dt

from django.db import models

from hipaa_training.db import AppendOnlyModel


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Retired: no role may newly require it; its records are kept."
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class CourseVersionQuerySet(models.QuerySet["CourseVersion"]):
    """The one place that says which version of a course is current: the one with the highest number."""

    def current(self, *, published_before: dt.datetime | None = None) -> CourseVersionQuerySet:
        """The current version of each course; with `published_before`, the one that was current at that instant."""
        newest = CourseVersion.objects.filter(course=models.OuterRef("course"))
        if published_before is not None:
            newest = newest.filter(published_at__lt=published_before)
        return self.filter(pk=models.Subquery(newest.order_by("-number").values("pk")[:1]))

    def current_for(self, course: Course | int) -> CourseVersion | None:
        """The current version of one course (a Course or its id); None before its first publication."""
        return self.filter(course=course).order_by("-number").first()


class CourseVersion(AppendOnlyModel):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the course's source files.")
    change_note = models.TextField(blank=True)
    material = models.BooleanField(
        default=True, help_text="A material change assigns retraining (45 CFR 164.530(b)(2)(i)(C))."
    )
    title = models.CharField(max_length=200)
    summary = models.TextField()
    audience = models.TextField()
    regulation = models.CharField(max_length=200)
    estimated_minutes = models.PositiveIntegerField()
    pass_mark = models.PositiveSmallIntegerField(help_text="Percent of questions answered correctly to pass.")
    attestation_text = models.TextField()

    objects = CourseVersionQuerySet.as_manager()

    class Meta:
        ordering = ["course", "number"]
        constraints = [models.UniqueConstraint(fields=["course", "number"], name="unique_course_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class Lesson(AppendOnlyModel):
    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="lessons")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    body_markdown = models.TextField()
    body_html = models.TextField(help_text="Rendered from the Markdown and sanitised with nh3 at publication.")

    class Meta:
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="unique_lesson_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Question(AppendOnlyModel):
    SINGLE = "single"
    MULTIPLE = "multiple"
    KINDS = [(SINGLE, "Single answer"), (MULTIPLE, "Multiple answers")]

    version = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, related_name="questions")
    position = models.PositiveSmallIntegerField()
    prompt = models.TextField()
    kind = models.CharField(max_length=10, choices=KINDS)
    explanation = models.TextField()

    class Meta:
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="unique_question_position")]

    def __str__(self) -> str:
        return self.prompt[:80]


class Choice(AppendOnlyModel):
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="choices")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    correct = models.BooleanField()
    why = models.TextField(blank=True, help_text="Why this choice is wrong; shown after the attempt.")

    class Meta:
        ordering = ["question", "position"]
        constraints = [models.UniqueConstraint(fields=["question", "position"], name="unique_choice_position")]

    def __str__(self) -> str:
        return self.text[:80]


# The organisation's policies and procedures (45 CFR 164.530(i)): a policy, and its immutable published versions.


class Policy(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    owner = models.CharField(max_length=200, help_text="Who keeps it up to date, e.g. the privacy officer.")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Retired: nobody is newly asked to acknowledge it; its records are kept."
    )

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class PolicyVersionQuerySet(models.QuerySet["PolicyVersion"]):
    def current(self) -> PolicyVersionQuerySet:
        """The newest published version of each policy."""
        newest = PolicyVersion.objects.filter(policy=models.OuterRef("policy")).order_by("-number").values("pk")[:1]
        return self.filter(pk=models.Subquery(newest))

    def current_for(self, policy: Policy | int) -> PolicyVersion | None:
        return self.filter(policy=policy).order_by("-number").first()


class PolicyVersion(AppendOnlyModel):
    """One published text of a policy (Markdown, or an uploaded PDF): never changed once published."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    body_markdown = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Rendered from the Markdown and sanitised with nh3.")
    pdf = models.BinaryField(blank=True, default=b"", editable=False)
    pdf_name = models.CharField(max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    content_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of exactly what is acknowledged: the Markdown (UTF-8) or the PDF bytes."
    )
    effective_on = models.DateField()
    review_on = models.DateField()
    change_note = models.TextField()
    material = models.BooleanField(help_text="A material change asks everyone in the audience to acknowledge again.")
    ack_within_days = models.PositiveSmallIntegerField(default=30)
    published_at = models.DateTimeField()
    published_by_id = models.PositiveIntegerField(null=True, blank=True, help_text="The user who published it.")

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["policy", "number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="unique_policy_version")]

    def __str__(self) -> str:
        return f"{self.policy.title} v{self.number}"

    @property
    def is_pdf(self) -> bool:
        return bool(self.pdf_sha256)


class CourseDraft(models.Model):
    """A course being edited: a mutable copy of a version (or a new blank course), its content in the catalogue
    structure (courses.publishing). Each save bumps `revision`; a save made against an older revision is refused,
    so two officers never overwrite each other. Publishing it makes the next immutable CourseVersion."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, null=True, blank=True, related_name="drafts")
    slug = models.SlugField(help_text="The course's slug; for a new course, the one it is published under.")
    based_on = models.ForeignKey(CourseVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="drafts")
    content = models.JSONField()
    revision = models.PositiveIntegerField(default=1)
    # People are named by id and e-mail, as the audit trail does: the catalogue knows no people (no foreign key).
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by_id = models.BigIntegerField(null=True, blank=True)
    updated_by_label = models.CharField(max_length=254, blank=True)
    updated_at = models.DateTimeField()
    published_version = models.ForeignKey(
        CourseVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Draft of {self.content.get('title') or self.slug}"

    @property
    def title(self) -> str:
        return str(self.content.get("title") or self.slug)

    @property
    def is_open(self) -> bool:
        return self.published_version_id is None and self.discarded_at is None


class CourseDraftRevision(AppendOnlyModel):
    """The content of a draft as each save left it: the history auditors read."""

    draft = models.ForeignKey(CourseDraft, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveIntegerField()
    what = models.CharField(max_length=200, help_text="What the save changed, e.g. 'lesson 2'.")
    content = models.JSONField()
    saved_by_id = models.BigIntegerField(null=True, blank=True)
    saved_by_label = models.CharField(max_length=254, blank=True)
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["draft", "revision"]
        constraints = [models.UniqueConstraint(fields=["draft", "revision"], name="unique_draft_revision")]

    def __str__(self) -> str:
        return f"{self.draft} revision {self.revision}"
