"""The compliance officer's people pages (/dashboard/people/): the workforce list, adding a person, and
editing, leaving, reactivating, inviting and signing out one person.

Officers and administrators write; auditors read the list; a manager reads the list of their own reports
(roles.access.can_see_person: a manager sees their direct reports). A person's transcript, at
/dashboard/people/<id>/, is records' page; the actions live at /dashboard/people/<id>/manage/.
Every write asks for a recent sign-in (roles.access.require_recent_authentication), as a role change does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.models import Course

from .. import access, people, services
from ..assignments import AssignmentPlan, assignment_plan
from ..http import AuthenticatedHttpRequest
from ..models import Assignment, Department, User, WorkforceRole
from ..reminders.nudges import nudge_people
from ..security import sessions_end

WRITERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR)
READERS = (*WRITERS, access.AUDITOR, access.MANAGER)
PAGE_SIZE = 25


def can_write(user: User) -> bool:
    return bool(access.groups_of(user) & set(WRITERS))


# The list.


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label="Name or e-mail", required=False, max_length=200)
    role = forms.TypedChoiceField(label="Workforce role", required=False, coerce=int, empty_value=None)
    department = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    manager = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(choices=people.STATUSES, required=False)
    training = forms.ChoiceField(label="Training", choices=people.TRAINING_STATES, required=False)

    def __init__(self, *args: Any, choices: dict[str, list[tuple[int, str]]], with_managers: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, key in (("role", "roles"), ("department", "departments"), ("manager", "managers")):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", "All"), *choices[key]]
        if not with_managers:
            del self.fields["manager"]

    def filters(self, reports_of: int | None) -> people.PeopleFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return people.PeopleFilters(
            search=(data.get("q") or "").strip(),
            role_id=data.get("role"),
            department_id=data.get("department"),
            manager_id=data.get("manager"),
            status=data.get("status") or people.CURRENT,
            training=data.get("training") or "",
            reports_of=reports_of,
        )


def _list_page(
    request: AuthenticatedHttpRequest,
    params: QueryDict,
    *,
    bulk_form: BulkForm | None = None,
    selected: set[int] | None = None,
    status: int = 200,
) -> HttpResponse:
    sees_everyone = can_write(request.user) or access.is_auditor(request.user)
    reports_of = None if sees_everyone else request.user.pk
    form = PeopleFilterForm(
        params or None,
        choices=people.filter_choices(with_managers=sees_everyone),
        with_managers=sees_everyone,
    )
    page = Paginator(people.people(form.filters(reports_of)), PAGE_SIZE).get_page(params.get("page"))
    writer = can_write(request.user)
    if selected is None:
        selected = {p.pk for p in page.object_list} if params.get("select") == "page" else set()
    rows = [{"person": p, "status": people.status_of(p), "selected": p.pk in selected} for p in page.object_list]
    query = params.copy()
    query.pop("page", None)
    query.pop("select", None)
    here = params.copy()
    here.pop("select", None)
    return render(
        request,
        "roles/people/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "here": here.urlencode(),
            "can_write": writer,
            "bulk_form": (bulk_form or BulkForm(auto_id="bulk_%s")) if writer else None,
            "scope": "everyone" if sees_everyone else "reports",
        },
        status=status,
    )


@require_GET
@access.access_required(*READERS)
def people_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _list_page(request, request.GET)


# The bulk action on the selected people of a filtered list: assign a module by hand, or remind them now.

ASSIGN = "assign"
NUDGE = "nudge"


def _person_id(value: str) -> int | None:
    """A selected person's id as posted, or None when it cannot be one (not a number, or beyond a database id)."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        label="What to do",
        choices=[(ASSIGN, "Assign a module"), (NUDGE, "Remind them now of their open modules")],
        initial=ASSIGN,
        widget=forms.RadioSelect,
    )
    course = forms.ModelChoiceField(
        label="Module",
        queryset=Course.objects.filter(retired_at__isnull=True, versions__isnull=False).distinct().order_by("title"),
        required=False,
        empty_label="Choose a module",
        error_messages={"invalid_choice": "That module is retired or unknown: choose one from the list."},
    )
    due_on = forms.DateField(
        label="Due on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Today or later, within two years.",
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        help_text="Kept with each assignment and in the audit trail.",
    )
    filters = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people: list[User] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = self.data.getlist("person") if hasattr(self.data, "getlist") else []
        ids: set[int] = set()
        for value in raw:
            pk = _person_id(value)
            if pk is None:
                self.add_error(
                    None, "The selection holds something that is not a person on this list: nothing was done."
                )
                return data
            ids.add(pk)
        if not ids:
            self.add_error(None, "Select at least one person on the list: nothing was done.")
            return data
        found = list(User.objects.filter(pk__in=ids).order_by("full_name", "pk"))
        if len(found) != len(ids):
            self.add_error(None, "Some of the selected people no longer exist: nothing was done. Select them again.")
            return data
        self.people = found
        if data.get("action") == ASSIGN:
            course = data.get("course")
            if "course" in self.errors:
                return data
            try:
                services.check_manual_assignment(
                    course=course, due_on=data.get("due_on"), reason=data.get("reason") or ""
                )
            except ValidationError as exc:
                _add_errors(self, exc)
        return data


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def people_bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = BulkForm(request.POST, auto_id="bulk_%s")
    params = QueryDict(request.POST.get("filters", ""))
    back = reverse("roles:people") + (f"?{params.urlencode()}" if params else "")
    if not form.is_valid():
        selected = {pk for pk in map(_person_id, request.POST.getlist("person")) if pk is not None}
        return _list_page(request, params, bulk_form=form, selected=selected, status=400)
    data = form.cleaned_data
    if data["action"] == ASSIGN:
        try:
            result = services.assign_manually(
                people=form.people,
                course=data["course"],
                due_on=data["due_on"],
                reason=data["reason"],
                actor=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            return _list_page(request, params, bulk_form=form, selected={p.pk for p in form.people}, status=400)
        messages.success(request, result.sentence())
    else:
        messages.success(request, nudge_people(people=form.people, actor=request.user).sentence())
    return redirect(back)


# Adding a person.


def _person_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first() if email else None


class ManagerField(forms.EmailField):
    """A manager named by e-mail address (a list of 10,000 names would not be usable): a current workforce member."""

    def clean(self, value: Any) -> User | None:  # type: ignore[override]
        email = super().clean(value)
        if not email:
            return None
        manager = _person_by_email(email)
        if manager is None:
            raise ValidationError(f"No one in the workforce has the e-mail address {email}.")
        if not manager.is_active or manager.terminated_on is not None:
            raise ValidationError(f"{manager.full_name} has left; choose a current manager.")
        return manager


def _hire_date(day: dt.date | None) -> dt.date | None:
    try:
        services.check_hire_date(day)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["hire_date"]) from exc
    return day


