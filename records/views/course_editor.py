"""The course editor, /dashboard/courses/: courses and their drafts, each part of a draft edited with the same rules
as the catalogue files, a preview in the real player, publication, versions with their diffs, zips both ways.

Officers and administrators edit and publish; auditors read everything, drafts' history included (roles.access).
Every save carries the revision the page was read at: a later save on an older revision is refused with 409 and
the draft as it now is, the refused text kept on the page.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses import archive
from courses.diff import content_diff
from courses.drafts import (
    DraftClosed,
    StaleDraft,
    draft_discard,
    draft_publish,
    draft_save,
    draft_start,
    publish_problems,
)
from courses.markdown import render_markdown
from courses.models import Course, CourseDraft, CourseDraftRevision, CourseVersion
from courses.publishing import (
    MAX_TEXT,
    MIN_CHOICES,
    CatalogError,
    Content,
    ContentInvalid,
    Problem,
    markdown_problem,
    normalised,
    version_content,
)
from roles.access import COURSE_EDITORS, COURSE_READERS, access_required, can_edit_courses
from roles.assignments import retraining_if_material
from roles.http import AuthenticatedHttpRequest

from ..course_editor import course_rows, draft_preview, version_diff

SHOWN_CHOICE_ROWS = 5
MAX_CHOICE_ROWS = 8  # rows read from a submission: more than 5 filled is refused by the rules, not ignored


# --- helpers ---


def _draft(draft_id: int) -> CourseDraft:
    return get_object_or_404(CourseDraft.objects.select_related("course", "based_on", "published_version"), pk=draft_id)


def _open_draft(draft_id: int) -> CourseDraft:
    draft = _draft(draft_id)
    if not draft.is_open:
        raise Http404("This draft is published or discarded.")
    return draft


def _revision(request: AuthenticatedHttpRequest) -> int:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return -1  # no revision read: treated as stale


def _stale(request: AuthenticatedHttpRequest, error: StaleDraft) -> None:
    messages.error(request, str(error))


def _draft_url(draft: CourseDraft) -> str:
    return reverse("records:course_draft", args=[draft.pk])


class OverviewForm(forms.Form):
    title = forms.CharField(required=False, max_length=1000)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    audience = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Who takes it and why their role needs it."
    )
    regulation = forms.CharField(required=False, max_length=1000, help_text="For example 45 CFR 164.308(a)(5).")
    estimated_minutes = forms.IntegerField(required=False, label="Estimated minutes")
    pass_mark = forms.IntegerField(required=False, label="Pass mark (percent)")
    attestation = forms.CharField(
        required=False,
        label="Attestation statement",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What each learner signs at the end.",
    )


class LessonForm(forms.Form):
    title = forms.CharField(required=False, max_length=1000, label="Lesson title")
    body = forms.CharField(
        required=False,
        label="Lesson text (Markdown)",
        widget=forms.Textarea(attrs={"rows": 18, "data-markdown-preview": "lesson-preview"}),
        help_text="Headings from ##, lists, bold, tables. No HTML and no images.",
    )


class QuestionForm(forms.Form):
    prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(
        choices=[("single", "Single answer: exactly one choice is correct"), ("multiple", "Multiple answers")],
        required=False,
        widget=forms.RadioSelect,
        label="Kind",
    )
    explanation = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown after the attempt."
    )

    def __init__(self, *args: Any, rows: int = SHOWN_CHOICE_ROWS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for n in range(1, rows + 1):
            self.fields[f"choice_{n}_text"] = forms.CharField(
                required=False, label=f"Choice {n}", widget=forms.Textarea(attrs={"rows": 2})
            )
            self.fields[f"choice_{n}_correct"] = forms.BooleanField(required=False, label=f"Choice {n} is correct")
            self.fields[f"choice_{n}_why"] = forms.CharField(
                required=False, label=f"Why choice {n} is wrong", widget=forms.Textarea(attrs={"rows": 2})
            )

    def choice_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "n": n,
                "text": self[f"choice_{n}_text"],
                "correct": self[f"choice_{n}_correct"],
                "why": self[f"choice_{n}_why"],
            }
            for n in range(1, self.rows + 1)
        ]


class PublishForm(forms.Form):
    change_note = forms.CharField(
        max_length=2000,
        label="Change note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What changed in this version.",
    )
    material = forms.TypedChoiceField(
        label="Is this a material change?",
        choices=[("yes", "Material: everyone who completed the course is assigned retraining"), ("no", "Not material")],
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
        error_messages={"required": "Say whether the change is material."},
    )


class NewCourseForm(forms.Form):
    slug = forms.SlugField(max_length=50, help_text="Lower-case letters, digits and hyphens; it names the course.")
    title = forms.CharField(max_length=200)


class UploadForm(forms.Form):
    file = forms.FileField(label="Course zip", help_text="A course folder as downloaded here (catalog/FORMAT.md).")


def _put_problems(form: forms.Form, problems: list[Problem], fields: dict[str, str]) -> None:
    for p in problems:
        target = fields.get(p.field)
        form.add_error(target if target in form.fields else None, p.text)


# --- list, start, upload ---


@access_required(*COURSE_READERS)
@require_GET
def course_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows, new_drafts = course_rows()
    return render(
        request,
        "records/courses/list.html",
        {
            "rows": rows,
            "new_drafts": new_drafts,
            "can_edit": can_edit_courses(request.user),
            "new_form": NewCourseForm(),
            "upload_form": UploadForm(),
        },
    )


@access_required(*COURSE_EDITORS)
@require_http_methods(["GET", "POST"])
def draft_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A draft from a version (POST `version`), or a new blank course (slug and title)."""
    form = NewCourseForm(request.POST or None)
    if request.method == "POST":
        if "version" in request.POST:
            try:
                version = CourseVersion.objects.select_related("course").get(pk=int(request.POST["version"]))
            except (ValueError, CourseVersion.DoesNotExist):
                raise Http404("No such version.") from None
            draft = draft_start(version=version, actor=request.user)
            messages.success(request, f"A draft of {version.title} was started from version {version.number}.")
            return redirect(_draft_url(draft))
        if form.is_valid():
            try:
                draft = draft_start(
                    slug=form.cleaned_data["slug"], title=form.cleaned_data["title"], actor=request.user
                )
            except ContentInvalid as error:
                _put_problems(form, error.problems, {"slug": "slug"})
            else:
                messages.success(request, "The new course's draft was started.")
                return redirect(_draft_url(draft))
    return render(request, "records/courses/new.html", {"form": form}, status=400 if form.errors else 200)


