"""Trusting the identity provider's second factor: per provider, off by default."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles import access
from tests.conftest import make_person

from .conftest import app_config
from .test_sso_flow import sso_sign_in

pytestmark = pytest.mark.usefixtures("catalog")


def landed(response) -> str:
    return response.redirect_chain[-1][0]


def test_by_default_the_products_own_code_is_asked_even_after_the_idps_mfa(client, sso, compliance_officer):
    response = sso_sign_in(client, sso, "officer-mfa")
    assert landed(response).startswith(reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session


def test_a_provider_trusted_for_mfa_signs_in_on_its_amr(client, settings, sso, compliance_officer):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, trust_idp_mfa=True)
    response = sso_sign_in(client, sso, "officer-mfa")
    assert not landed(response).startswith(reverse("mfa_authenticate"))
    assert client.session["_auth_user_id"] == str(compliance_officer.pk)
    event = AuditEvent.objects.filter(action="auth.login").latest("seq")
    assert event.data["method"] == "sso" and event.data["mfa"] == "identity provider"


def test_a_trusted_provider_without_an_mfa_amr_still_gets_the_products_code(client, settings, sso, compliance_officer):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, trust_idp_mfa=True)
    response = sso_sign_in(client, sso, "officer")  # amr: ["pwd"]
    assert landed(response).startswith(reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session


def test_an_acr_named_in_the_providers_settings_counts_as_mfa(client, settings, sso, compliance_officer):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, trust_idp_mfa=True, mfa_acr_values=["urn:test:loa:2fa"])
    sso_sign_in(client, sso, "officer-2fa-acr")
    assert client.session["_auth_user_id"] == str(compliance_officer.pk)


def test_a_privileged_person_without_a_product_factor_is_not_sent_to_enrol_when_the_idp_did_mfa(client, settings, sso):
    officer = make_person("officer@example.test", "Olivia Officer", "compliance", groups=(access.COMPLIANCE_OFFICER,))
    settings.SOCIALACCOUNT_PROVIDERS = app_config(sso.issuer, trust_idp_mfa=True)
    response = sso_sign_in(client, sso, "officer-mfa")
    assert client.session["_auth_user_id"] == str(officer.pk)
    assert not landed(response).startswith(reverse("mfa_activate_totp"))
    client.logout()
    response = sso_sign_in(client, sso, "officer")  # the same person, this time without the IdP's MFA
    assert landed(response).startswith(reverse("mfa_activate_totp"))
