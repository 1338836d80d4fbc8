"""Writing the evidence of training: lesson progress, knowledge-check attempts, signed attestations, completions,
certificate revocations, and requests for reports and evidence bundles.

Each function validates, saves and records its audit event in one transaction, and queues its follow-up task
(records.tasks) on commit. Every step refuses to run out of order, on a closed assignment, or for a course
version that is no longer current (nothing is saved then).
"""

from __future__ import annotations

import hashlib
import random
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.grading import InvalidAnswers, grade
from courses.models import CourseVersion, Lesson
from hipaa_training import audit
from hipaa_training.tasks import send_after_commit
from roles.models import Assignment, Client, PolicyAssignment, User

from .exports import ExportFilters
from .models import (
    AttestationSignature,
    Certificate,
    CertificateRevocation,
    Completion,
    LessonView,
    PolicyAcknowledgement,
    QuizAttempt,
    ReportJob,
)
from .tasks import build_report_task, certificate_render_task

STALE_VERSION_MESSAGE = (
    "This module was updated to a new version while your page was open. Nothing was saved: "
    "please continue with the current version."
)


class StaleVersion(ValidationError):
    """A form posted for a course version that is no longer the current one."""


def current_version(assignment: Assignment) -> CourseVersion:
    version = CourseVersion.objects.current_for(assignment.course_id)
    if version is None:
        raise ValidationError("This module has no published version yet.")
    return version


def _open_version(assignment: Assignment, version_id: int | None) -> CourseVersion:
    """The current version, provided the assignment is open and the form was made for that version."""
    if assignment.cancelled_at is not None:
        raise ValidationError("This assignment was cancelled; there is nothing more to do for it.")
    if assignment.completed_at is not None:
        raise ValidationError("You have already completed this module.")
    version = current_version(assignment)
    if version_id is not None and version_id != version.pk:
        raise StaleVersion(STALE_VERSION_MESSAGE)
    return version


def unseen_lessons(assignment: Assignment, version: CourseVersion) -> list[Lesson]:
    seen = LessonView.objects.filter(assignment=assignment, lesson__version=version).values("lesson_id")
    return list(version.lessons.exclude(pk__in=seen).order_by("position"))


def normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def statement_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lesson_view_record(*, assignment: Assignment, lesson_id: int, version_id: int, actor: User | None) -> LessonView:
    """Mark a lesson as seen; lessons are taken in order, so the knowledge check follows every lesson."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        version = _open_version(assignment, version_id)
        lesson = version.lessons.filter(pk=lesson_id).first()
        if lesson is None:
            raise ValidationError("That lesson is not part of this module.")
        existing = LessonView.objects.filter(assignment=assignment, lesson=lesson).first()
        if existing:
            return existing
        unseen = unseen_lessons(assignment, version)
        if unseen and unseen[0].position < lesson.position:
            raise ValidationError(f"Lessons are taken in order: start with lesson {unseen[0].position}.")
        view = LessonView.objects.create(assignment=assignment, lesson=lesson)
        audit.record(
            "lesson.viewed",
            actor=actor,
            subject=view,
            data={"assignment_id": assignment.pk, "version_id": version.pk, "position": lesson.position},
        )
    return view


@dataclass(frozen=True)
class QuizLayout:
    """A knowledge check as one page shows it: the questions in order, and each question's choices in order."""

    question_order: list[int]
    choice_order: dict[int, list[int]]


def _shuffled(ids: list[int], previous: list[int] | None, rng: random.Random) -> list[int]:
    order = ids[:]
    rng.shuffle(order)
    if len(order) > 1 and order == previous:
        order[0], order[1] = order[1], order[0]  # never the same order twice running
    return order


