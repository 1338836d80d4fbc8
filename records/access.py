"""Object scope: may this user see this certificate, assignment, transcript or report?

Each helper returns the object or raises 404 (an object outside the user's scope does not exist for them).
They build on the person-level rules of roles.access; views call them instead of filtering inline.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from courses.models import PolicyVersion
from roles.access import (
    audited_client_id,
    can_see_all_records,
    is_client_auditor,
    is_manager,
    is_privileged,
    require_person_visible,
)
from roles.models import Assignment, Client, PolicyAssignment, User

from .models import Certificate, ReportJob


def get_certificate_for_user(user: User, code: str) -> Certificate:
    """A certificate for its holder, compliance officers and auditors."""
    certificate = get_object_or_404(Certificate.objects.select_related("completion__user"), code=code)
    if certificate.completion.user_id != user.pk and not can_see_all_records(user):
        raise Http404("No such certificate.")
    return certificate


def get_assignment_for_user(user: User, assignment_id: int) -> Assignment:
    """An open or completed (not cancelled) assignment, for the person it is assigned to only."""
    return get_object_or_404(
        Assignment.objects.select_related("course"),
        pk=assignment_id,
        user=user,
        cancelled_at__isnull=True,
    )


def get_person_for_user(user: User, person_id: int) -> User:
    """A person whose transcript the user may see (roles.access.can_see_person)."""
    person = get_object_or_404(User.objects.select_related("department", "workforce_role", "manager"), pk=person_id)
    require_person_visible(user, person)
    return person


def get_report_job_for_user(user: User, job_id: int) -> ReportJob:
    """A finished report or bundle, for the person who requested it only (a client auditor: only their client's
    pack)."""
    job = get_object_or_404(ReportJob, pk=job_id, requested_by=user, status=ReportJob.DONE)
    if is_client_auditor(user) and (job.client_id is None or job.client_id != audited_client_id(user)):
        raise Http404("No such report.")
    return job


def get_person_history_for_user(user: User, person_id: int) -> User:
    """A person's should-vs-was comparison: compliance officers, administrators and auditors see everyone; a
    manager only their direct reports; for anyone else the person does not exist (404)."""
    person = get_object_or_404(User.objects.select_related("department", "workforce_role", "manager"), pk=person_id)
    if is_privileged(user) or (is_manager(user) and person.manager_id == user.pk):
        return person
    raise Http404("No such person.")


def get_client_for_user(user: User, client_id: int) -> Client:
    """A client whose evidence pack the user may ask for: compliance officers and administrators any client; a
    client auditor only theirs (any other, like a missing one, is 404)."""
    client = get_object_or_404(Client, pk=client_id)
    if is_client_auditor(user) and audited_client_id(user) != client.pk:
        raise Http404("No such client.")
    return client


def get_policy_assignment_for_user(user: User, assignment_id: int) -> PolicyAssignment:
    """A policy the person is (or was) asked to acknowledge, not cancelled: theirs alone."""
    return get_object_or_404(
        PolicyAssignment.objects.select_related("policy_version__policy"),
        pk=assignment_id,
        user=user,
        cancelled_at__isnull=True,
    )


def get_policy_version_for_user(user: User, version_id: int) -> PolicyVersion:
    """A published policy version: for compliance officers, auditors and administrators, and for anyone asked to
    acknowledge it."""
    version = get_object_or_404(PolicyVersion.objects.select_related("policy"), pk=version_id)
    if is_privileged(user):
        return version
    if PolicyAssignment.objects.filter(policy_version=version, user=user, cancelled_at__isnull=True).exists():
        return version
    raise Http404("No such policy.")
