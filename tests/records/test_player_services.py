"""The rules of taking a module, each at the service level: order, own work, versions, evidence, one completion."""

from __future__ import annotations

import hashlib
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from courses.models import CourseVersion
from hipaa_training.db import AppendOnlyError
from hipaa_training.models import AuditEvent
from records import services
from records.models import AttestationSignature, Completion, LessonView, QuizAttempt
from roles.models import Assignment

from .helpers import answers, assignment_of, attempt, complete, see_lessons, take, version_of

pytestmark = pytest.mark.usefixtures("catalog")


def publish_new_version(assignment: Assignment) -> CourseVersion:
    """A new (non-material) version of the course, copied from the current one, as the loader would publish it."""
    old = version_of(assignment)
    new = CourseVersion.objects.create(
        course=old.course,
        number=old.number + 1,
        published_at=old.published_at,
        content_hash="f" * 64,
        material=False,
        title=old.title,
        summary=old.summary,
        audience=old.audience,
        regulation=old.regulation,
        estimated_minutes=old.estimated_minutes,
        pass_mark=old.pass_mark,
        attestation_text=old.attestation_text + " (revised)",
    )
    for lesson in old.lessons.all():
        new.lessons.create(position=lesson.position, title=lesson.title, body_markdown="x", body_html="<p>x</p>")
    for q in old.questions.prefetch_related("choices"):
        nq = new.questions.create(position=q.position, prompt=q.prompt, kind=q.kind, explanation=q.explanation)
        for c in q.choices.all():
            nq.choices.create(position=c.position, text=c.text, correct=c.correct, why=c.why)
    return new


def file_order(version: CourseVersion) -> dict[int, list[int]]:
    return {q.pk: [c.pk for c in q.choices.order_by("position")] for q in version.questions.all()}


def test_lessons_are_taken_in_order(employee):
    a = assignment_of(employee)
    v = version_of(a)
    third = v.lessons.get(position=3)
    with pytest.raises(ValidationError, match="start with lesson 1"):
        services.lesson_view_record(assignment=a, lesson_id=third.pk, version_id=v.pk, actor=employee)
    assert not LessonView.objects.exists()
    first = v.lessons.get(position=1)
    services.lesson_view_record(assignment=a, lesson_id=first.pk, version_id=v.pk, actor=employee)
    services.lesson_view_record(assignment=a, lesson_id=first.pk, version_id=v.pk, actor=employee)  # a re-read
    assert LessonView.objects.filter(assignment=a).count() == 1
    assert AuditEvent.objects.filter(action="lesson.viewed").count() == 1


def test_a_lesson_of_another_module_is_refused(employee):
    a = assignment_of(employee)
    other = version_of(assignment_of(employee, "privacy-essentials")).lessons.first()
    with pytest.raises(ValidationError, match="not part of this module"):
        services.lesson_view_record(assignment=a, lesson_id=other.pk, version_id=version_of(a).pk, actor=employee)


def test_the_knowledge_check_opens_only_after_every_lesson(employee):
    a = assignment_of(employee)
    with pytest.raises(ValidationError, match="every lesson"):
        attempt(a, right=True)
    assert not QuizAttempt.objects.exists()


def test_attempts_are_graded_recorded_with_answers_and_retried(employee):
    a = assignment_of(employee)
    see_lessons(a)
    first = attempt(a, right=False)
    assert (first.number, first.score, first.passed) == (1, 0, False)
    second = attempt(a, right=True)
    assert (second.number, second.score, second.passed) == (2, 100, True)
    assert second.answers == {str(q): sorted(c) for q, c in answers(version_of(a), right=True).items()}
    assert sorted(second.question_order) == sorted(first.question_order)
    assert second.question_order != first.question_order  # a new order for each attempt
    with pytest.raises(ValidationError, match="already passed"):
        attempt(a, right=True)
    assert AuditEvent.objects.filter(action="quiz.attempted").count() == 2


def test_the_pass_mark_comes_from_the_version(employee):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    right = answers(v, right=True)
    wrong = answers(v, right=False)
    ids = list(right)
    mixed = {q: (right[q] if i < 7 else wrong[q]) for i, q in enumerate(ids)}  # 7 of 10 = 70% < 80%
    result = services.quiz_attempt_submit(
        assignment=a, version_id=v.pk, question_order=ids, choice_order=file_order(v), answers=mixed, actor=employee
    )
    assert v.pass_mark == 80 and result.score == 70 and not result.passed


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda ans, other: {**ans, 999999: [1]}, "not in this knowledge check"),
        (lambda ans, other: {**ans, next(iter(ans)): [other]}, "not in this knowledge check"),
        (lambda ans, other: {k: v for i, (k, v) in enumerate(ans.items()) if i}, "Answer every question"),
    ],
    ids=["unknown question", "choice of another question", "unanswered"],
)
def test_bad_answers_are_refused_and_nothing_is_saved(employee, tamper, message):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    other_choice = version_of(assignment_of(employee, "privacy-essentials")).questions.first().choices.first().pk
    bad = tamper(answers(v, right=True), other_choice)
    with pytest.raises(ValidationError, match=message):
        services.quiz_attempt_submit(
            assignment=a,
            version_id=v.pk,
            question_order=list(answers(v, right=True)),
            choice_order=file_order(v),
            answers=bad,
            actor=employee,
        )
    assert not QuizAttempt.objects.exists()