def quiz_layout_for(assignment: Assignment, version: CourseVersion) -> QuizLayout:
    """A fresh order of the version's questions and of each question's choices, each different from the
    previous attempt's where it can be, so neither place nor sequence gives an answer away."""
    questions = list(version.questions.order_by("position").prefetch_related("choices"))
    previous = (
        QuizAttempt.objects.filter(assignment=assignment, version=version)
        .order_by("-number")
        .values_list("question_order", "choice_order")
        .first()
    )
    previous_questions, previous_choices = previous or (None, {})
    rng = random.Random(secrets.randbits(64))
    question_order = _shuffled([q.pk for q in questions], previous_questions, rng)
    choice_order = {
        q.pk: _shuffled([c.pk for c in q.choices.all()], previous_choices.get(str(q.pk)), rng) for q in questions
    }
    return QuizLayout(question_order, choice_order)


def answers_by_position(layout: QuizLayout, positions: Mapping[int, Sequence[int]]) -> dict[int, list[int]]:
    """The choice ids meant by answers given as places on the page (1 = the first choice shown)."""
    answers: dict[int, list[int]] = {}
    for question_id, places in positions.items():
        shown = layout.choice_order.get(question_id)
        if shown is None or any(not 1 <= place <= len(shown) for place in places):
            raise ValidationError(
                "Your answers name questions or choices that are not in this knowledge check. Nothing was saved."
            )
        answers[question_id] = [shown[place - 1] for place in places]
    return answers


def quiz_attempt_submit(
    *,
    assignment: Assignment,
    version_id: int,
    question_order: Sequence[int],
    choice_order: Mapping[int, Sequence[int]],
    answers: Mapping[int, Sequence[int]],
    actor: User | None,
) -> QuizAttempt:
    """Grade and keep a knowledge-check attempt with its answers (training documented, 45 CFR 164.530(b)(2)(ii)).

    `question_order` and `choice_order` are the page as it was shown; they are written with the attempt, once.
    """
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        version = _open_version(assignment, version_id)
        if unseen_lessons(assignment, version):
            raise ValidationError("The knowledge check opens once you have seen every lesson.")
        if QuizAttempt.objects.filter(assignment=assignment, version=version, passed=True).exists():
            raise ValidationError("You have already passed this knowledge check; go on to the attestation.")
        questions = list(version.questions.prefetch_related("choices"))
        key = {q.pk: frozenset(c.pk for c in q.choices.all() if c.correct) for q in questions}
        valid = {q.pk: frozenset(c.pk for c in q.choices.all()) for q in questions}
        if sorted(question_order) != sorted(key):
            raise ValidationError("The questions submitted are not this module's knowledge check. Nothing was saved.")
        if set(choice_order) != set(key) or any(sorted(choice_order[q]) != sorted(valid[q]) for q in key):
            raise ValidationError("The choices submitted are not this module's knowledge check. Nothing was saved.")
        try:
            result = grade(key, valid, answers, version.pass_mark)
        except InvalidAnswers as exc:
            raise ValidationError(
                "Your answers name questions or choices that are not in this knowledge check. Nothing was saved."
            ) from exc
        unanswered = [q for q in key if not answers.get(q)]
        if unanswered:
            raise ValidationError("Answer every question before you submit. Nothing was saved.")
        number = (
            QuizAttempt.objects.filter(assignment=assignment)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
            or 0
        ) + 1
        attempt = QuizAttempt.objects.create(
            assignment=assignment,
            version=version,
            number=number,
            question_order=list(question_order),
            choice_order={str(q): [int(c) for c in choice_order[q]] for q in question_order},
            answers={str(q): sorted(int(c) for c in answers.get(q, ())) for q in key},
            score=result.score,
            passed=result.passed,
        )
        audit.record(
            "quiz.attempted",
            actor=actor,
            subject=attempt,
            data={
                "assignment_id": assignment.pk,
                "version_id": version.pk,
                "number": number,
                "score": result.score,
                "passed": result.passed,
            },
        )
    return attempt


