"""The player as the person sees it: access, the steps in order, clear refusals that save nothing, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from courses.models import Course
from records.models import AttestationSignature, Certificate, Completion, LessonView, QuizAttempt
from roles.models import Assignment

from .helpers import assignment_of, attempt, check_form, see_lessons, shown_choices, take, version_of
from .test_player_services import publish_new_version

pytestmark = pytest.mark.usefixtures("catalog")


def urls(a: Assignment) -> list[str]:
    return [
        reverse("records:overview", args=[a.pk]),
        reverse("records:lesson", args=[a.pk, 1]),
        reverse("records:check", args=[a.pk]),
        reverse("records:attest", args=[a.pk]),
        reverse("records:done", args=[a.pk]),
    ]


def test_player_pages_need_a_login(client, employee):
    for url in [*urls(assignment_of(employee)), reverse("records:certificates")]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("account_login")), url


def test_another_persons_assignment_is_not_found(login, employee, outsider, compliance_officer):
    a = assignment_of(employee)
    for person in (outsider, compliance_officer):
        c = login(person)
        for url in urls(a):
            assert c.get(url).status_code == 404, url
        assert c.post(reverse("records:lesson", args=[a.pk, 1]), {"version": version_of(a).pk}).status_code == 404
    assert not LessonView.objects.exists()


def test_the_overview_says_what_why_which_rule_and_how_long(login, employee):
    a = assignment_of(employee)
    v = version_of(a)
    html = login(employee).get(reverse("records:overview", args=[a.pk])).content.decode()
    for expected in (v.title, v.summary[:60], v.audience[:60], v.regulation, f"about {v.estimated_minutes} minutes"):
        assert escape(expected) in html
    assert "Start the first lesson" in html


def test_lessons_save_progress_and_the_person_resumes_where_they_stopped(login, employee):
    a = assignment_of(employee)
    v = version_of(a)
    c = login(employee)
    response = c.post(reverse("records:lesson", args=[a.pk, 1]), {"version": v.pk})
    assert response.url == reverse("records:lesson", args=[a.pk, 2])
    html = c.get(reverse("records:overview", args=[a.pk])).content.decode()
    assert "Resume where you stopped" in html and reverse("records:lesson", args=[a.pk, 2]) in html
    training = c.get(reverse("records:training")).content.decode()
    assert f"1 of {v.lessons.count()} lessons" in training and "Resume" in training


def test_jumping_ahead_lands_on_the_next_lesson_and_saves_nothing(login, employee):
    a = assignment_of(employee)
    c = login(employee)
    response = c.get(reverse("records:lesson", args=[a.pk, 4]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("records:lesson", args=[a.pk, 1])
    assert "Lessons are taken in order" in response.content.decode()
    for step in ("check", "attest"):
        response = c.get(reverse(f"records:{step}", args=[a.pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse("records:lesson", args=[a.pk, 1])
    response = c.post(reverse("records:check", args=[a.pk]), {"version": version_of(a).pk}, follow=True)
    assert "opens once you have seen every lesson" in response.content.decode()
    assert not LessonView.objects.exists() and not QuizAttempt.objects.exists()


def test_the_knowledge_check_shows_the_score_and_why_wrong_answers_are_wrong(login, employee):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    c = login(employee)
    page = c.get(reverse("records:check", args=[a.pk])).content.decode()
    assert all(escape(q.prompt) in page for q in v.questions.all())
    response = c.post(reverse("records:check", args=[a.pk]), check_form(page, v, right=False), follow=True)
    html = response.content.decode()
    assert "Your score: 0%" in html and "You did not pass" in html
    question = v.questions.first()
    assert escape(question.explanation) in html
    assert "Try the knowledge check again" in html
    page = c.get(reverse("records:check", args=[a.pk])).content.decode()
    response = c.post(reverse("records:check", args=[a.pk]), check_form(page, v, right=True), follow=True)
    assert (
        "Your score: 100%" in response.content.decode() and "Continue to the attestation" in response.content.decode()
    )
    assert list(QuizAttempt.objects.values_list("number", "passed")) == [(1, False), (2, True)]


@pytest.mark.parametrize("bad", ["unknown question", "no such place", "not a number", "unanswered", "forged layout"])
def test_bad_answers_get_a_clear_message_and_save_nothing(login, employee, bad):
    a = assignment_of(employee)
    see_lessons(a)
    v = version_of(a)
    c = login(employee)
    page = c.get(reverse("records:check", args=[a.pk])).content.decode()
    data = check_form(page, v, right=True)
    first = f"q{v.questions.first().pk}"
    if bad == "unknown question":
        data["q999999"] = [1]
    elif bad == "no such place":
        data[first] = [len(shown_choices(page)[v.questions.first().pk]) + 1]
    elif bad == "not a number":
        data[first] = ["abc"]
    elif bad == "unanswered":
        del data[first]
    else:
        data["layout"] = str(data["layout"])[:-2] + "xx"
    response = c.post(reverse("records:check", args=[a.pk]), data)
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert not QuizAttempt.objects.exists()


def test_a_stale_form_after_a_new_version_is_refused_with_a_clear_message(login, employee):
    a = assignment_of(employee)
    old = version_of(a)
    publish_new_version(a)
    c = login(employee)
    response = c.post(reverse("records:lesson", args=[a.pk, 1]), {"version": old.pk}, follow=True)
    assert "updated to a new version" in response.content.decode()
    assert not LessonView.objects.exists()


def sign(c, a: Assignment, **data: object):
    form = {"version": version_of(a).pk, "typed_name": "Billie Biller", "agreed": "on"}
    form.update(data)
    return c.post(reverse("records:attest", args=[a.pk]), {k: v for k, v in form.items() if v is not None})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"typed_name": "Bill Biller"}, "Type your full name exactly"),
        ({"agreed": None}, "Tick the box"),
    ],
    ids=["name mismatch", "box unticked"],
)
def test_a_bad_signature_gets_a_clear_message_and_saves_nothing(login, employee, data, message):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    response = sign(login(employee), a, **data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not AttestationSignature.objects.exists() and not Completion.objects.exists()


def test_a_stale_attestation_is_refused(login, employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    old = version_of(a).pk
    publish_new_version(a)
    response = sign(login(employee), a, version=old)
    assert response.status_code == 302
    assert not AttestationSignature.objects.exists() and not Completion.objects.exists()


def test_signing_completes_and_a_resubmission_shows_the_same_completion(login, employee):
    a = assignment_of(employee)
    see_lessons(a)
    attempt(a, right=True)
    c = login(employee)
    first = sign(c, a, HTTP_USER_AGENT="x")
    assert first.url == reverse("records:done", args=[a.pk])
    again = sign(c, a)  # the back button, a second tab, a double click
    assert again.url == reverse("records:done", args=[a.pk])
    assert Completion.objects.count() == 1
    html = c.get(first.url).content.decode()
    assert "You completed Security awareness" in html and "100%" in html


def make_assignments(person, n: int) -> None:
    courses = list(Course.objects.all())
    today = timezone.localdate()
    for i in range(n - person.assignments.count()):
        Assignment.objects.create(
            user=person,
            course=courses[i % len(courses)],
            cycle=10 + i,
            reason=Assignment.MANUAL,
            assigned_on=today,
            due_on=today + dt.timedelta(days=i - 5),
        )


@pytest.mark.parametrize("page", ["training", "lesson"])
def test_query_counts_do_not_grow_with_assignments(login, employee, outsider, page, django_capture_on_commit_callbacks):
    def count(person, n: int) -> int:
        make_assignments(person, n)
        done = assignment_of(person, "privacy-essentials")
        see_lessons(done)
        a = assignment_of(person)
        if page == "training":  # every kind of row: lessons seen, the check passed, completed with a certificate
            passed = person.assignments.exclude(course__slug__in=["privacy-essentials", a.course.slug]).first()
            see_lessons(passed)
            attempt(passed, right=True)
            with django_capture_on_commit_callbacks(execute=True):
                take(a)
            assert Certificate.objects.filter(completion__assignment=a).exists()
        url = reverse("records:training") if page == "training" else reverse("records:lesson", args=[a.pk, 1])
        c = login(person)
        c.get(url)  # a session's first request also records the session (allauth.usersessions)
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert count(employee, 3) == count(outsider, 30)
