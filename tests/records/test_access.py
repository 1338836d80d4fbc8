"""Object scope (records.access): each helper returns the object in the user's scope, and 404 for anything else."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.utils import timezone

from records.access import (
    get_assignment_for_user,
    get_certificate_for_user,
    get_person_for_user,
    get_report_job_for_user,
)
from records.documents.certificate import certificate_issue
from records.models import ReportJob

from .helpers import assignment_of, take

pytestmark = pytest.mark.usefixtures("catalog")


def test_a_certificate_is_seen_by_its_holder_and_by_auditors_only(employee, auditor, manager, outsider):
    certificate = certificate_issue(completion_id=take(assignment_of(employee)).pk)
    assert get_certificate_for_user(employee, certificate.code) == certificate
    assert get_certificate_for_user(auditor, certificate.code) == certificate
    for other in (manager, outsider):
        with pytest.raises(Http404):
            get_certificate_for_user(other, certificate.code)
    with pytest.raises(Http404):
        get_certificate_for_user(employee, "NO-SUCH-CODE")


def test_an_assignment_is_opened_by_its_person_only_and_never_once_cancelled(employee, auditor, manager):
    assignment = assignment_of(employee)
    assert get_assignment_for_user(employee, assignment.pk) == assignment
    for other in (manager, auditor):
        with pytest.raises(Http404):
            get_assignment_for_user(other, assignment.pk)
    type(assignment).objects.filter(pk=assignment.pk).update(cancelled_at=timezone.now())
    with pytest.raises(Http404):
        get_assignment_for_user(employee, assignment.pk)


def test_a_transcript_is_seen_by_the_person_their_manager_and_auditors(employee, manager, auditor, outsider):
    for viewer in (employee, manager, auditor):
        assert get_person_for_user(viewer, employee.pk) == employee
    with pytest.raises(Http404):
        get_person_for_user(outsider, employee.pk)
    with pytest.raises(Http404):
        get_person_for_user(employee, manager.pk)


def test_a_report_is_downloaded_by_who_asked_for_it_once_it_is_ready(auditor, employee):
    job = ReportJob.objects.create(kind=ReportJob.REPORT, requested_by=auditor)
    with pytest.raises(Http404):
        get_report_job_for_user(auditor, job.pk)  # still queued
    ReportJob.objects.filter(pk=job.pk).update(status=ReportJob.DONE)
    assert get_report_job_for_user(auditor, job.pk) == job
    with pytest.raises(Http404):
        get_report_job_for_user(employee, job.pk)