def attestation_sign(
    *,
    assignment: Assignment,
    version_id: int,
    typed_name: str,
    agreed: bool,
    ip_address: str | None,
    user_agent: str,
    actor: User | None,
) -> AttestationSignature:
    """Sign the module's attestation: the documented acknowledgement of training (45 CFR 164.530(b)(2)(ii))."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().select_related("user").get(pk=assignment.pk)
        version = _open_version(assignment, version_id)
        if unseen_lessons(assignment, version):
            raise ValidationError("The attestation comes after every lesson and a passed knowledge check.")
        if not QuizAttempt.objects.filter(assignment=assignment, version=version, passed=True).exists():
            raise ValidationError("Pass the knowledge check before you sign the attestation.")
        errors: dict[str, str] = {}
        if normalise_name(typed_name) == "" or normalise_name(typed_name) != normalise_name(assignment.user.full_name):
            errors["typed_name"] = "Type your full name exactly as it appears on your account."
        if not agreed:
            errors["agreed"] = "Tick the box to confirm the statement."
        if errors:
            raise ValidationError(errors)
        signature = AttestationSignature.objects.create(
            assignment=assignment,
            version=version,
            statement_sha256=statement_sha256(version.attestation_text),
            typed_name=" ".join(typed_name.split()),
            signed_at=timezone.now(),
            ip_address=ip_address or None,
            user_agent=user_agent[:300],
        )
        audit.record(
            "attestation.signed",
            actor=actor,
            subject=signature,
            data={
                "assignment_id": assignment.pk,
                "version_id": version.pk,
                "statement_sha256": signature.statement_sha256,
                "typed_name": signature.typed_name,
                "ip_address": signature.ip_address,
            },
        )
    return signature


def completion_record(
    *,
    assignment: Assignment,
    version_id: int,
    typed_name: str,
    agreed: bool,
    ip_address: str | None,
    user_agent: str,
    actor: User | None,
) -> tuple[Completion, bool]:
    """Sign the attestation and record the completion, closing the assignment, in one transaction.

    Documents the training as 45 CFR 164.530(b)(2)(ii) requires. Returns (completion, created); a second
    submission (double click, another tab) returns the existing completion and saves nothing.
    """
    existing = Completion.objects.filter(assignment_id=assignment.pk).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            locked = Assignment.objects.select_for_update(of=("self",)).select_related("user").get(pk=assignment.pk)
            existing = Completion.objects.filter(assignment_id=locked.pk).first()
            if existing:  # another request completed it while we waited for the lock
                return existing, False
            signature = attestation_sign(
                assignment=locked,
                version_id=version_id,
                typed_name=typed_name,
                agreed=agreed,
                ip_address=ip_address,
                user_agent=user_agent,
                actor=actor,
            )
            attempts = QuizAttempt.objects.filter(assignment=locked, version=signature.version)
            passed = attempts.filter(passed=True).order_by("number").first()
            assert passed is not None  # attestation_sign checked it
            first_view = LessonView.objects.filter(assignment=locked).order_by("seen_at").first()
            now = timezone.now()
            started = first_view.seen_at if first_view else signature.signed_at
            completion = Completion.objects.create(
                assignment=locked,
                user_id=locked.user_id,
                version=signature.version,
                attestation=signature,
                score=passed.score,
                attempts=attempts.count(),
                time_spent_seconds=max(0, int((now - started).total_seconds())),
                completed_at=now,
            )
            Assignment.objects.filter(pk=locked.pk).update(completed_at=now)
            audit.record(
                "completion.recorded",
                actor=actor,
                subject=completion,
                data={
                    "assignment_id": locked.pk,
                    "person": locked.user.email,
                    "version_id": signature.version_id,
                    "score": completion.score,
                    "attempts": completion.attempts,
                },
            )
            send_after_commit(certificate_render_task, completion.pk)
    except IntegrityError:
        # A concurrent request won the race: the database constraint kept one completion; show that one.
        existing = Completion.objects.filter(assignment_id=assignment.pk).first()
        if existing is None:
            raise
        return existing, False
    assignment.completed_at = now
    return completion, True


def certificate_revoke(*, certificate: Certificate, reason: str, actor: User | None) -> CertificateRevocation:
    """Revoke a certificate with a new record; the certificate itself is never changed (evidence is kept)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for revoking the certificate."})
    with transaction.atomic():
        if CertificateRevocation.objects.filter(certificate=certificate).exists():
            raise ValidationError("This certificate is already revoked.")
        revocation = CertificateRevocation.objects.create(
            certificate=certificate,
            reason=reason,
            revoked_by=actor,
        )
        audit.record(
            "certificate.revoked",
            actor=actor,
            subject=certificate,
            data={"code": certificate.code, "reason": reason},
        )
    return revocation


