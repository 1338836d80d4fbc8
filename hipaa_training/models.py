from __future__ import annotations

from django.db import models

from .db import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """One link of the hash chain: hash = SHA-256(prev_hash + canonical JSON of the event)."""

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=254, blank=True, help_text="E-mail of the actor, or 'system'.")
    action = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"


class AuditVerification(AppendOnlyModel):
    """The outcome of one check of the audit trail (the nightly job's record, shown to compliance officers)."""

    checked_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    events = models.PositiveBigIntegerField()
    head_seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    anchors_checked = models.PositiveIntegerField(default=0)
    anchored_seq = models.BigIntegerField(null=True, blank=True, help_text="The head signed after this check.")
    problem_seq = models.BigIntegerField(null=True, blank=True)
    problem_kind = models.CharField(max_length=20, blank=True)
    detail = models.TextField(blank=True)
    seconds = models.FloatField()

    class Meta:
        ordering = ["-checked_at"]
        get_latest_by = "checked_at"

    def __str__(self) -> str:
        return f"{'whole' if self.ok else 'BROKEN'} at {self.checked_at:%Y-%m-%d %H:%M}"
