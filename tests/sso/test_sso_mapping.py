"""Claims mapping: name and groups claim -> role, department and access groups, through the workforce services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles import access
from roles.models import Assignment, SecurityPolicy, SSOClaimMapping, User
from tests.factories import DepartmentFactory, role

from .conftest import app_config
from .test_sso_flow import sso_sign_in

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def billing_mapping(settings, sso):
    # The groups claim comes with the "groups" scope here (as at Okta); Entra ID puts it in the token by setting.
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, scope=["openid", "profile", "email", "groups"])
    department = DepartmentFactory(name="Billing Operations")
    SSOClaimMapping.objects.create(claim_value="hipaa-billing", workforce_role=role("billing"), department=department)
    SSOClaimMapping.objects.create(claim_value="all-staff", access_group=access.MANAGER)
    return department


def test_an_account_created_by_sso_arrives_with_its_role_department_and_training(client, sso, billing_mapping):
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"sso_may_create_accounts": True})
    response = sso_sign_in(client, sso, "newhire")
    person = User.objects.get(email="nia.newhire@example.test")
    assert client.session["_auth_user_id"] == str(person.pk)
    assert person.full_name == "Nia Newhire" and not person.has_usable_password()
    assert person.workforce_role == role("billing") and person.department == billing_mapping
    assert set(person.groups.values_list("name", flat=True)) == {access.MANAGER}
    assigned = set(Assignment.objects.filter(user=person).values_list("course__slug", flat=True))
    assert assigned and assigned == set(role("billing").courses.values_list("slug", flat=True))
    assert "Security awareness" in client.get(reverse("records:training")).content.decode()
    created = AuditEvent.objects.get(action="account.created_by_sso")
    assert created.data["person"] == person.email and created.data["provider"] == "sso"
    assert created.data["claim_values"] == ["hipaa-billing", "all-staff"] and created.data["added"] == [access.MANAGER]
    assert AuditEvent.objects.filter(action="account.created", subject_id=str(person.pk)).exists()
    assert response.status_code == 200


def test_an_existing_person_follows_the_providers_groups_and_name_at_each_sign_in(client, sso, billing_mapping):
    from tests.conftest import make_person

    person = make_person("nia.newhire@example.test", "Nia N.", "intake")
    sso_sign_in(client, sso, "newhire")
    person.refresh_from_db()
    assert person.full_name == "Nia Newhire" and person.workforce_role == role("billing")
    assert person.groups.filter(name=access.MANAGER).exists()
    changed = AuditEvent.objects.get(action="person.role_changed", subject_id=str(person.pk))
    assert changed.data == {"person": person.email, "from": str(role("intake")), "to": str(role("billing"))}
    # (make_person's department is Billing Operations already: unchanged, not re-recorded)
    assert AuditEvent.objects.get(action="person.sso_mapping_applied").data["changed"] == [
        "full_name",
        "workforce_role",
    ]
    # The IdP no longer lists all-staff: the access group it gave is taken away, and only that one.
    person.groups.add(Group.objects.get(name=access.AUDITOR))
    SSOClaimMapping.objects.filter(claim_value="all-staff").update(claim_value="managers-only")
    client.logout()
    sso_sign_in(client, sso, "newhire")
    assert set(person.groups.values_list("name", flat=True)) == {access.AUDITOR}


def test_a_provider_that_sends_no_groups_claim_changes_no_role(client, sso, employee, billing_mapping):
    SSOClaimMapping.objects.create(claim_value="something", workforce_role=role("intake"))
    sso_sign_in(client, sso, "billie")  # no groups claim
    employee.refresh_from_db()
    assert employee.workforce_role == role("billing")
    assert not AuditEvent.objects.filter(action="person.sso_mapping_applied").exists()


def test_the_officer_edits_the_mapping_and_each_change_is_audited(login, compliance_officer):
    compliance_officer.is_staff = True
    compliance_officer.save(update_fields=["is_staff"])
    client = login(compliance_officer)
    add = reverse("admin:roles_ssoclaimmapping_add")
    page = client.post(add, {"claim_value": "hipaa-billing"}).content.decode()
    assert "Say what this value means" in page and not SSOClaimMapping.objects.exists()
    response = client.post(add, {"claim_value": "hipaa-billing", "workforce_role": role("billing").pk})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="sso.mapping_created")
    assert event.data["after"]["claim_value"] == "hipaa-billing" and event.actor_id == compliance_officer.pk


@pytest.mark.parametrize(("persona", "status"), [("employee", 302), ("compliance_officer", 200)])
def test_only_the_officer_reaches_the_mapping_page(request, login, persona, status):
    person = request.getfixturevalue(persona)
    person.is_staff = persona == "compliance_officer"
    person.save(update_fields=["is_staff"])
    assert login(person).get(reverse("admin:roles_ssoclaimmapping_changelist")).status_code == status


def test_anonymous_is_sent_to_sign_in_for_the_mapping_page(client):
    assert client.get(reverse("admin:roles_ssoclaimmapping_changelist")).status_code == 302