def report_request(*, kind: str, requested_by: User, filters: ExportFilters, client: Client | None = None) -> ReportJob:
    """Queue a PDF report or an evidence bundle (with `client`: that client's evidence pack, a bundle of its people
    and period only); the request is audited (45 CFR 164.530(b)(2)(ii): documented)."""
    if kind not in (ReportJob.REPORT, ReportJob.BUNDLE):
        raise ValueError(f"unknown report kind {kind!r}")
    if client is not None and kind != ReportJob.BUNDLE:
        raise ValueError("a client's evidence is a pack (a bundle with its report inside)")
    with transaction.atomic():
        stored: dict[str, object] = dict(filters.as_dict())
        data: dict[str, object] = {"filters": stored}
        if client is not None:
            stored["client"] = client.pk
            data["client"] = client.name
        job = ReportJob(kind=kind, requested_by=requested_by, filters=stored)
        job.full_clean()
        job.save()
        audit.record(f"{kind}.requested", actor=requested_by, subject=job, data=data)
        send_after_commit(build_report_task, job.pk)
    return job


def policy_acknowledge(
    *,
    assignment: PolicyAssignment,
    version_id: int,
    typed_name: str,
    ip_address: str | None,
    user_agent: str,
    actor: User | None,
) -> PolicyAcknowledgement:
    """A person acknowledges the exact version of a policy they were shown, signing with their typed name
    (documentation of the policies and procedures, 45 CFR 164.530(i)-(j)); nothing is saved if anything is wrong."""
    with transaction.atomic():
        assignment = (
            PolicyAssignment.objects.select_for_update()
            .select_related("user", "policy_version__policy")
            .get(pk=assignment.pk)
        )
        version = assignment.policy_version
        if assignment.cancelled_at is not None:
            raise ValidationError("You are no longer asked to acknowledge this policy.")
        if assignment.acknowledged_at is not None:
            raise ValidationError("You have already acknowledged this policy.")
        if version_id != version.pk:
            raise ValidationError("This is not the version of the policy you were asked to acknowledge: reload it.")
        if normalise_name(typed_name) == "" or normalise_name(typed_name) != normalise_name(assignment.user.full_name):
            raise ValidationError({"typed_name": "Type your full name exactly as it appears on your account."})
        now = timezone.now()
        ack = PolicyAcknowledgement.objects.create(
            assignment=assignment,
            person=assignment.user,
            version=version,
            content_sha256=version.content_sha256,
            typed_name=" ".join(typed_name.split()),
            acknowledged_at=now,
            ip_address=ip_address or None,
            user_agent=user_agent[:300],
        )
        PolicyAssignment.objects.filter(pk=assignment.pk).update(acknowledged_at=now)
        audit.record(
            "policy.acknowledged",
            actor=actor,
            subject=ack,
            data={
                "person": assignment.user.email,
                "policy": version.policy.slug,
                "version": version.number,
                "policy_version_id": version.pk,
                "content_sha256": ack.content_sha256,
                "typed_name": ack.typed_name,
                "ip_address": ack.ip_address,
            },
        )
    return ack
