"""The course player: overview, lessons in order, the knowledge check, the attestation, the completion.

Every view works on the signed-in person's own assignment only (anyone else's is 404) and asks a service
to write; a refused step shows its reason and saves nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from courses.models import Lesson
from hipaa_training.net import client_ip
from roles.http import AuthenticatedHttpRequest
from roles.models import Assignment

from .. import services
from ..access import get_assignment_for_user
from ..selectors import PlayerState, attempt_replay, choices_as_shown, player_state, questions_in_order


def _own(request: AuthenticatedHttpRequest, assignment_id: int) -> tuple[Assignment, PlayerState]:
    assignment = get_assignment_for_user(request.user, assignment_id)
    state = player_state(assignment)
    if state is None:
        raise Http404("This module has no published version yet.")
    return assignment, state


def _errors(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


def _version_id(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1  # a form without a version is treated as stale


def _client_ip(request: HttpRequest) -> str | None:
    return client_ip(request) or None


def _resume_url(state: PlayerState) -> str:
    a = state.assignment
    if state.completion:
        return reverse("records:done", args=[a.pk])
    if state.passed_attempt:
        return reverse("records:attest", args=[a.pk])
    nxt = state.next_lesson
    if nxt is None:
        return reverse("records:check", args=[a.pk])
    return reverse("records:lesson", args=[a.pk, nxt.position])


@login_required
def overview(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment, state = _own(request, assignment_id)
    return render(
        request,
        "records/overview.html",
        {"a": assignment, "state": state, "version": state.version, "resume_url": _resume_url(state)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def lesson(request: AuthenticatedHttpRequest, assignment_id: int, position: int) -> HttpResponse:
    assignment, state = _own(request, assignment_id)
    current = next((item for item in state.lessons if item.position == position), None)
    if current is None:
        raise Http404("No such lesson.")
    if not state.may_open(current):
        messages.warning(request, "Lessons are taken in order; here is where you stopped.")
        return redirect(_resume_url(state))
    if request.method == "POST":
        try:
            services.lesson_view_record(
                assignment=assignment, lesson_id=current.pk, version_id=_version_id(request), actor=request.user
            )
        except ValidationError as error:
            for text in _errors(error):
                messages.error(request, text)
            return redirect(_resume_url(player_state(assignment) or state))
        following = next((item for item in state.lessons if item.position > position), None)
        if following:
            return redirect("records:lesson", assignment.pk, following.position)
        return redirect("records:check", assignment.pk)
    body = Lesson.objects.values_list("body_html", flat=True).get(pk=current.pk)
    return render(
        request,
        "records/lesson.html",
        {
            "a": assignment,
            "state": state,
            "version": state.version,
            "lesson": current,
            "body": body,
            "seen": current.pk in state.seen_ids,
            "previous": next((item for item in reversed(state.lessons) if item.position < position), None),
        },
    )


LAYOUT_SALT = "records.quiz-layout"


def _layout_token(assignment: Assignment, layout: services.QuizLayout) -> str:
    """The page's order of questions and choices, signed, so the attempt records exactly what was shown."""
    return signing.dumps(
        {
            "a": assignment.pk,
            "q": layout.question_order,
            "c": [layout.choice_order[q] for q in layout.question_order],
        },
        salt=LAYOUT_SALT,
        compress=True,
    )


def _layout_from(request: HttpRequest, assignment: Assignment) -> services.QuizLayout:
    try:
        data = signing.loads(request.POST.get("layout", ""), salt=LAYOUT_SALT)
        if data["a"] != assignment.pk or len(data["q"]) != len(data["c"]):
            raise ValueError("a layout made for another page")
        questions = [int(q) for q in data["q"]]
        choices = {q: [int(c) for c in shown] for q, shown in zip(questions, data["c"], strict=True)}
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ValidationError("The answers submitted could not be read. Nothing was saved.") from exc
    return services.QuizLayout(questions, choices)


def _parse_positions(request: HttpRequest) -> dict[int, list[int]]:
    """Answers as posted: question id -> places of the chosen choices on the page (1 = first shown)."""
    try:
        positions: dict[int, list[int]] = {}
        for name in request.POST:
            if name.startswith("q"):
                positions[int(name[1:])] = [int(c) for c in request.POST.getlist(name)]
    except ValueError as exc:
        raise ValidationError("The answers submitted could not be read. Nothing was saved.") from exc
    return positions


