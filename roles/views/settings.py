"""The officer's settings page (/dashboard/settings/): the sign-in policy, the organisation's name and logo on
certificates, and links to the reminder calendar and
the single sign-on groups mapping (sso_mapping.py). Each change is audited and needs a fresh sign-in."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .. import access
from ..http import AuthenticatedHttpRequest
from ..models import Organization, ReminderPolicy, SecurityPolicy, SSOClaimMapping
from ..organization import logo_max_bytes, logo_read, organization_update
from ..security import security_policy_update

WRITERS = (access.COMPLIANCE_OFFICER, access.ADMINISTRATOR)


class SignInPolicyForm(forms.Form):
    require_mfa_for_everyone = forms.BooleanField(
        label="Everyone must use a second factor",
        required=False,
        help_text="Compliance officers, auditors and administrators always must.",
    )
    sso_may_create_accounts = forms.BooleanField(
        label="Single sign-on may create accounts",
        required=False,
        help_text="Off: only people already in the workforce list can sign in with single sign-on.",
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(label="Organisation's name on certificates and reports", max_length=200)
    logo = forms.FileField(
        label="Logo (PNG or JPEG)",
        required=False,
        help_text=f"At most {logo_max_bytes() // 1024} KB; shown at the top of every new certificate.",
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)


def _page(
    request: AuthenticatedHttpRequest,
    sign_in: SignInPolicyForm | None = None,
    organization: OrganizationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = SecurityPolicy.current()
    org = Organization.current()
    if organization is None:
        organization = OrganizationForm(initial={"name": org.display_name})
        if not org.logo_sha256:
            del organization.fields["remove_logo"]  # nothing to remove
    context = {
        "sign_in_form": sign_in
        or SignInPolicyForm(
            initial={
                "require_mfa_for_everyone": policy.require_mfa_for_everyone,
                "sso_may_create_accounts": policy.sso_may_create_accounts,
            }
        ),
        "organization_form": organization,
        "policy": policy,
        "org": org,
        "reminders": ReminderPolicy.current(),
        "may_edit_reminders": access.is_compliance_officer(request.user),
        "sso_mappings": SSOClaimMapping.objects.count(),
    }
    return render(request, "roles/settings.html", context, status=status)


@require_GET
@access.access_required(*WRITERS)
def settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def sign_in_policy(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SignInPolicyForm(request.POST)
    if not form.is_valid():
        return _page(request, sign_in=form, status=400)
    security_policy_update(actor=request.user, **form.cleaned_data)
    messages.success(request, "The sign-in policy was saved.")
    return redirect("roles:settings")


@require_POST
@access.access_required(*WRITERS)
@access.reauth_required
def organization(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["logo"]
        try:
            logo = None
            if upload is not None:
                # Never more than one byte past the limit in memory: enough to refuse a file that is too large.
                logo = logo_read(upload.read(logo_max_bytes() + 1), upload.name or "")
            organization_update(
                actor=request.user,
                name=form.cleaned_data["name"],
                logo=logo,
                remove_logo=form.cleaned_data["remove_logo"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error("logo", exc.messages)
        else:
            messages.success(request, "The organisation's name and logo were saved; new certificates use them.")
            return redirect("roles:settings")
    return _page(request, organization=form, status=400)


@require_GET
@access.access_required(*WRITERS)
def organization_logo(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = Organization.objects.filter(pk=1).first()
    if org is None or not org.logo:
        raise Http404("No logo.")
    return HttpResponse(bytes(org.logo), content_type=org.logo_type)