@access_required(*COURSE_EDITORS)
@require_http_methods(["GET", "POST"])
def draft_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > archive.MAX_UPLOAD_BYTES:
                raise CatalogError(f"the upload is over {archive.MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
            slug, content = archive.read_zip(upload.read())
            version = CourseVersion.objects.current_for(course) if (course := _course(slug)) else None
            draft = draft_start(
                version=version,
                slug=slug,
                content=content,
                what=f"uploaded from {upload.name}"[:200],
                actor=request.user,
            )
        except CatalogError as error:
            for line in str(error).splitlines():
                form.add_error("file", line)
        else:
            messages.success(request, f"The zip was read into a draft of {draft.title}.")
            return redirect(_draft_url(draft))
    return render(request, "records/courses/upload.html", {"form": form}, status=400 if form.errors else 200)


def _course(slug: str) -> Course | None:
    return Course.objects.filter(slug=slug).first()


# --- the draft and its parts ---


@access_required(*COURSE_READERS)
@require_http_methods(["GET", "POST"])
def draft_detail(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    """The draft's overview fields (saved here), its lessons and questions (each edited on its own page)."""
    draft = _draft(draft_id)
    can_edit = can_edit_courses(request.user) and draft.is_open
    c = normalised(draft.content)
    initial = {key: c[key] for key in OverviewForm.base_fields}
    form = OverviewForm(initial=initial)
    status = 200
    refused: dict[str, Any] | None = None
    if request.method == "POST":
        if not can_edit:
            raise Http404("This draft cannot be edited.")
        form = OverviewForm(request.POST)
        if form.is_valid():
            content = {**copy.deepcopy(draft.content), **form.cleaned_data}
            try:
                draft_save(
                    draft=draft,
                    revision=_revision(request),
                    content=content,
                    section="overview",
                    what="overview",
                    actor=request.user,
                )
            except ContentInvalid as error:
                _put_problems(form, error.problems, {k: k for k in OverviewForm.base_fields})
            except StaleDraft as error:
                _stale(request, error)
                refused = form.cleaned_data
                draft = error.draft
                form = OverviewForm(initial={k: normalised(draft.content)[k] for k in OverviewForm.base_fields})
                status = 409
            except DraftClosed as error:
                messages.error(request, str(error))
                return redirect("records:course_list")
            else:
                messages.success(request, "The overview was saved.")
                return redirect(_draft_url(draft))
        if form.errors:
            status = 400
    return render(
        request,
        "records/courses/draft.html",
        {
            "draft": draft,
            "c": normalised(draft.content),
            "form": form,
            "can_edit": can_edit,
            "problems": publish_problems(draft),
            "refused": refused,
        },
        status=status,
    )


def _lesson_section(draft: CourseDraft, position: int) -> tuple[Content, bool]:
    lessons = draft.content.get("lessons", [])
    if not 1 <= position <= len(lessons) + 1:
        raise Http404("No such lesson.")
    return draft.content, position == len(lessons) + 1


@access_required(*COURSE_EDITORS)
@require_http_methods(["GET", "POST"])
def lesson_edit(request: AuthenticatedHttpRequest, draft_id: int, position: int) -> HttpResponse:
    """One lesson (position one past the last: a new lesson). "Preview" shows the sanitised lesson, saving nothing."""
    draft = _open_draft(draft_id)
    content, adding = _lesson_section(draft, position)
    current = {} if adding else content["lessons"][position - 1]
    form = LessonForm(initial={"title": current.get("title", ""), "body": current.get("body", "")})
    preview_html = render_markdown(current.get("body", "")) if current else ""
    status, refused = 200, None
    if request.method == "POST":
        form = LessonForm(request.POST)
        if form.is_valid():
            lesson = {"title": form.cleaned_data["title"], "body": form.cleaned_data["body"]}
            preview_html = render_markdown(lesson["body"]) if len(lesson["body"]) <= MAX_TEXT else ""
            if request.POST.get("action") == "preview":
                problem = markdown_problem(lesson["body"])
                if problem:
                    form.add_error("body", problem)
                return render(
                    request,
                    "records/courses/lesson.html",
                    {"draft": draft, "form": form, "position": position, "adding": adding, "preview": preview_html},
                    status=400 if form.errors else 200,
                )
            new = copy.deepcopy(content)
            if adding:
                new.setdefault("lessons", []).append(lesson)
            else:
                new["lessons"][position - 1] = lesson
            try:
                draft_save(
                    draft=draft,
                    revision=_revision(request),
                    content=new,
                    section=f"lessons.{position}",
                    what=f"{'added' if adding else 'edited'} lesson {position}",
                    actor=request.user,
                )
            except ContentInvalid as error:
                _put_problems(
                    form, error.problems, {f"lessons.{position}.title": "title", f"lessons.{position}.body": "body"}
                )
            except StaleDraft as error:
                _stale(request, error)
                refused, draft = lesson, error.draft
                lessons = draft.content.get("lessons", [])
                now = lessons[position - 1] if position <= len(lessons) else {}
                form = LessonForm(initial={"title": now.get("title", ""), "body": now.get("body", "")})
                preview_html = render_markdown(now.get("body", ""))
                adding = position > len(lessons)
                status = 409
            except DraftClosed as error:
                messages.error(request, str(error))
                return redirect("records:course_list")
            else:
                messages.success(request, f"Lesson {position} was saved.")
                return redirect(_draft_url(draft) + "#lessons")
        if form.errors:
            status = 400
    return render(
        request,
        "records/courses/lesson.html",
        {
            "draft": draft,
            "form": form,
            "position": position,
            "adding": adding,
            "preview": preview_html,
            "refused": refused,
        },
        status=status,
    )


def _move(items: list[Any], position: int, action: str) -> bool:
    i = position - 1
    if action == "remove":
        del items[i]
    elif action == "up" and i > 0:
        items[i - 1], items[i] = items[i], items[i - 1]
    elif action == "down" and i < len(items) - 1:
        items[i + 1], items[i] = items[i], items[i + 1]
    else:
        return False
    return True


def _change(request: AuthenticatedHttpRequest, draft_id: int, position: int, kind: str) -> HttpResponse:
    draft = _open_draft(draft_id)
    new = copy.deepcopy(draft.content)
    items = new.setdefault(kind, [])
    if not 1 <= position <= len(items):
        raise Http404("No such item.")
    action = request.POST.get("action", "")
    label = "lesson" if kind == "lessons" else "question"
    if not _move(items, position, action):
        messages.error(request, "That change cannot be made: nothing was saved.")
        return redirect(_draft_url(draft) + f"#{kind}")
    verb = {"remove": "removed", "up": "moved up", "down": "moved down"}[action]
    try:
        draft_save(
            draft=draft,
            revision=_revision(request),
            content=new,
            section="order",
            what=f"{verb} {label} {position}",
            actor=request.user,
        )
    except StaleDraft as error:
        _stale(request, error)
        return render(
            request,
            "records/courses/draft.html",
            {
                "draft": error.draft,
                "c": normalised(error.draft.content),
                "form": OverviewForm(initial={k: normalised(error.draft.content)[k] for k in OverviewForm.base_fields}),
                "can_edit": True,
                "problems": publish_problems(error.draft),
            },
            status=409,
        )
    except DraftClosed as error:
        messages.error(request, str(error))
        return redirect("records:course_list")
    messages.success(request, f"The {label} was {verb}.")
    return redirect(_draft_url(draft) + f"#{kind}")


@access_required(*COURSE_EDITORS)
@require_POST
def lesson_change(request: AuthenticatedHttpRequest, draft_id: int, position: int) -> HttpResponse:
    return _change(request, draft_id, position, "lessons")


@access_required(*COURSE_EDITORS)
@require_POST
def question_change(request: AuthenticatedHttpRequest, draft_id: int, position: int) -> HttpResponse:
    return _change(request, draft_id, position, "questions")


def _question_initial(q: dict[str, Any]) -> dict[str, Any]:
    initial = {"prompt": q.get("prompt", ""), "kind": q.get("kind", "single"), "explanation": q.get("explanation", "")}
    for n, c in enumerate(q.get("choices", []), start=1):
        initial.update(
            {f"choice_{n}_text": c["text"], f"choice_{n}_correct": c["correct"], f"choice_{n}_why": c["why"]}
        )
    return initial


def _posted_rows(request: AuthenticatedHttpRequest) -> int:
    filled = [n for n in range(1, MAX_CHOICE_ROWS + 1) if f"choice_{n}_text" in request.POST]
    return max([SHOWN_CHOICE_ROWS, *filled])


@access_required(*COURSE_EDITORS)
@require_http_methods(["GET", "POST"])
def question_edit(request: AuthenticatedHttpRequest, draft_id: int, position: int) -> HttpResponse:
    draft = _open_draft(draft_id)
    questions = draft.content.get("questions", [])
    if not 1 <= position <= len(questions) + 1:
        raise Http404("No such question.")
    adding = position == len(questions) + 1
    current = {} if adding else questions[position - 1]
    rows = max(SHOWN_CHOICE_ROWS, len(current.get("choices", [])))
    form = QuestionForm(initial=_question_initial(current) if current else {"kind": "single"}, rows=rows)
    status, refused = 200, None
    if request.method == "POST":
        form = QuestionForm(request.POST, rows=_posted_rows(request))
        if form.is_valid():
            data = form.cleaned_data
            kept = [
                n
                for n in range(1, form.rows + 1)
                if data[f"choice_{n}_text"].strip() or data[f"choice_{n}_why"].strip() or data[f"choice_{n}_correct"]
            ]
            question = {
                "prompt": data["prompt"],
                "kind": data["kind"] or None,
                "explanation": data["explanation"],
                "choices": [
                    {
                        "text": data[f"choice_{n}_text"],
                        "correct": data[f"choice_{n}_correct"],
                        "why": "" if data[f"choice_{n}_correct"] else data[f"choice_{n}_why"],
                    }
                    for n in kept
                ],
            }
            new = copy.deepcopy(draft.content)
            if adding:
                new.setdefault("questions", []).append(question)
            else:
                new["questions"][position - 1] = question
            where = f"questions.{position}"
            fields = {f"{where}.prompt": "prompt", f"{where}.kind": "kind", f"{where}.explanation": "explanation"}
            for j, n in enumerate(kept, start=1):
                for part in ("text", "correct", "why"):
                    fields[f"{where}.choices.{j}.{part}"] = f"choice_{n}_{part}"
                fields[f"{where}.choices.{j}"] = f"choice_{n}_text"
            try:
                draft_save(
                    draft=draft,
                    revision=_revision(request),
                    content=new,
                    section=where,
                    what=f"{'added' if adding else 'edited'} question {position}",
                    actor=request.user,
                )
            except ContentInvalid as error:
                _put_problems(form, error.problems, fields)
            except StaleDraft as error:
                _stale(request, error)
                refused, draft = question, error.draft
                now_questions = draft.content.get("questions", [])
                now = now_questions[position - 1] if position <= len(now_questions) else {}
                form = QuestionForm(initial=_question_initial(now), rows=max(rows, len(now.get("choices", []))))
                adding = position > len(now_questions)
                status = 409
            except DraftClosed as error:
                messages.error(request, str(error))
                return redirect("records:course_list")
            else:
                messages.success(request, f"Question {position} was saved.")
                return redirect(_draft_url(draft) + "#questions")
        if form.errors:
            status = 400
    return render(
        request,
        "records/courses/question.html",
        {
            "draft": draft,
            "form": form,
            "position": position,
            "adding": adding,
            "refused": refused,
            "min_choices": MIN_CHOICES,
        },
        status=status,
    )


@access_required(*COURSE_EDITORS)
@require_POST
def markdown_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The live preview: the posted Markdown rendered and sanitised (nh3), with the rule it breaks, if any."""
    body = request.POST.get("body", "")[:MAX_TEXT]
    problem = markdown_problem(body)
    return render(
        request,
        "records/courses/_preview.html",
        {"html": render_markdown(body), "problem": problem},
    )


@access_required(*COURSE_READERS)
@require_GET
def draft_history(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    draft = _draft(draft_id)
    revisions = list(draft.revisions.order_by("revision"))
    entries = []
    for i, rev in enumerate(revisions):
        before = revisions[i - 1].content if i else (version_content(draft.based_on) if draft.based_on else None)
        entries.append({"rev": rev, "diff": content_diff(before, rev.content)})
    return render(request, "records/courses/history.html", {"draft": draft, "entries": list(reversed(entries))})


# --- preview in the real player ---


def _player_context(draft: CourseDraft) -> dict[str, Any]:
    p = draft_preview(draft)
    base = reverse("records:course_preview", args=[draft.pk])
    return {
        "a": p.assignment,
        "state": p.state,
        "version": p.version,
        "preview": {"draft": draft, "base": base, "lessons": f"{base}lessons/", "check": f"{base}check/"},
        "_p": p,
    }


@access_required(*COURSE_READERS)
@require_GET
def preview_overview(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    context = _player_context(_draft(draft_id))
    context["resume_url"] = f"{context['preview']['lessons']}1/" if context["state"].lessons else ""
    return render(request, "records/overview.html", context)


@access_required(*COURSE_READERS)
@require_GET
def preview_lesson(request: AuthenticatedHttpRequest, draft_id: int, position: int) -> HttpResponse:
    context = _player_context(_draft(draft_id))
    lessons = context["state"].lessons
    if not 1 <= position <= len(lessons):
        raise Http404("No such lesson.")
    lesson = lessons[position - 1]
    context.update(
        {
            "lesson": lesson,
            "body": lesson.body_html,
            "seen": False,
            "previous": lessons[position - 2] if position > 1 else None,
            "following": lessons[position] if position < len(lessons) else None,
        }
    )
    return render(request, "records/lesson.html", context)


@access_required(*COURSE_READERS)
@require_GET
def preview_check(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    context = _player_context(_draft(draft_id))
    p = context.pop("_p")
    context.update(
        {
            "items": [{"q": q, "choices": p.choices[q.pk], "chosen": set()} for q in p.questions],
            "layout": "",
            "errors": [],
            "attempt_number": 1,
        }
    )
    return render(request, "records/check.html", context)


# --- publish ---


@access_required(*COURSE_EDITORS)
@require_http_methods(["GET", "POST"])
def draft_publish_view(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    """Publish: a change note and the material flag; a material change first says how many people will be assigned
    retraining, and asks again."""
    draft = _open_draft(draft_id)
    retraining = retraining_if_material(draft.course_id) if draft.course_id else 0
    current = CourseVersion.objects.current_for(draft.course_id) if draft.course_id else None
    form = PublishForm(request.POST or None)
    confirm = False
    status = 200
    if request.method == "POST" and form.is_valid():
        material = form.cleaned_data["material"]
        if material and retraining and request.POST.get("confirmed") != str(retraining):
            confirm = True  # show the count, then ask again
        else:
            try:
                result = draft_publish(
                    draft=draft,
                    revision=_revision(request),
                    change_note=form.cleaned_data["change_note"],
                    material=material,
                    actor=request.user,
                )
            except StaleDraft as error:
                _stale(request, error)
                draft, status = error.draft, 409
            except DraftClosed as error:
                messages.error(request, str(error))
                return redirect("records:course_list")
            except ContentInvalid as error:
                _put_problems(form, error.problems, {"change_note": "change_note"})
            else:
                assert result.version is not None
                messages.success(
                    request,
                    f"Version {result.number} of {result.version.title} was published"
                    + (f"; retraining is being assigned to {retraining} people." if material and retraining else "."),
                )
                return redirect("records:course_version", result.version.pk)
    if form.errors:
        status = 400
    diff = content_diff(version_content(current) if current else None, draft.content)
    return render(
        request,
        "records/courses/publish.html",
        {
            "draft": draft,
            "form": form,
            "problems": publish_problems(draft),
            "retraining": retraining,
            "confirm": confirm,
            "current": current,
            "diff": diff,
        },
        status=status,
    )


# --- discard ---


@access_required(*COURSE_EDITORS)
@require_POST
def draft_discard_view(request: AuthenticatedHttpRequest, draft_id: int) -> HttpResponse:
    """Discard a draft, asked twice: the first POST says what is kept (every saved revision, the history), the
    second (`confirmed=yes`) closes the draft. A closed draft or a stale revision changes nothing."""
    draft = _draft(draft_id)
    if not draft.is_open:
        messages.error(request, "This draft is published or discarded already: nothing was changed.")
        return redirect(_draft_url(draft))
    revision = _revision(request)
    if revision != draft.revision:  # saved by someone since this page was read: say so before asking
        messages.error(request, f"The draft was not discarded. {StaleDraft(draft)}")
        return redirect(_draft_url(draft))
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "records/courses/discard.html",
            {
                "draft": draft,
                "revision": revision,
                "saves": CourseDraftRevision.objects.filter(draft=draft).count(),
            },
        )
    try:
        draft_discard(draft=draft, revision=revision, actor=request.user)
    except DraftClosed as error:
        messages.error(request, str(error))
        return redirect(_draft_url(draft))
    except StaleDraft as error:
        messages.error(request, f"The draft was not discarded. {error}")
        return redirect(_draft_url(draft))
    messages.success(request, f"The draft of {draft.title} was discarded; its history is kept.")
    return redirect("records:course_list")


# --- versions ---


@access_required(*COURSE_READERS)
@require_GET
def version_detail(request: AuthenticatedHttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(CourseVersion.objects.select_related("course"), pk=version_id)
    before, diff = version_diff(version)
    return render(
        request,
        "records/courses/version.html",
        {"version": version, "before": before, "diff": diff, "can_edit": can_edit_courses(request.user)},
    )


@access_required(*COURSE_READERS)
@require_GET
def version_download(request: AuthenticatedHttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(CourseVersion.objects.select_related("course"), pk=version_id)
    response = HttpResponse(
        archive.version_download(version=version, actor=request.user), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{version.course.slug}-v{version.number}.zip"'
    return response