@login_required
@require_http_methods(["GET", "POST"])
def check(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment, state = _own(request, assignment_id)
    if state.completion or state.passed_attempt:
        return redirect(_resume_url(state))
    if not state.lessons_done:
        messages.warning(request, "The knowledge check opens once you have seen every lesson.")
        return redirect(_resume_url(state))
    errors: list[str] = []
    positions: dict[int, list[int]] = {}
    layout: services.QuizLayout | None = None
    if request.method == "POST":
        try:
            layout = _layout_from(request, assignment)
            positions = _parse_positions(request)
            attempt = services.quiz_attempt_submit(
                assignment=assignment,
                version_id=_version_id(request),
                question_order=layout.question_order,
                choice_order=layout.choice_order,
                answers=services.answers_by_position(layout, positions),
                actor=request.user,
            )
        except services.StaleVersion as error:
            messages.error(request, _errors(error)[0])
            return redirect("records:overview", assignment.pk)
        except ValidationError as error:
            errors = _errors(error)
        else:
            return redirect("records:attempt", assignment.pk, attempt.number)
        in_version = state.version.questions.prefetch_related("choices")
        valid = {q.pk: sorted(c.pk for c in q.choices.all()) for q in in_version}
        if layout is None or {q: sorted(c) for q, c in layout.choice_order.items()} != valid:
            layout = None  # unreadable, or not this version's questions: show a fresh page
    if layout is None:
        layout = services.quiz_layout_for(assignment, state.version)
    questions = questions_in_order(state.version, layout.question_order)
    return render(
        request,
        "records/check.html",
        {
            "a": assignment,
            "state": state,
            "version": state.version,
            "items": [
                {
                    "q": q,
                    "choices": choices_as_shown(q, layout.choice_order[q.pk]),
                    "chosen": set(positions.get(q.pk, ())),
                }
                for q in questions
            ],
            "layout": _layout_token(assignment, layout),
            "errors": errors,
            "attempt_number": len(state.attempts) + 1,
        },
        status=400 if errors else 200,
    )


@login_required
def attempt(request: AuthenticatedHttpRequest, assignment_id: int, number: int) -> HttpResponse:
    assignment, state = _own(request, assignment_id)
    found = next((a for a in state.attempts if a.number == number), None)
    if found is None:
        raise Http404("No such attempt.")
    results = attempt_replay(state.version, found)
    return render(
        request,
        "records/attempt.html",
        {
            "a": assignment,
            "state": state,
            "version": state.version,
            "attempt": found,
            "results": results,
            "wrong": sum(not r.right for r in results),
        },
    )


class AttestationForm(forms.Form):
    typed_name = forms.CharField(label="Your full name", max_length=200, required=False)
    agreed = forms.BooleanField(label="I have read this statement and I agree to it.", required=False)


@login_required
@require_http_methods(["GET", "POST"])
def attest(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment, state = _own(request, assignment_id)
    if state.completion:
        return redirect("records:done", assignment.pk)
    if not state.lessons_done or state.passed_attempt is None:
        messages.warning(request, "The attestation comes after every lesson and a passed knowledge check.")
        return redirect(_resume_url(state))
    form = AttestationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            completion, created = services.completion_record(
                assignment=assignment,
                version_id=_version_id(request),
                typed_name=form.cleaned_data["typed_name"],
                agreed=form.cleaned_data["agreed"],
                ip_address=_client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                actor=request.user,
            )
        except services.StaleVersion as error:
            messages.error(request, _errors(error)[0])
            return redirect("records:overview", assignment.pk)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, items in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, items)
            else:
                form.add_error(None, error)
        else:
            if created:
                messages.success(request, f"Well done: you have completed {completion.version.title}.")
            return redirect("records:done", assignment.pk)
    return render(
        request,
        "records/attest.html",
        {"a": assignment, "state": state, "version": state.version, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def done(request: AuthenticatedHttpRequest, assignment_id: int) -> HttpResponse:
    assignment, state = _own(request, assignment_id)
    if state.completion is None:
        return redirect(_resume_url(state))
    completion = state.completion
    certificate = getattr(completion, "certificate", None)
    return render(
        request,
        "records/done.html",
        {"a": assignment, "state": state, "completion": completion, "certificate": certificate},
    )
