"""The roles grid (/dashboard/roles/): which role requires which module; workforce roles and departments.

Officers and administrators change them; auditors see the grid read-only. Every change is previewed with
its consequences (planned by the assignment engine) before it is applied.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from courses.models import Course

from .. import access
from ..department_plan import DepartmentPlan, department_requirement_plan
from ..grid import GridStale, GridState, change_log, grid_plan, grid_state, read_grid_form
from ..http import AuthenticatedHttpRequest
from ..models import MAX_DUE_WITHIN_DAYS, MAX_RECURRENCE_MONTHS, Department, DepartmentRequirement, WorkforceRole
from ..services import (
    department_create,
    department_rename,
    department_requirement_remove,
    department_requirement_set,
    department_retire,
    requirements_grid_apply,
    role_create,
    role_rename,
    role_retire,
)

WRITERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR)
READERS = (*WRITERS, access.AUDITOR)
HISTORY_LIMIT = 20


class RoleForm(forms.Form):
    name = forms.CharField(label="Name of the workforce role", max_length=120)
    description = forms.CharField(label="What people in it do", required=False, widget=forms.Textarea({"rows": 2}))
    handles_phi = forms.BooleanField(label="People in this role handle or can reach PHI", required=False, initial=True)


class NameForm(forms.Form):
    name = forms.CharField(label="New name", max_length=120)


class DepartmentForm(forms.Form):
    name = forms.CharField(label="Name of the department", max_length=120)


def _may_write(request: AuthenticatedHttpRequest) -> bool:
    return bool(access.groups_of(request.user) & set(WRITERS))


def _grid_context(
    request: AuthenticatedHttpRequest,
    state: GridState,
    data: Any = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The grid's rows with each cell's current (or posted) values."""
    rows = []
    for role, cells in state.rows():
        shown = []
        for cell in cells:
            req = cell.requirement
            if data is not None:
                values = {
                    "required": data.get(cell.name("required")) == "on",
                    "due": data.get(cell.name("due"), ""),
                    "every": data.get(cell.name("every"), ""),
                }
            else:
                values = {
                    "required": req is not None,
                    "due": req.due_within_days if req else 30,
                    "every": (req.recurrence_months or "") if req else 12,
                }
            shown.append({"cell": cell, "values": values, "error": (errors or {}).get(cell.key)})
        rows.append({"role": role, "people": state.people.get(role.pk, 0), "cells": shown})
    history = change_log(limit=HISTORY_LIMIT)
    return {
        "state": state,
        "rows": rows,
        "errors": errors or {},
        "may_write": _may_write(request),
        "history": history,
        "role_form": RoleForm(),
    }