def test_an_order_that_is_not_the_versions_questions_is_refused(employee):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    ans = answers(v, right=True)
    with pytest.raises(ValidationError, match="not this module's knowledge check"):
        services.quiz_attempt_submit(
            assignment=a,
            version_id=v.pk,
            question_order=list(ans)[:-1],
            choice_order=file_order(v),
            answers=ans,
            actor=employee,
        )
    assert not QuizAttempt.objects.exists()


def test_the_attestation_needs_a_passed_check(employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=False)
    with pytest.raises(ValidationError, match="Pass the knowledge check"):
        complete(a)
    assert not AttestationSignature.objects.exists() and not Completion.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"typed_name": "Someone Else"}, "typed_name"),
        ({"typed_name": "  "}, "typed_name"),
        ({"agreed": False}, "agreed"),
    ],
    ids=["name mismatch", "no name", "box unticked"],
)
def test_a_bad_signature_is_refused_and_nothing_is_saved(employee, overrides, field):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    with pytest.raises(ValidationError) as caught:
        complete(a, **overrides)
    assert field in caught.value.message_dict
    assert not AttestationSignature.objects.exists() and not Completion.objects.exists()
    a.refresh_from_db()
    assert a.completed_at is None


def test_the_name_matches_ignoring_case_and_extra_spaces(employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    completion, created = complete(a, typed_name="  billie    BILLER ")
    assert created and completion.attestation.typed_name == "billie BILLER"


def test_completion_records_the_signature_evidence_and_closes_the_assignment(employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=False)
    attempt(a, right=True)
    completion, created = complete(a)
    v = version_of(a)
    sig = completion.attestation
    assert created
    assert sig.version == v and sig.statement_sha256 == hashlib.sha256(v.attestation_text.encode()).hexdigest()
    assert (sig.typed_name, sig.ip_address, sig.user_agent) == ("Billie Biller", "203.0.113.7", "pytest")
    assert sig.signed_at.utcoffset().total_seconds() == 0
    assert (completion.user, completion.version, completion.score, completion.attempts) == (employee, v, 100, 2)
    a.refresh_from_db()
    assert a.completed_at == completion.completed_at
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "attestation.signed" in actions and "completion.recorded" in actions
    assert AuditEvent.objects.get(action="completion.recorded").data["person"] == employee.email


def test_a_second_submission_returns_the_existing_completion(employee):
    a = assignment_of(employee)
    first = take(a)
    again, created = complete(Assignment.objects.get(pk=a.pk))
    assert not created and again.pk == first.pk
    assert Completion.objects.count() == 1 and AttestationSignature.objects.count() == 1


def test_the_database_refuses_a_second_completion_for_an_assignment(employee):
    a = assignment_of(employee)
    completion = take(a)
    sig = AttestationSignature.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Completion.objects.create(
            assignment=a,
            user=employee,
            version=completion.version,
            attestation=sig,
            score=100,
            attempts=1,
            time_spent_seconds=1,
        )


def test_a_form_for_an_older_version_is_refused_and_nothing_is_saved(employee):
    a = assignment_of(employee)
    old = version_of(a)
    first = old.lessons.get(position=1)
    publish_new_version(a)
    with pytest.raises(services.StaleVersion, match="updated to a new version"):
        services.lesson_view_record(assignment=a, lesson_id=first.pk, version_id=old.pk, actor=employee)
    assert not LessonView.objects.exists()


def test_open_assignments_use_the_current_version(employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    new = publish_new_version(a)
    with pytest.raises(ValidationError, match="every lesson"):  # the new version's lessons are not seen yet
        complete(a)
    see_lessons(a)
    with pytest.raises(ValidationError, match="Pass the knowledge check"):
        complete(a)
    attempt(a, right=True)
    completion, _ = complete(a)
    assert completion.version == new
    assert completion.attestation.statement_sha256 == hashlib.sha256(new.attestation_text.encode()).hexdigest()


def test_a_cancelled_assignment_takes_no_more_steps(employee):
    a = assignment_of(employee)
    Assignment.objects.filter(pk=a.pk).update(cancelled_at=a.created_at)
    a.refresh_from_db()
    with pytest.raises(ValidationError, match="cancelled"):
        see_lessons(a)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_completions_make_exactly_one(employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(complete(Assignment.objects.get(pk=a.pk)))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _, created in results) == [False, True]
    assert Completion.objects.filter(assignment=a).count() == 1
    assert AttestationSignature.objects.filter(assignment=a).count() == 1


@pytest.mark.parametrize("tamper", ["a question left out", "a choice of another question"])
def test_a_choice_order_that_is_not_the_versions_choices_is_refused(employee, tamper):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    order = file_order(v)
    first = next(iter(order))
    if tamper == "a question left out":
        del order[first]
    else:
        other = version_of(assignment_of(employee, "privacy-essentials")).questions.first().choices.first().pk
        order[first] = [*order[first][:-1], other]
    with pytest.raises(ValidationError, match="choices submitted are not this module's"):
        services.quiz_attempt_submit(
            assignment=a,
            version_id=v.pk,
            question_order=list(file_order(v)),
            choice_order=order,
            answers=answers(v, right=True),
            actor=employee,
        )
    assert not QuizAttempt.objects.exists()


def test_the_choice_order_is_written_with_the_attempt_and_never_changed(employee):
    a = assignment_of(employee)
    see_lessons(a)
    first = attempt(a, right=False)
    v = version_of(a)
    assert {int(q): sorted(c) for q, c in first.choice_order.items()} == {
        q: sorted(c) for q, c in file_order(v).items()
    }
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        QuizAttempt.objects.filter(pk=first.pk).update(choice_order={})
    with pytest.raises(AppendOnlyError):
        first.save()
