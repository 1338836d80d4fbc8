"""The policy pages through the test client: who may open each, the learner's acknowledgement, the officer's
forms (bad input saves nothing), PDF downloads, hostile Markdown."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.models import Policy, PolicyVersion
from hipaa_training.models import AuditEvent
from records.models import PolicyAcknowledgement
from roles.models import PolicyAssignment
from tests.records.policy_helpers import BODY, pdf_bytes, publish
from tests.security.test_input import XSS_PAYLOADS, _main, assert_page_inert

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(compliance_officer, employee, django_capture_on_commit_callbacks) -> PolicyVersion:
    with django_capture_on_commit_callbacks(execute=True):
        return publish(compliance_officer, roles=("billing",))


def mine(person, version) -> PolicyAssignment:
    return PolicyAssignment.objects.get(user=person, policy_version=version)


OFFICER_PAGES = ["records:policies", "records:policy_new", "records:policy_detail", "records:policy_publish"]


def officer_url(name: str, version: PolicyVersion) -> str:
    if name in ("records:policy_detail", "records:policy_publish", "records:policy_audience"):
        return reverse(name, args=[version.policy_id])
    if name == "records:policy_version":
        return reverse(name, args=[version.pk])
    return reverse(name)


@pytest.mark.parametrize("name", [*OFFICER_PAGES, "records:policy_version"])
def test_officer_pages_check_access(name, client, login, published, employee, compliance_officer, auditor):
    url = officer_url(name, published)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous.url
    assert login(employee).get(url).status_code == 403
    page = login(compliance_officer).get(url)
    assert page.status_code == 200
    readable = name in ("records:policies", "records:policy_detail", "records:policy_version")
    assert login(auditor).get(url).status_code == (200 if readable else 403)


def test_the_audience_post_checks_access(client, login, published, employee, auditor, compliance_officer):
    url = officer_url("records:policy_audience", published)
    data = {"audience": "everyone"}
    assert "/login/" in client.post(url, data).url
    assert login(employee).post(url, data).status_code == 403
    assert login(auditor).post(url, data).status_code == 403
    assert login(compliance_officer).post(url, data).status_code == 302
    assert AuditEvent.objects.filter(action="policy.audience_changed", actor_id=compliance_officer.pk).exists()


def test_the_learner_page_checks_access(client, login, published, employee, outsider, compliance_officer):
    url = reverse("records:policy_read", args=[mine(employee, published).pk])
    assert "/login/" in client.get(url).url
    assert login(outsider).get(url).status_code == 404  # someone else's
    assert login(compliance_officer).get(url).status_code == 404
    page = login(employee).get(url)
    assert page.status_code == 200
    assert "<strong>company systems</strong>" in page.content.decode()


def test_a_learner_acknowledges_from_the_training_page(login, published, employee):
    assignment = mine(employee, published)
    training = login(employee).get(reverse("records:training")).content.decode()
    assert "Policies to acknowledge" in training and reverse("records:policy_read", args=[assignment.pk]) in training
    url = reverse("records:policy_read", args=[assignment.pk])
    refused = login(employee).post(url, {"version": published.pk, "typed_name": "Billy Biller"})
    assert refused.status_code == 400
    assert "Type your full name exactly" in refused.content.decode()
    assert not PolicyAcknowledgement.objects.exists()
    done = login(employee).post(
        url, {"version": published.pk, "typed_name": "Billie Biller"}, HTTP_USER_AGENT="Pytest", follow=True
    )
    assert "your acknowledgement of Acceptable use is recorded" in done.content.decode()
    ack = PolicyAcknowledgement.objects.get()
    assert (ack.person, ack.version, ack.ip_address, ack.user_agent) == (employee, published, "127.0.0.1", "Pytest")
    assert ack.content_sha256 == hashlib.sha256(BODY.strip().encode()).hexdigest()
    assert "You acknowledged this version" in login(employee).get(url).content.decode()
    assert "Policies to acknowledge" not in login(employee).get(reverse("records:training")).content.decode()


@pytest.mark.parametrize(
    "data", [{"typed_name": "Billie Biller"}, {"version": "x", "typed_name": "Billie Biller"}, {"version": 1}]
)
def test_a_bad_acknowledgement_form_saves_nothing(login, published, employee, data):
    url = reverse("records:policy_read", args=[mine(employee, published).pk])
    assert login(employee).post(url, data).status_code == 400
    assert not PolicyAcknowledgement.objects.exists()


def version_form(**extra):
    today = timezone.localdate()
    data = {
        "body_markdown": "## Minimum necessary\n\nLook only at what the task needs.",
        "effective_on": today.isoformat(),
        "review_on": today.replace(year=today.year + 1).isoformat(),
        "ack_within_days": "14",
        "change_note": "First version.",
        "material": "yes",
    }
    data.update(extra)
    return data


def test_the_officer_adds_and_publishes_a_policy(
    login, employee, outsider, compliance_officer, django_capture_on_commit_callbacks
):
    officer = login(compliance_officer)
    response = officer.post(
        reverse("records:policy_new"),
        {
            "title": "Minimum necessary",
            "owner": "Privacy officer",
            "audience": "roles",
            "roles": [employee.workforce_role_id],
        },
    )
    policy = Policy.objects.get(title="Minimum necessary")
    assert response.url == reverse("records:policy_publish", args=[policy.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert officer.post(response.url, version_form()).status_code == 302
    version = PolicyVersion.objects.get(policy=policy)
    assert version.published_by_id == compliance_officer.pk
    assert PolicyAssignment.objects.filter(policy=policy, user=employee).exists()
    assert not PolicyAssignment.objects.filter(policy=policy, user=outsider).exists()
    listing = officer.get(reverse("records:policies")).content.decode()
    assert "Minimum necessary" in listing and "0/2" in listing  # the billing role: the employee and the manager


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"change_note": ""}, "This field is required"),
        ({"material": ""}, "This field is required"),
        ({"body_markdown": ""}, "Write the policy"),
        ({"review_on": "2000-01-01"}, "after the effective date"),
        ({"ack_within_days": "0"}, "greater than or equal to 1"),
        ({"effective_on": "2026-02-30"}, "Enter a valid date"),
    ],
)
def test_a_bad_version_form_shows_the_problem_and_publishes_nothing(
    login, compliance_officer, published, extra, message
):
    response = login(compliance_officer).post(
        reverse("records:policy_publish", args=[published.policy_id]), version_form(**extra)
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert PolicyVersion.objects.filter(policy=published.policy).count() == 1


def test_an_uploaded_file_that_is_not_a_pdf_is_refused(login, compliance_officer, published):
    upload = SimpleUploadedFile("policy.pdf", b"<script>alert(1)</script>", content_type="application/pdf")
    response = login(compliance_officer).post(
        reverse("records:policy_publish", args=[published.policy_id]), {**version_form(body_markdown=""), "pdf": upload}
    )
    assert "This file is not a PDF" in response.content.decode()
    assert PolicyVersion.objects.filter(policy=published.policy).count() == 1


def test_a_pdf_policy_is_served_only_as_a_download(
    client, login, compliance_officer, employee, outsider, auditor, published, django_capture_on_commit_callbacks
):
    data = pdf_bytes()
    upload = SimpleUploadedFile("aup.pdf", data, content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        login(compliance_officer).post(
            reverse("records:policy_publish", args=[published.policy_id]),
            {**version_form(body_markdown="", change_note="Now the signed PDF."), "pdf": upload},
        )
    version = PolicyVersion.objects.get(policy=published.policy, number=2)
    url = reverse("records:policy_pdf", args=[version.pk])
    assert "/login/" in Client().get(url).url
    assert login(outsider).get(url).status_code == 404
    for person in (employee, auditor, compliance_officer):
        response = login(person).get(url)
        assert response.status_code == 200 and response.content == data
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
    page = login(employee).get(reverse("records:policy_read", args=[mine(employee, version).pk])).content.decode()
    assert url in page
    assert login(employee).get(reverse("records:policy_pdf", args=[published.pk])).status_code == 404  # no PDF


def test_hostile_markdown_is_inert_on_save_and_on_every_page(
    login, compliance_officer, employee, auditor, django_capture_on_commit_callbacks
):
    body = "Read this.\n\n" + "\n\n".join(XSS_PAYLOADS)
    login(compliance_officer).post(
        reverse("records:policy_new"),
        {"title": "<script>alert(1)</script> Hostile", "owner": "x", "audience": "everyone"},
    )
    policy = Policy.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        login(compliance_officer).post(
            reverse("records:policy_publish", args=[policy.pk]), version_form(body_markdown=body)
        )
    version = PolicyVersion.objects.get()
    assert version.body_markdown == body.strip()
    for person, url in (
        (employee, reverse("records:policy_read", args=[mine(employee, version).pk])),
        (auditor, reverse("records:policy_version", args=[version.pk])),
        (compliance_officer, reverse("records:policy_detail", args=[policy.pk])),
        (compliance_officer, reverse("records:policies")),
        (employee, reverse("records:training")),
    ):
        page = login(person).get(url)
        assert page.status_code == 200
        content = _main(page.content.decode())
        assert_page_inert(content.replace('<form method="post"', "<x"))
    assert "Read this." in version.body_html


def test_the_policy_list_reads_a_fixed_number_of_queries(login, compliance_officer, django_assert_max_num_queries):
    from tests.records.policy_helpers import publish as more

    more(compliance_officer, title="One")
    officer = login(compliance_officer)
    officer.get(reverse("records:policies"))
    with django_assert_max_num_queries(20) as few:
        officer.get(reverse("records:policies"))
    for n in range(4):
        more(compliance_officer, title=f"More {n}", roles=())
    with django_assert_max_num_queries(len(few.captured_queries)):
        officer.get(reverse("records:policies"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "owner": "Privacy officer", "audience": "everyone"}, "This field is required"),
        (
            {"title": "Clean desk", "owner": "Privacy officer", "audience": "roles"},
            "Choose at least one workforce role",
        ),
        ({"title": "Clean desk", "owner": "Privacy officer", "audience": "nobody"}, "Select a valid choice"),
    ],
)
def test_a_bad_new_policy_form_shows_the_problem_and_saves_nothing(login, compliance_officer, data, message):
    response = login(compliance_officer).post(reverse("records:policy_new"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Policy.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="policy.").exists()


def test_the_next_version_starts_from_the_current_text_and_asks_for_the_material_flag(
    login, compliance_officer, published
):
    page = login(compliance_officer).get(reverse("records:policy_publish", args=[published.policy_id])).content.decode()
    assert "Use **company systems** for company work only." in page
    assert 'value="yes" checked' not in page and 'value="no" checked' not in page