@require_http_methods(["GET", "POST"])
@access.access_required(*READERS)
def grid(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: the grid. POST (officers): the preview of what the posted grid would change."""
    state = grid_state()
    if request.method == "GET":
        return render(request, "roles/grid.html", _grid_context(request, state))
    if not _may_write(request):
        raise PermissionDenied("Auditors see the grid read-only.")
    if request.POST.get("version") != state.version:
        messages.error(request, "Someone changed the roles grid after you opened it. Nothing was saved; here it is.")
        return render(request, "roles/grid.html", _grid_context(request, state), status=409)
    changes, errors = read_grid_form(state, request.POST)
    if errors:
        return render(request, "roles/grid.html", _grid_context(request, state, request.POST, errors), status=400)
    if not changes:
        messages.info(request, "Nothing changed in the grid.")
        return redirect("roles:grid")
    plan = grid_plan(state, changes)
    hidden = [(k, v) for k, v in request.POST.items() if k.startswith("r") and "-c" in k]
    return render(request, "roles/grid_preview.html", {"plan": plan, "state": state, "hidden": hidden})


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def grid_apply(request: AuthenticatedHttpRequest) -> HttpResponse:
    state = grid_state()
    try:
        if request.POST.get("version") != state.version:
            raise GridStale("Someone changed the roles grid after you opened it.")
        changes, errors = read_grid_form(state, request.POST)
        if errors:
            raise ValidationError(list(errors.values()))
        result = requirements_grid_apply(
            changes=changes, version=state.version, plan_digest=request.POST.get("plan", ""), actor=request.user
        )
    except GridStale as exc:
        messages.error(request, f"Nothing was saved. {exc} Here is the grid as it is now; make your change again.")
        return render(request, "roles/grid.html", _grid_context(request, grid_state()), status=409)
    except ValidationError as exc:
        messages.error(request, "Nothing was saved. " + " ".join(exc.messages))
        return render(request, "roles/grid.html", _grid_context(request, grid_state()), status=400)
    messages.success(
        request,
        f"The grid was saved: {len(changes)} change{'s' if len(changes) != 1 else ''}, "
        f"{len(result.created)} assignment{'s' if len(result.created) != 1 else ''} made, "
        f"{result.cancelled} cancelled.",
    )
    return redirect("roles:grid")


@require_POST
@access.access_required(*WRITERS)
def role_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            role = role_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{role.name} was added. Tick the modules it requires in the grid.")
            return redirect("roles:grid")
    context = _grid_context(request, grid_state())
    context["role_form"] = form
    return render(request, "roles/grid.html", context, status=400)


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def role_edit(request: AuthenticatedHttpRequest, role_id: int) -> HttpResponse:
    role = get_object_or_404(WorkforceRole, pk=role_id)
    form = NameForm(request.POST or None, initial={"name": role.name})
    if request.method == "POST" and form.is_valid():
        try:
            role_rename(role=role, name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"The role is now called {form.cleaned_data['name']}.")
            return redirect("roles:role_edit", role_id=role.pk)
    return _role_page(request, role, form)


def _role_page(
    request: AuthenticatedHttpRequest, role: WorkforceRole, form: NameForm, status: int | None = None
) -> HttpResponse:
    people = role.people.filter(is_active=True, terminated_on__isnull=True)
    context = {
        "role": role,
        "form": form,
        "active_people": people.count(),
        "people_sample": list(people.order_by("full_name")[:20]),
        "requirements": list(role.requirements.select_related("course").order_by("course__title")),
    }
    return render(request, "roles/role.html", context, status=status or (400 if form.errors else 200))


@require_POST
@access.access_required(*WRITERS)
def role_retire_view(request: AuthenticatedHttpRequest, role_id: int) -> HttpResponse:
    role = get_object_or_404(WorkforceRole, pk=role_id)
    try:
        role_retire(role=role, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "Not retired. " + " ".join(exc.messages))
        return _role_page(request, role, NameForm(initial={"name": role.name}), status=400)
    messages.success(request, f"{role.name} is retired: it is kept for the records and no longer offered.")
    return redirect("roles:grid")


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def departments(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            department = department_create(name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{department.name} was added.")
            return redirect("roles:departments")
    rows = Department.objects.annotate(
        active_people=Count("people", filter=Q(people__is_active=True, people__terminated_on__isnull=True))
    ).order_by("retired_at", "name")
    return render(
        request, "roles/departments.html", {"form": form, "departments": rows}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@access.access_required(*WRITERS)
def department_edit(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=department_id)
    if request.method == "POST" and request.POST.get("requirement"):
        return _department_requirement(request, department)
    form = NameForm(request.POST or None, initial={"name": department.name})
    if request.method == "POST" and form.is_valid():
        try:
            department_rename(department=department, name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"The department is now called {form.cleaned_data['name']}.")
            return redirect("roles:departments")
    return _department_page(request, department, form)


class DepartmentRequirementForm(forms.Form):
    """A module the department requires on its own terms (a state law such as Texas HB 300)."""

    course = forms.ModelChoiceField(
        label="Module",
        queryset=Course.objects.filter(retired_at__isnull=True, versions__isnull=False).distinct().order_by("title"),
        empty_label="Choose a module",
        error_messages={"invalid_choice": "That module is retired or unknown: choose one from the list."},
    )
    due_within_days = forms.IntegerField(
        label="Due within (days of hire)",
        min_value=1,
        max_value=MAX_DUE_WITHIN_DAYS,
        initial=90,
        help_text="A new hire's first due date; later cycles count from when they are assigned.",
    )
    recurrence_months = forms.IntegerField(
        label="Retrain every (months)",
        min_value=1,
        max_value=MAX_RECURRENCE_MONTHS,
        required=False,
        initial=24,
        help_text="Empty: once.",
    )


def _department_requirement(request: AuthenticatedHttpRequest, department: Department) -> HttpResponse:
    """Add, change or remove one of the department's own requirements: first its consequence, then (the same
    form posted again with the plan's digest, after a recent sign-in) the change, through the engine."""
    if not _may_write(request):
        raise PermissionDenied
    name_form = NameForm(initial={"name": department.name})
    if department.retired_at is not None:
        messages.error(request, f"{department.name} is retired: its requirements can no longer change.")
        return _department_page(request, department, name_form, status=400)
    requirement_form = DepartmentRequirementForm(request.POST, auto_id="req_%s")
    if request.POST["requirement"] == "remove":
        existing = DepartmentRequirement.objects.filter(
            department=department, course_id=_int(request.POST.get("course"))
        ).first()
        if existing is None:
            messages.error(request, "Nothing was changed: the department does not require that module.")
            return _department_page(request, department, name_form, status=400)
        plan = department_requirement_plan(department=department, course=existing.course, required=False)
        requirement_form = DepartmentRequirementForm(auto_id="req_%s")
    elif request.POST["requirement"] == "set":
        if not requirement_form.is_valid():
            return _department_page(request, department, name_form, requirement_form=requirement_form, status=400)
        data = requirement_form.cleaned_data
        plan = department_requirement_plan(
            department=department,
            course=data["course"],
            required=True,
            due_within_days=data["due_within_days"],
            recurrence_months=data["recurrence_months"],
        )
    else:
        messages.error(request, "Nothing was changed: unknown action.")
        return _department_page(request, department, name_form, status=400)
    if plan.unchanged:
        messages.info(request, "Nothing changed: the department already requires it on these terms.")
        return redirect("roles:department_edit", department_id=department.pk)
    posted = request.POST.get("plan", "")
    if posted != plan.digest():
        stale = bool(posted)
        if stale:
            messages.error(
                request,
                "Nothing was saved: the department or its people changed after the preview. Here is what it does now.",
            )
        return _department_page(
            request, department, name_form, requirement_form=requirement_form, plan=plan, status=409 if stale else 200
        )
    access.require_recent_authentication(request)
    if plan.required:
        department_requirement_set(
            department=department,
            course=plan.course,
            due_within_days=plan.due_within_days or 90,
            recurrence_months=plan.recurrence_months,
            actor=request.user,
        )
    else:
        assert plan.before is not None
        department_requirement_remove(requirement=plan.before, actor=request.user)
    messages.success(request, f"Saved. {plan.describe()}. " + " ".join(plan.sentences()))
    return redirect("roles:department_edit", department_id=department.pk)


REQUIREMENT_FIELDS = ("requirement", "course", "due_within_days", "recurrence_months")


def _int(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 18 else 0


def _department_page(
    request: AuthenticatedHttpRequest,
    department: Department,
    form: NameForm,
    status: int | None = None,
    *,
    requirement_form: DepartmentRequirementForm | None = None,
    plan: DepartmentPlan | None = None,
) -> HttpResponse:
    active = department.people.filter(is_active=True, terminated_on__isnull=True).count()
    errors = bool(form.errors or (requirement_form is not None and requirement_form.errors))
    return render(
        request,
        "roles/department.html",
        {
            "department": department,
            "form": form,
            "active_people": active,
            "can_write": _may_write(request),
            "requirements": list(department.requirements.select_related("course").order_by("course__title")),
            "requirement_form": requirement_form or DepartmentRequirementForm(auto_id="req_%s"),
            "plan": plan,
            "post": [
                (k, request.POST.get(k, "")) for k in ("requirement", "course", "due_within_days", "recurrence_months")
            ],
        },
        status=status or (400 if errors else 200),
    )


@require_POST
@access.access_required(*WRITERS)
def department_retire_view(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=department_id)
    try:
        department_retire(department=department, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "Not retired. " + " ".join(exc.messages))
        return _department_page(request, department, NameForm(initial={"name": department.name}), status=400)
    messages.success(request, f"{department.name} is retired: kept for the records, no longer offered.")
    return redirect("roles:departments")
