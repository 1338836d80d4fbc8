"""Retiring a policy (/dashboard/policies/<id>/retire/): who may, the confirmation step, the open requests cancelled
by the engine with the reason stated, the acknowledgements and versions kept, and no publishing afterwards."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from courses.models import Policy, PolicyVersion
from courses.policies import RETIRED_MESSAGE, policy_retire
from hipaa_training.models import AuditEvent
from records.models import PolicyAcknowledgement
from records.services import policy_acknowledge
from roles.assignments import CANCEL_POLICY_RETIRED, sync_policy_assignments
from roles.models import PolicyAssignment
from tests.conftest import make_person
from tests.records.policy_helpers import publish, publish_version
from tests.records.test_policy_pages import version_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(compliance_officer, employee, manager, outsider, django_capture_on_commit_callbacks) -> PolicyVersion:
    """Acceptable use for billing and intake: the employee has acknowledged it, the manager and outsider not yet."""
    with django_capture_on_commit_callbacks(execute=True):
        published = publish(compliance_officer, roles=("billing", "intake"))
    mine = PolicyAssignment.objects.get(user=employee, policy_version=published)
    policy_acknowledge(
        assignment=mine,
        version_id=published.pk,
        typed_name=employee.full_name,
        ip_address="203.0.113.9",
        user_agent="Test browser",
        actor=employee,
    )
    return published


def retire_url(version: PolicyVersion) -> str:
    return reverse("records:policy_retire", args=[version.policy_id])


def test_retiring_checks_access(client, login, version, employee, auditor, compliance_officer, administrator):
    url = retire_url(version)
    confirmed = {"confirmed": "yes"}
    anonymous = client.post(url, confirmed)
    assert anonymous.status_code == 302 and "/login/" in anonymous.url
    assert login(employee).post(url, confirmed).status_code == 403
    assert login(auditor).post(url, confirmed).status_code == 403  # auditors read, never retire
    assert login(compliance_officer).get(url).status_code == 405  # POST only
    assert not Policy.objects.get(pk=version.policy_id).is_retired
    asked = login(administrator).post(url)
    assert asked.status_code == 200  # the confirmation step: nothing retired yet
    assert not Policy.objects.get(pk=version.policy_id).is_retired
    done = login(compliance_officer).post(url, confirmed)
    assert done.status_code == 302 and done.url == reverse("records:policy_detail", args=[version.policy_id])
    assert Policy.objects.get(pk=version.policy_id).is_retired
    event = AuditEvent.objects.get(action="policy.retired")
    assert (event.actor_id, event.data["policy"], event.data["last_version"]) == (
        compliance_officer.pk,
        version.policy.slug,
        1,
    )


def test_the_officer_page_asks_to_confirm_first_saying_what_is_cancelled_and_kept(login, version, compliance_officer):
    officer = login(compliance_officer)
    detail = officer.get(reverse("records:policy_detail", args=[version.policy_id])).content.decode()
    assert f'action="{retire_url(version)}"' in detail and 'name="confirmed"' not in detail
    page = officer.post(retire_url(version)).content.decode()
    assert "Retire Acceptable use?" in page
    assert "2 open requests to acknowledge it are cancelled" in page
    assert "1 acknowledgement and 1 published version" in page
    assert 'name="confirmed" value="yes"' in page
    assert not AuditEvent.objects.filter(action="policy.retired").exists()
    assert PolicyAssignment.objects.open().count() == 2


def test_retiring_cancels_the_open_requests_and_keeps_every_acknowledgement(
    login, version, employee, manager, outsider, compliance_officer
):
    acknowledged = PolicyAssignment.objects.get(user=employee)
    acknowledgement = PolicyAcknowledgement.objects.values().get()
    page = login(compliance_officer).post(retire_url(version), {"confirmed": "yes"}, follow=True).content.decode()
    assert "Acceptable use is retired" in page and '<span class="badge">retired</span>' in page
    assert "Publish a new version" not in page and "Save the audience" not in page

    for person in (manager, outsider):
        cancelled = PolicyAssignment.objects.get(user=person)
        assert cancelled.cancelled_at is not None and cancelled.acknowledged_at is None
        assert cancelled.cancel_reason == CANCEL_POLICY_RETIRED
    assert not PolicyAssignment.objects.open().exists()
    kept = PolicyAssignment.objects.get(pk=acknowledged.pk)
    assert (kept.acknowledged_at, kept.cancelled_at) == (acknowledged.acknowledged_at, None)
    assert PolicyAcknowledgement.objects.values().get() == acknowledgement  # not a field changed
    assert list(PolicyVersion.objects.values_list("pk", "content_sha256")) == [(version.pk, version.content_sha256)]
    cancelled_event = AuditEvent.objects.get(action="policy_assignment.cancelled")
    assert cancelled_event.actor_id == compliance_officer.pk
    assert sorted(cancelled_event.data["assignment_ids"]) == sorted(
        PolicyAssignment.objects.filter(user__in=[manager, outsider]).values_list("pk", flat=True)
    )

    # From now on nobody is newly asked: not the people cancelled, not a new hire in the audience.
    make_person("new.biller@example.test", "Nina Newbiller", "billing")
    assert sync_policy_assignments().created == []
    assert PolicyAssignment.objects.count() == 3


def test_the_learner_no_longer_sees_a_retired_policy_to_acknowledge(login, version, outsider, compliance_officer):
    asked = PolicyAssignment.objects.get(user=outsider)
    read_url = reverse("records:policy_read", args=[asked.pk])
    before = login(outsider).get(reverse("records:training")).content.decode()
    assert "Policies to acknowledge" in before and read_url in before
    login(compliance_officer).post(retire_url(version), {"confirmed": "yes"})
    after = login(outsider).get(reverse("records:training")).content.decode()
    assert "Policies to acknowledge" not in after and read_url not in after
    assert login(outsider).get(read_url).status_code == 404  # a cancelled request is no longer theirs to open


def test_the_policy_list_shows_it_as_retired(login, version, compliance_officer, auditor):
    policy_retire(policy=version.policy, actor=compliance_officer)
    day = timezone.localdate().isoformat()
    for person in (compliance_officer, auditor):
        page = login(person).get(reverse("records:policies")).content.decode()
        assert f'<span class="badge">retired {day}</span>' in page
    dashboard = login(compliance_officer).get(reverse("records:dashboard")).content.decode()
    assert 'Acceptable use</a> <span class="badge">retired</span>' in dashboard


def test_a_retired_policy_cannot_be_published_again(login, version, compliance_officer):
    policy_retire(policy=version.policy, actor=compliance_officer)
    url = reverse("records:policy_publish", args=[version.policy_id])
    events = AuditEvent.objects.filter(action__startswith="policy").count()
    for response in (
        login(compliance_officer).post(url, version_form(change_note="Try again."), follow=True),
        login(compliance_officer).get(url, follow=True),
    ):
        assert response.redirect_chain[-1][0] == reverse("records:policy_detail", args=[version.policy_id])
        assert RETIRED_MESSAGE in response.content.decode()
    assert PolicyVersion.objects.count() == 1
    assert not PolicyAssignment.objects.open().exists()
    assert AuditEvent.objects.filter(action__startswith="policy").count() == events
    with pytest.raises(ValidationError) as refused:  # the service says so too, whoever calls it
        publish_version(compliance_officer, version.policy, change_note="Through the service.")
    assert RETIRED_MESSAGE in refused.value.messages
    assert PolicyVersion.objects.count() == 1


def test_retiring_twice_or_changing_a_retired_audience_changes_nothing(login, version, compliance_officer):
    retired = policy_retire(policy=version.policy, actor=compliance_officer)
    events = AuditEvent.objects.filter(action__startswith="policy").count()
    officer = login(compliance_officer)
    again = officer.post(retire_url(version), {"confirmed": "yes"}, follow=True).content.decode()
    assert "Acceptable use is retired already: nothing was changed." in again
    audience = officer.post(
        reverse("records:policy_audience", args=[version.policy_id]), {"audience": "everyone"}, follow=True
    ).content.decode()
    assert "This policy is retired: its audience is kept as it was" in audience
    assert Policy.objects.get(pk=version.policy_id).retired_at == retired.retired_at
    assert AuditEvent.objects.filter(action__startswith="policy").count() == events
    with pytest.raises(ValidationError, match="retired already"):
        policy_retire(policy=Policy.objects.get(pk=version.policy_id), actor=compliance_officer)


def test_an_unknown_policy_is_404(login, compliance_officer, version):
    assert (
        login(compliance_officer)
        .post(reverse("records:policy_retire", args=[999999]), {"confirmed": "yes"})
        .status_code
        == 404
    )
