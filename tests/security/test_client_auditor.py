"""Client auditors: read-only, time-limited, scoped to one client. On /audit/ they see their client's pack and nothing
else; every other client's pack, every organisation-wide export, report and download, other people's certificates
and transcripts answer 404; the officer's pages 403; any write but asking for their pack is refused."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.urls import reverse

from hipaa_training.models import AuditEvent
from records.exports import ExportFilters
from records.models import Certificate, ReportJob
from records.services import report_request
from roles.clients import client_auditor_grant, client_auditor_revoke, client_create, client_scope_add
from roles.models import User
from tests.conftest import enrol_totp
from tests.factories import PASSWORD
from tests.records.evidence import at, complete, person, today

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def setting(compliance_officer, django_capture_on_commit_callbacks):
    t = today()
    ann = person("ann@example.test", "Ann Archer", "billing", "Claims Team", hired=t - dt.timedelta(days=90))
    cara = person("cara@example.test", "Cara Cole", "intake", "Patient Services", hired=t - dt.timedelta(days=90))
    for someone in (ann, cara):
        complete(someone.assignments.get(course__slug="security-awareness"), at(t - dt.timedelta(days=3)))
    riverside = client_create(name="Riverside Clinic", baa_effective_on=t - dt.timedelta(days=60))
    lakeside = client_create(name="Lakeside Clinic", baa_effective_on=t - dt.timedelta(days=60))
    client_scope_add(client=riverside, person=ann, valid_from=t - dt.timedelta(days=30), reason="contract")
    client_scope_add(client=lakeside, person=cara, valid_from=t - dt.timedelta(days=30), reason="contract")
    binding = client_auditor_grant(
        client=riverside,
        email="rita@riverside.test",
        full_name="Rita Reviewer",
        access_expires_on=t + dt.timedelta(days=30),
        actor=compliance_officer,
    )
    rita = binding.user
    rita.set_password(PASSWORD)
    rita.save(update_fields=["password"])
    enrol_totp(rita)
    with django_capture_on_commit_callbacks(execute=True):  # the officer's own packs and org-wide bundle
        lakeside_pack = report_request(
            kind=ReportJob.BUNDLE, requested_by=compliance_officer, filters=ExportFilters(), client=lakeside
        )
        org_bundle = report_request(kind=ReportJob.BUNDLE, requested_by=compliance_officer, filters=ExportFilters())
    return {
        "ann": ann,
        "cara": cara,
        "riverside": riverside,
        "lakeside": lakeside,
        "rita": User.objects.get(pk=rita.pk),
        "binding": binding,
        "lakeside_pack": lakeside_pack,
        "org_bundle": org_bundle,
    }


def test_audit_home_shows_only_their_clients_pack(login, setting):
    home = login(setting["rita"]).get(reverse("home"))
    assert home.url == reverse("records:audit")
    page = login(setting["rita"]).get(reverse("records:audit"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Audit evidence for Riverside Clinic" in text
    assert reverse("records:audit_client_pack", args=[setting["riverside"].pk]) in text
    assert "Lakeside" not in text
    assert reverse("records:audit_export", args=["training"]) not in text


def test_they_build_and_download_their_clients_pack(login, setting, django_capture_on_commit_callbacks):
    c = login(setting["rita"])
    url = reverse("records:audit_client_pack", args=[setting["riverside"].pk])
    assert c.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(url, {"start": "", "end": ""}).status_code == 302
    job = ReportJob.objects.filter(requested_by=setting["rita"]).get()
    assert job.status == ReportJob.DONE, job.error
    response = c.get(reverse("records:audit_download", args=[job.pk]))
    assert response.status_code == 200
    pack = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(pack)) as zf:
        people = zf.read("people.csv").decode()
    assert "ann@example.test" in people
    assert "cara@example.test" not in people
    assert AuditEvent.objects.filter(action="bundle.downloaded", actor_id=setting["rita"].pk).count() == 1


def test_every_other_object_is_404(login, setting):
    c = login(setting["rita"])
    lakeside, cara = setting["lakeside"], setting["cara"]
    cara_certificate = Certificate.objects.get(completion__user=cara)
    ann_certificate = Certificate.objects.get(completion__user=setting["ann"])
    not_found = [
        reverse("records:audit_client_pack", args=[lakeside.pk]),
        reverse("records:client_pack", args=[lakeside.pk]),
        reverse("records:audit_client_pack", args=[999999]),
        reverse("records:audit_download", args=[setting["lakeside_pack"].pk]),
        reverse("records:audit_download", args=[setting["org_bundle"].pk]),
        reverse("records:certificate_download", args=[cara_certificate.code]),
        reverse("records:certificate_download", args=[ann_certificate.code]),
        reverse("records:transcript", args=[cara.pk]),
        *[reverse("records:audit_export", args=[slug]) for slug in ("training", "attestations", "audit", "reminders")],
    ]
    for url in not_found:
        assert c.get(url).status_code == 404, url
    assert c.post(reverse("records:audit_client_pack", args=[lakeside.pk]), {}).status_code == 404
    assert c.post(reverse("records:audit_request"), {"kind": "bundle"}).status_code == 404
    assert not ReportJob.objects.filter(requested_by=setting["rita"]).exists()


def test_the_officers_pages_are_refused_and_nothing_is_written(login, setting):
    c = login(setting["rita"])
    riverside = setting["riverside"]
    for url in (
        reverse("roles:clients"),
        reverse("roles:client", args=[riverside.pk]),
        reverse("roles:client", args=[setting["lakeside"].pk]),
        reverse("roles:people"),
        reverse("roles:grid"),
        reverse("records:dashboard"),
        reverse("records:should_vs_was", args=[setting["ann"].pk]),
    ):
        assert c.get(url).status_code == 403, url
    response = c.post(
        reverse("roles:client_scope", args=[riverside.pk]),
        {"action": "add", "person": setting["cara"].pk, "reason": "sneaky"},
    )
    assert response.status_code == 403
    assert not riverside.scope.filter(person=setting["cara"]).exists()
    assert AuditEvent.objects.filter(action="auth.write_refused", actor_id=setting["rita"].pk).exists()


def test_revoked_access_ends_the_open_session(login, setting, compliance_officer):
    c = login(setting["rita"])
    assert c.get(reverse("records:audit")).status_code == 200
    client_auditor_revoke(binding=setting["binding"], actor=compliance_officer)
    response = c.get(reverse("records:audit"))
    assert response.status_code == 302
    assert "/login/" in response.url
    assert AuditEvent.objects.filter(action="auth.session_ended", actor_id=setting["rita"].pk).exists()