class WorkforceFields(forms.Form):
    workforce_role = forms.ModelChoiceField(
        label="Workforce role",
        queryset=WorkforceRole.objects.order_by("name"),
        empty_label="Choose a role",
        help_text="It decides the modules they must take.",
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"), required=False, empty_label="No department"
    )
    manager = ManagerField(label="Manager's e-mail", required=False, help_text="Blank: no manager.")
    hire_date = forms.DateField(
        label="Hire date", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_hire_date(self) -> dt.date | None:
        return _hire_date(self.cleaned_data.get("hire_date"))


class PersonNewForm(WorkforceFields):
    full_name = forms.CharField(label="Full name", max_length=200, help_text="As it will appear on certificates.")
    email = forms.EmailField(
        label="E-mail", max_length=254, help_text="They sign in with it; the invitation goes here."
    )

    field_order = ["full_name", "email", "workforce_role", "department", "manager", "hire_date"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        existing = _person_by_email(email)
        if existing is not None:
            raise ValidationError(f"{existing.full_name} already has the e-mail address {existing.email}.")
        return email


def _fresh_for_writes(request: AuthenticatedHttpRequest) -> None:
    """Looking is fine; saving asks for a recent sign-in (as the admin's role change does)."""
    if request.method == "POST":
        access.require_recent_authentication(request)


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def person_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    _fresh_for_writes(request)
    form = PersonNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = services.person_create(
                actor=request.user,
                email=data["email"],
                full_name=data["full_name"],
                workforce_role=data["workforce_role"],
                department=data["department"],
                manager=data["manager"],
                hire_date=data["hire_date"],
                invite=True,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("roles:person_added", person_id=person.pk)
    return render(request, "roles/people/new.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
@access.access_required(*WRITERS)
def person_added(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person = _person(person_id)
    context = {"person": person, "assignments": _assignments(person), "today": timezone.localdate()}
    return render(request, "roles/people/added.html", context)


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# One person: edit and actions.


class PersonEditForm(WorkforceFields):
    version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, person: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person

    def clean_hire_date(self) -> dt.date | None:
        day = self.cleaned_data.get("hire_date")
        return day if day == self.person.hire_date else _hire_date(day)  # an old record does not block other edits

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role = data.get("workforce_role")
        left = not self.person.is_active or self.person.terminated_on is not None
        if role is not None and role.pk != self.person.workforce_role_id and left:
            self.add_error(
                "workforce_role",
                f"{self.person.full_name} has left: reactivate them before changing their role.",
            )
        manager = data.get("manager")
        if manager is not None and manager.pk != self.person.manager_id:
            try:
                services.check_manager(self.person, manager)
            except ValidationError as exc:
                self.add_error("manager", exc.message_dict["manager"])
        return data

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in ("workforce_role", "department", "manager", "hire_date")}


def edit_initial(person: User) -> dict[str, Any]:
    return {
        "workforce_role": person.workforce_role_id,
        "department": person.department_id,
        "manager": person.manager.email if person.manager else "",
        "hire_date": person.hire_date,
        "version": services.person_version(person),
    }


class LeaveForm(forms.Form):
    on = forms.DateField(
        label="Left on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), help_text="Today or before."
    )
    version = forms.CharField(widget=forms.HiddenInput)


class VersionForm(forms.Form):
    version = forms.CharField(widget=forms.HiddenInput)


def _person(person_id: int) -> User:
    return get_object_or_404(User.objects.select_related("workforce_role", "department", "manager"), pk=person_id)


def _assignments(person: User) -> list[Assignment]:
    return list(
        Assignment.objects.filter(user=person).select_related("course").order_by("cancelled_at", "due_on", "pk")
    )


def _manage_page(
    request: AuthenticatedHttpRequest,
    person: User,
    *,
    edit_form: PersonEditForm | None = None,
    leave_form: LeaveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    version = services.person_version(person)
    today = timezone.localdate()
    context = {
        "person": person,
        "status": people.status_of(person),
        "assignments": _assignments(person),
        "edit_form": edit_form or PersonEditForm(initial=edit_initial(person), person=person),
        "leave_form": leave_form or LeaveForm(initial={"on": today, "version": version}, auto_id="leave_%s"),
        "version": version,
        "today": today,
        "is_self": person.pk == request.user.pk,
    }
    return render(request, "roles/people/manage.html", context, status=status)


def _stale(request: AuthenticatedHttpRequest, current: User) -> HttpResponse:
    messages.error(request, services.PersonChanged(current).messages[0])
    return _manage_page(request, _person(current.pk), status=409)


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def person_manage(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    _fresh_for_writes(request)
    person = _person(person_id)
    if request.method != "POST":
        return _manage_page(request, person)
    form = PersonEditForm(request.POST, person=person)
    if request.POST.get("version") and request.POST["version"] != services.person_version(person):
        return _stale(request, person)
    if not form.is_valid():
        return _manage_page(request, person, edit_form=form, status=400)
    changes = form.changes()
    role = changes["workforce_role"]
    plan: AssignmentPlan | None = None
    if role.pk != person.workforce_role_id:
        plan = assignment_plan(person=person, workforce_role_id=role.pk, hire_date=changes["hire_date"])
        if request.POST.get("plan") != plan.digest():
            return _preview(request, person, form, plan, changed=bool(request.POST.get("plan")))
    try:
        services.person_update(
            person=person, actor=request.user, expected_version=form.cleaned_data["version"], **changes
        )
    except services.PersonChanged as exc:
        return _stale(request, exc.current)
    except ValidationError as exc:
        person = _person(person_id)
        _add_errors(form, exc)
        return _manage_page(request, person, edit_form=form, status=400)
    done = f"{person.full_name}: saved."
    if plan is not None:
        done = f"{person.full_name} is now in {role.name}: the change {plan.sentence()}."
    messages.success(request, done)
    return redirect("roles:person_manage", person_id=person.pk)


def _preview(
    request: AuthenticatedHttpRequest, person: User, form: PersonEditForm, plan: AssignmentPlan, *, changed: bool
) -> HttpResponse:
    data = form.cleaned_data
    fields = [
        ("Workforce role", person.workforce_role, data["workforce_role"]),
        ("Department", person.department, data["department"]),
        ("Manager", person.manager, data["manager"]),
        ("Hire date", person.hire_date, data["hire_date"]),
    ]
    context = {
        "person": person,
        "plan": plan,
        "changes": [(label, before, after) for label, before, after in fields if before != after],
        "post": [
            (name, request.POST.get(name, "")) for name in ("workforce_role", "department", "manager", "hire_date")
        ],
        "version": data["version"],
        "digest": plan.digest(),
        "changed": changed,
    }
    return render(request, "roles/people/preview.html", context, status=409 if changed else 200)


def _action(
    request: AuthenticatedHttpRequest, person_id: int, form_class: type[forms.Form] = VersionForm
) -> tuple[User, forms.Form, HttpResponse | None]:
    """The person and the posted form, or the page to answer with when the form is stale or incomplete."""
    person = _person(person_id)
    form = form_class(request.POST, auto_id="leave_%s")
    if not form.is_valid():
        if isinstance(form, LeaveForm):
            return person, form, _manage_page(request, person, leave_form=form, status=400)
        messages.error(request, "Nothing was changed: the form was incomplete. Try again from this page.")
        return person, form, _manage_page(request, person, status=400)
    if form.cleaned_data["version"] != services.person_version(person):
        return person, form, _stale(request, person)
    return person, form, None


def _refused(request: AuthenticatedHttpRequest, person_id: int, exc: ValidationError) -> HttpResponse:
    if isinstance(exc, services.PersonChanged):
        return _stale(request, exc.current)
    messages.error(request, "Nothing was changed. " + " ".join(exc.messages))
    return _manage_page(request, _person(person_id), status=400)


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def person_leave(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person, form, answer = _action(request, person_id, LeaveForm)
    if answer is not None:
        return answer
    try:
        result = services.person_deactivate(
            person=person, actor=request.user, on=form.cleaned_data["on"], expected_version=form.cleaned_data["version"]
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "on" in exc.error_dict:
            form.add_error("on", exc.message_dict["on"])
            return _manage_page(request, _person(person_id), leave_form=form, status=400)  # type: ignore[arg-type]
        return _refused(request, person_id, exc)
    messages.success(
        request,
        f"{person.full_name} is marked as left on {form.cleaned_data['on']:%b %-d, %Y}: signed out everywhere, "
        f"{result.cancelled} open assignment{'s' if result.cancelled != 1 else ''} cancelled, every record kept.",
    )
    return redirect("roles:person_manage", person_id=person.pk)


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def person_reactivate(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person, form, answer = _action(request, person_id)
    if answer is not None:
        return answer
    try:
        result = services.person_reactivate(
            person=person, actor=request.user, expected_version=form.cleaned_data["version"]
        )
    except ValidationError as exc:
        return _refused(request, person_id, exc)
    messages.success(
        request,
        f"{person.full_name} is active again; {len(result.created)} module{'s' if len(result.created) != 1 else ''} "
        "assigned. Send them an invitation if they need to set a password.",
    )
    return redirect("roles:person_manage", person_id=person.pk)


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def person_invite(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person, form, answer = _action(request, person_id)
    if answer is not None:
        return answer
    try:
        services.person_invite(person=person, actor=request.user)
    except ValidationError as exc:
        return _refused(request, person_id, exc)
    messages.success(request, f"The invitation was sent again to {person.email}.")
    return redirect("roles:person_manage", person_id=person.pk)


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def person_sessions_end(request: AuthenticatedHttpRequest, person_id: int) -> HttpResponse:
    person, form, answer = _action(request, person_id)
    if answer is not None:
        return answer
    if person.pk == request.user.pk:
        messages.error(request, "Nothing was changed: to sign yourself out everywhere, use Log out.")
        return _manage_page(request, person, status=400)
    ended = sessions_end(user=person, why="ended by a compliance officer", actor=request.user, record_none=True)
    messages.success(
        request,
        f"{person.full_name} was signed out of {ended} session{'s' if ended != 1 else ''}."
        if ended
        else f"{person.full_name} had no open session.",
    )
    return redirect(reverse("roles:person_manage", kwargs={"person_id": person.pk}))
