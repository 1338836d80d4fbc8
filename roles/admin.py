"""Admin pages for the workforce. Every save goes through roles.services, so it is audited and
assignments follow."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict

from hipaa_training import audit
from hipaa_training.admin_utils import ReadOnlyAdmin

from . import access, services
from .access import require_recent_authentication
from .http import signed_in_user
from .models import (
    Assignment,
    Bulletin,
    BulletinAcknowledgement,
    BulletinDelivery,
    Delivery,
    Department,
    DepartmentRequirement,
    ReminderPolicy,
    Requirement,
    SecurityPolicy,
    User,
    WorkforceRole,
)
from .oidc import admin as _sso_admin  # noqa: F401  (registers the SSO claims mapping)
from .reminders.policy import POLICY_FIELDS, reminder_policy_update
from .security import security_policy_update
from .validators import CHECKS

PERSON_FIELDS = ["email", "full_name", "workforce_role", "department", "manager", "hire_date", "access_expires_on"]


class PersonForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [*PERSON_FIELDS, "reminder_digest", "groups", "is_staff"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The manager widget (autocomplete) looks its value up to show it again: a value that is not an id
        # would fail there. Drop it and say so.
        self._bad_manager = False
        manager = self.data.get("manager", "") if self.is_bound else ""
        if manager and (not str(manager).strip().isdigit() or int(manager) >= 2**63):
            data = QueryDict(mutable=True)
            data.update(self.data)  # type: ignore[arg-type]
            data["manager"] = ""
            self.data = data
            self._bad_manager = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self._bad_manager:
            self.add_error("manager", "Choose the manager from the list.")
        return data

    def _plausible(self, name: str) -> Any:
        value = self.cleaned_data.get(name)
        if name in self.changed_data:
            problem = CHECKS[name](value)
            if problem:
                raise forms.ValidationError(problem)
        return value

    def clean_hire_date(self) -> Any:
        return self._plausible("hire_date")

    def clean_access_expires_on(self) -> Any:
        return self._plausible("access_expires_on")


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = PersonForm
    list_display = ["full_name", "email", "workforce_role", "department", "manager", "hire_date", "is_active"]
    list_filter = ["is_active", "workforce_role", "department", "groups"]
    search_fields = ["full_name", "email"]
    list_select_related = ["workforce_role", "department", "manager"]
    autocomplete_fields = ["manager"]
    readonly_fields = ["is_active", "terminated_on", "date_joined", "last_login"]
    filter_horizontal = ["groups"]
    actions = ["deactivate", "reactivate", "send_invitation"]
    fieldsets = [
        (None, {"fields": ["email", "full_name"]}),
        ("Workforce", {"fields": ["workforce_role", "department", "manager", "hire_date"]}),
        ("Access", {"fields": ["groups", "is_staff", "access_expires_on", "reminder_digest"]}),
        ("Status", {"fields": ["is_active", "terminated_on", "date_joined", "last_login"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # people leave (deactivate); their records stay

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST":  # a role or access change: a fresh proof of identity first
            require_recent_authentication(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.person_create(
                actor=signed_in_user(request),
                **{k: data.get(k) for k in PERSON_FIELDS},  # type: ignore[arg-type]
            )
            obj.pk = created.pk
            obj._state.adding = False
            obj.refresh_from_db()
            return
        original = User.objects.get(pk=obj.pk)
        changes = {
            name: data[name]
            for name in form.changed_data
            if name in PERSON_FIELDS or name in ("is_staff", "reminder_digest")
        }
        for name in changes:
            setattr(obj, name, getattr(original, name))
        services.person_update(person=obj, actor=signed_in_user(request), **changes)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        before = set(form.instance.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.groups.values_list("name", flat=True))
        if before != after:
            audit.record(
                "person.access_changed",
                actor=signed_in_user(request),
                subject=form.instance,
                data={"from": sorted(before), "to": sorted(after)},
            )

    @admin.action(description="Deactivate (left the company; records are kept)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        asked = set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        if not request.POST.get("select_across") and len(asked) != queryset.count():
            self.message_user(
                request,
                f"{len(asked) - queryset.count()} of the chosen people do not exist (any more); nobody was "
                "deactivated. Reload the list and choose again.",
                messages.ERROR,
            )
            return
        for person in queryset.filter(is_active=True):
            services.person_deactivate(person=person, actor=signed_in_user(request))
        self.message_user(request, "Deactivated; their open assignments were cancelled and every record kept.")

    @admin.action(description="Reactivate")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for person in queryset.filter(is_active=False):
            services.person_reactivate(person=person, actor=signed_in_user(request))
        self.message_user(request, "Reactivated.")

    @admin.action(description="Send the invitation e-mail again")
    def send_invitation(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for person in queryset.filter(is_active=True):
            services.person_invite(person=person, actor=signed_in_user(request))
        self.message_user(request, "Invitations sent.", messages.SUCCESS)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


class RequirementInline(admin.TabularInline):
    model = Requirement
    fields = ("course", "recurrence_months", "due_within_days")
    readonly_fields = ("course", "recurrence_months", "due_within_days")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkforceRole)
class WorkforceRoleAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "handles_phi"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RequirementInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):
    list_display = ["role", "course", "recurrence_months", "due_within_days"]
    list_filter = ["role", "course"]

    def save_model(self, request: HttpRequest, obj: Requirement, form: forms.ModelForm, change: bool) -> None:
        saved = services.requirement_set(
            role=obj.role,
            course=obj.course,
            recurrence_months=obj.recurrence_months,
            due_within_days=obj.due_within_days,
            actor=signed_in_user(request),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Requirement) -> None:
        services.requirement_remove(requirement=obj, actor=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Requirement]) -> None:
        for requirement in queryset:
            services.requirement_remove(requirement=requirement, actor=signed_in_user(request))


@admin.register(DepartmentRequirement)
class DepartmentRequirementAdmin(admin.ModelAdmin):
    list_display = ["department", "course", "recurrence_months", "due_within_days"]
    list_filter = ["department", "course"]

    def save_model(self, request: HttpRequest, obj: DepartmentRequirement, form: forms.ModelForm, change: bool) -> None:
        saved = services.department_requirement_set(
            department=obj.department,
            course=obj.course,
            recurrence_months=obj.recurrence_months,
            due_within_days=obj.due_within_days,
            actor=signed_in_user(request),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: DepartmentRequirement) -> None:
        services.department_requirement_remove(requirement=obj, actor=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DepartmentRequirement]) -> None:
        for requirement in queryset:
            services.department_requirement_remove(requirement=requirement, actor=signed_in_user(request))


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["user", "course", "cycle", "reason", "assigned_on", "due_on", "completed_at", "cancelled_at"]
    list_filter = ["course", "reason", "user__workforce_role"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user", "course"]
    date_hierarchy = "due_on"


class SecurityPolicyForm(forms.ModelForm):
    class Meta:
        model = SecurityPolicy
        fields = ["require_mfa_for_everyone", "sso_may_create_accounts", "sso_only", "break_glass_account"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account = data.get("break_glass_account")
        if data.get("sso_only") and account is None:
            self.add_error("break_glass_account", "Name the break-glass administrator before turning passwords off.")
        if account is not None and not (account.is_active and access.is_administrator(account)):
            self.add_error("break_glass_account", "The break-glass account must be an active administrator.")
        return data


@admin.register(SecurityPolicy)
class SecurityPolicyAdmin(admin.ModelAdmin):
    """One row; the compliance officer edits it, re-authenticating first; every change is audited."""

    form = SecurityPolicyForm
    list_display = ["__str__", "require_mfa_for_everyone", "sso_may_create_accounts", "sso_only", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SecurityPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST":
            require_recent_authentication(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: SecurityPolicy, form: forms.ModelForm, change: bool) -> None:
        changes = {k: form.cleaned_data[k] for k in SecurityPolicyForm.Meta.fields}
        saved = security_policy_update(actor=signed_in_user(request), **changes)
        obj.pk = saved.pk
        obj._state.adding = False


# Reminders and security reminders.


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    fields = POLICY_FIELDS
    list_display = ["__str__", "before_due_days", "overdue_every_days", "manager_after_days", "officer_after_days"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ReminderPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ReminderPolicy, form: forms.ModelForm, change: bool) -> None:
        saved = reminder_policy_update(
            actor=signed_in_user(request), **{k: form.cleaned_data[k] for k in POLICY_FIELDS}
        )
        obj.pk = saved.pk


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["kind", "period", "assignment", "recipient", "claimed_at", "sent_at"]
    list_filter = ["kind", "sent_at"]
    list_select_related = ["assignment__user", "assignment__course", "recipient"]
    search_fields = ["assignment__user__email", "recipient__email"]


@admin.register(Bulletin)
class BulletinAdmin(ReadOnlyAdmin):
    list_display = ["title", "everyone", "send_at", "created_by"]


@admin.register(BulletinDelivery)
class BulletinDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["bulletin", "person", "sent_at"]
    list_select_related = ["bulletin", "person"]


@admin.register(BulletinAcknowledgement)
class BulletinAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["bulletin", "person", "acknowledged_at", "ip_address"]
    list_select_related = ["bulletin", "person"]
