"""The officer's page for the SSO groups mapping (/dashboard/settings/sso/): who may see and change it, each
change through mapping_services and audited with before and after, bad input refused next to its field, stale
edits refused, and a mapping added here giving a person their role at their next single sign-on."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from hipaa_training.models import AuditEvent
from roles import access
from roles.models import Assignment, SecurityPolicy, SSOClaimMapping, User
from roles.oidc import mapping_services
from tests.factories import DepartmentFactory, role

from .conftest import app_config
from .test_sso_flow import sso_sign_in

pytestmark = pytest.mark.usefixtures("catalog")

LIST = "roles:settings_sso"


def edit_url(mapping: SSOClaimMapping) -> str:
    return reverse("roles:settings_sso_edit", args=[mapping.pk])


def delete_url(mapping: SSOClaimMapping) -> str:
    return reverse("roles:settings_sso_delete", args=[mapping.pk])


@pytest.fixture
def mapping(db) -> SSOClaimMapping:
    return mapping_services.mapping_create(actor=None, claim_value="hipaa-billing", workforce_role=role("billing"))


def form_of(mapping: SSOClaimMapping, **changes) -> dict:
    data = {
        "provider_id": mapping.provider_id,
        "claim_value": mapping.claim_value,
        "workforce_role": mapping.workforce_role_id or "",
        "department": mapping.department_id or "",
        "access_group": mapping.access_group,
        "version": mapping_services.mapping_version(mapping),
    }
    data.update(changes)
    return data


# --- who may


def test_anonymous_people_are_sent_to_sign_in(client, mapping):
    for url in (reverse(LIST), edit_url(mapping)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url
    response = client.post(delete_url(mapping), {"version": mapping_services.mapping_version(mapping)})
    assert response.status_code == 302 and "/login/" in response.url
    assert SSOClaimMapping.objects.filter(pk=mapping.pk).exists()


@pytest.mark.parametrize("persona", ["employee", "manager", "auditor"])
def test_other_roles_may_neither_see_nor_change_the_mapping(request, login, persona, mapping):
    # Auditors do not see the settings page either (roles/views/settings.py): the mapping is configuration.
    client = login(request.getfixturevalue(persona))
    assert client.get(reverse(LIST)).status_code == 403
    assert client.get(edit_url(mapping)).status_code == 403
    assert client.post(reverse(LIST), {"claim_value": "evil", "access_group": "compliance officer"}).status_code == 403
    assert client.post(edit_url(mapping), form_of(mapping, access_group="auditor")).status_code == 403
    assert client.post(delete_url(mapping), form_of(mapping)).status_code == 403
    assert list(SSOClaimMapping.objects.values_list("claim_value", "access_group")) == [("hipaa-billing", "")]
    assert not AuditEvent.objects.filter(action__startswith="sso.mapping_", actor_id__isnull=False).exists()


@pytest.mark.parametrize("persona", ["compliance_officer", "administrator"])
def test_officers_and_administrators_see_the_mappings_and_the_settings_link(request, login, persona, mapping):
    client = login(request.getfixturevalue(persona))
    settings_page = client.get(reverse("roles:settings")).content.decode()
    assert reverse(LIST) in settings_page and "1 mapping" in settings_page
    page = client.get(reverse(LIST)).content.decode()
    assert "hipaa-billing" in page and str(role("billing").name) in page and "Every provider" in page
    assert 'id="mapping-form"' in page and delete_url(mapping) in page


# --- the writes, audited


def test_the_officer_adds_edits_and_removes_a_mapping_each_audited(login, compliance_officer):
    client = login(compliance_officer)
    department = DepartmentFactory(name="Billing Operations")
    response = client.post(
        reverse(LIST),
        {"claim_value": "  hipaa-billing ", "workforce_role": role("billing").pk, "department": department.pk},
    )
    assert response.status_code == 302 and response.url == reverse(LIST)
    mapping = SSOClaimMapping.objects.get()
    assert (mapping.claim_value, mapping.workforce_role, mapping.department) == (
        "hipaa-billing",
        role("billing"),
        department,
    )
    created = AuditEvent.objects.get(action="sso.mapping_created")
    assert created.actor_id == compliance_officer.pk and created.data["before"] is None
    assert created.data["after"] == {
        "provider": "any",
        "claim_value": "hipaa-billing",
        "role": str(role("billing")),
        "department": "Billing Operations",
        "access_group": None,
    }

    assert client.get(edit_url(mapping)).status_code == 200
    response = client.post(edit_url(mapping), form_of(mapping, department="", access_group=access.MANAGER))
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert mapping.department is None and mapping.access_group == access.MANAGER
    updated = AuditEvent.objects.get(action="sso.mapping_updated")
    assert updated.actor_id == compliance_officer.pk
    assert (
        updated.data["before"]["department"] == "Billing Operations" and updated.data["before"]["access_group"] is None
    )
    assert updated.data["after"]["department"] is None and updated.data["after"]["access_group"] == access.MANAGER

    response = client.post(delete_url(mapping), {"version": mapping_services.mapping_version(mapping)})
    assert response.status_code == 302 and not SSOClaimMapping.objects.exists()
    deleted = AuditEvent.objects.get(action="sso.mapping_deleted")
    assert deleted.actor_id == compliance_officer.pk and deleted.data["after"] is None
    assert deleted.data["before"]["claim_value"] == "hipaa-billing"
    assert "was removed" in client.get(reverse(LIST)).content.decode()


def test_saving_an_unchanged_mapping_records_nothing(login, compliance_officer, mapping):
    client = login(compliance_officer)
    assert client.post(edit_url(mapping), form_of(mapping)).status_code == 302
    assert not AuditEvent.objects.filter(action="sso.mapping_updated").exists()


def test_the_admin_writes_through_the_same_services(login, administrator, mapping):
    client = login(administrator)
    change = reverse("admin:roles_ssoclaimmapping_change", args=[mapping.pk])
    data = form_of(mapping, access_group=access.AUDITOR)
    del data["version"]
    assert client.post(change, data).status_code == 302
    event = AuditEvent.objects.get(action="sso.mapping_updated")
    assert event.actor_id == administrator.pk and event.data["after"]["access_group"] == access.AUDITOR
    page = client.post(
        reverse("admin:roles_ssoclaimmapping_add"), {"claim_value": "HIPAA-Billing", "access_group": "manager"}
    )
    assert "already has a mapping" in page.content.decode() and SSOClaimMapping.objects.count() == 1
    delete = reverse("admin:roles_ssoclaimmapping_delete", args=[mapping.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert AuditEvent.objects.get(action="sso.mapping_deleted").actor_id == administrator.pk


def test_a_write_needs_a_fresh_sign_in(login, compliance_officer, mapping):
    client = login(compliance_officer)
    later = timezone.now() + dt.timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert client.get(reverse(LIST)).status_code == 200  # looking is fine
        for url, data in (
            (reverse(LIST), {"claim_value": "new", "access_group": "manager"}),
            (edit_url(mapping), form_of(mapping, access_group="manager")),
            (delete_url(mapping), form_of(mapping)),
        ):
            response = client.post(url, data)
            assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    assert list(SSOClaimMapping.objects.values_list("claim_value", "access_group")) == [("hipaa-billing", "")]


# --- bad input


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"claim_value": "", "workforce_role": "ROLE"}, "claim_value", "Enter the value of the groups claim"),
        ({"claim_value": "   ", "workforce_role": "ROLE"}, "claim_value", "Enter the value of the groups claim"),
        ({"claim_value": "HIPAA-BILLING", "access_group": "manager"}, "claim_value", "already has a mapping"),
        ({"claim_value": "x" * 201, "access_group": "manager"}, "claim_value", "at most 200 characters"),
        ({"claim_value": "new-one"}, None, "Say what this value means"),
        ({"claim_value": "new-one", "access_group": "administrator"}, "access_group", "Select a valid choice"),
        ({"claim_value": "new-one", "workforce_role": "999999"}, "workforce_role", "Select a valid choice"),
        ({"claim_value": "new-one", "workforce_role": "RETIRED_ROLE"}, "workforce_role", "is retired"),
        ({"claim_value": "new-one", "department": "RETIRED_DEPARTMENT"}, "department", "is retired"),
        ({"claim_value": "new-one", "provider_id": "elsewhere", "access_group": "manager"}, "provider_id", "valid"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_saved(
    login, compliance_officer, mapping, data, field, message
):
    retired_role = role("intake")
    retired_role.retired_at = timezone.now()
    retired_role.save(update_fields=["retired_at"])
    retired_department = DepartmentFactory(name="Old Clinic", retired_at=timezone.now())
    values = {
        "ROLE": role("billing").pk,
        "RETIRED_ROLE": retired_role.pk,
        "RETIRED_DEPARTMENT": retired_department.pk,
    }
    data = {k: values.get(v, v) for k, v in data.items()}
    client = login(compliance_officer)
    response = client.post(reverse(LIST), data)
    assert response.status_code == 400
    form = response.context["form"]
    errors = form.errors.get(field or "__all__", [])
    assert any(message in e for e in errors), form.errors
    assert message.split(":")[0] in response.content.decode() or message in response.content.decode()
    assert list(SSOClaimMapping.objects.values_list("claim_value", flat=True)) == ["hipaa-billing"]
    assert not AuditEvent.objects.filter(action="sso.mapping_created", actor_id=compliance_officer.pk).exists()


def test_an_edit_is_refused_the_same_way_and_saves_nothing(login, compliance_officer, mapping):
    other = mapping_services.mapping_create(actor=None, claim_value="all-staff", access_group=access.MANAGER)
    client = login(compliance_officer)
    response = client.post(edit_url(mapping), form_of(mapping, claim_value="All-Staff"))
    assert response.status_code == 400 and "already has a mapping" in response.content.decode()
    response = client.post(edit_url(mapping), form_of(mapping, workforce_role=""))
    assert response.status_code == 400 and "Say what this value means" in response.content.decode()
    mapping.refresh_from_db()
    other.refresh_from_db()
    assert mapping.claim_value == "hipaa-billing" and mapping.workforce_role == role("billing")
    assert not AuditEvent.objects.filter(action="sso.mapping_updated").exists()


def test_the_same_value_may_be_mapped_once_per_provider(login, compliance_officer, settings, mapping, sso):
    client = login(compliance_officer)
    response = client.post(
        reverse(LIST), {"claim_value": "HIPAA-billing", "provider_id": "sso", "access_group": "manager"}
    )
    assert response.status_code == 302
    assert set(SSOClaimMapping.objects.values_list("provider_id", "claim_value")) == {
        ("", "hipaa-billing"),
        ("sso", "HIPAA-billing"),
    }


# --- stale edits


def test_a_stale_edit_is_refused_with_the_current_state(login, compliance_officer, mapping):
    client = login(compliance_officer)
    stale = form_of(mapping, access_group=access.MANAGER)
    mapping_services.mapping_update(mapping=mapping, actor=None, access_group=access.AUDITOR)  # someone else
    response = client.post(edit_url(mapping), stale)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed the mapping" in page
    assert response.context["form"].initial["access_group"] == access.AUDITOR  # the current state is shown
    mapping.refresh_from_db()
    assert mapping.access_group == access.AUDITOR
    assert AuditEvent.objects.filter(action="sso.mapping_updated").count() == 1  # only the other person's


def test_a_stale_removal_is_refused_and_a_removed_mapping_is_said_to_be_gone(login, compliance_officer, mapping):
    client = login(compliance_officer)
    old_version = mapping_services.mapping_version(mapping)
    mapping_services.mapping_update(mapping=mapping, actor=None, access_group=access.AUDITOR)
    response = client.post(delete_url(mapping), {"version": old_version})
    assert response.status_code == 409 and "Someone else changed" in response.content.decode()
    assert SSOClaimMapping.objects.filter(pk=mapping.pk).exists()
    stale = form_of(SSOClaimMapping.objects.get(pk=mapping.pk), access_group=access.MANAGER)
    mapping_services.mapping_delete(mapping=mapping, actor=None)
    response = client.post(edit_url(mapping), stale)
    assert response.status_code == 404  # gone before the form was posted
    assert client.get(edit_url(mapping)).status_code == 404


# --- end to end, with the real provider


def test_a_mapping_added_on_the_page_gives_the_next_sso_person_their_role(
    client, login, compliance_officer, settings, sso
):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, scope=["openid", "profile", "email", "groups"])
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"sso_may_create_accounts": True})
    department = DepartmentFactory(name="Billing Operations")
    officer = login(compliance_officer)
    page = officer.get(reverse(LIST)).content.decode()
    assert '<option value="sso">sso</option>' in page  # the configured provider is offered
    response = officer.post(
        reverse(LIST),
        {
            "claim_value": "hipaa-billing",
            "provider_id": "sso",
            "workforce_role": role("billing").pk,
            "department": department.pk,
        },
    )
    assert response.status_code == 302
    officer.post(reverse(LIST), {"claim_value": "all-staff", "access_group": access.MANAGER})
    officer.logout()

    sso_sign_in(client, sso, "newhire")
    person = User.objects.get(email="nia.newhire@example.test")
    assert client.session["_auth_user_id"] == str(person.pk)
    assert person.workforce_role == role("billing") and person.department == department
    assert set(person.groups.values_list("name", flat=True)) == {access.MANAGER}
    assigned = set(Assignment.objects.filter(user=person).values_list("course__slug", flat=True))
    assert assigned and assigned == set(role("billing").courses.values_list("slug", flat=True))
    assert AuditEvent.objects.get(action="account.created_by_sso").data["role"] == str(role("billing"))


# --- an IdP re-authentication that interrupted a POST


def test_after_an_idp_re_authentication_the_officer_is_back_on_the_form_told_to_press_again(
    login, client, sso, compliance_officer, mapping
):
    from urllib.parse import parse_qs, urlsplit

    from tests.conftest import totp_code

    from .test_sso_session import sso_session

    client = login(compliance_officer)
    sso_session(client, compliance_officer, age=6 * 60)  # signed in by SSO six minutes ago: a removal asks again
    page = f"{reverse(LIST)}?from=settings"
    response = client.post(delete_url(mapping), form_of(mapping), HTTP_REFERER=f"http://testserver{page}", follow=True)
    path = response.redirect_chain[-1][0]
    assert path.startswith("/accounts/oidc/sso/login/") and "action=reauthenticate" in path
    start = client.post(path)
    callback = urlsplit(sso.sign_in(start.url, "officer"))
    response = client.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_authenticate"))
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()}, follow=True)
    # Back on the page the button was on (not a GET of the POST-only URL, a 405), told that nothing was done.
    assert response.redirect_chain[-1][0] == page and response.status_code == 200
    assert "You signed in again with Test IdP. Nothing was submitted yet: press the button again" in (
        response.content.decode()
    )
    assert SSOClaimMapping.objects.filter(pk=mapping.pk).exists()
    # Pressing it again now works: the sign-in is fresh.
    response = client.post(delete_url(mapping), form_of(mapping))
    assert response.status_code == 302 and not SSOClaimMapping.objects.exists()


def test_without_a_same_site_referer_the_officer_lands_on_their_home_page(
    login, client, sso, compliance_officer, mapping
):
    from urllib.parse import parse_qs, urlsplit

    from tests.conftest import totp_code

    from .test_sso_session import sso_session

    client = login(compliance_officer)
    sso_session(client, compliance_officer, age=6 * 60)
    response = client.post(
        delete_url(mapping), form_of(mapping), HTTP_REFERER="https://evil.example/phish", follow=True
    )
    start = client.post(response.redirect_chain[-1][0])
    callback = urlsplit(sso.sign_in(start.url, "officer"))
    client.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()})
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()}, follow=True)
    assert response.redirect_chain[0][0] == reverse("home")
    assert "press the button again" in response.content.decode()
    assert SSOClaimMapping.objects.filter(pk=mapping.pk).exists()
