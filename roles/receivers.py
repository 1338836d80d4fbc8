from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from courses.models import CourseVersion, Policy, PolicyVersion
from courses.signals import policy_retired, policy_version_published, version_published

from .access import ACCESS_GROUPS, COMPLIANCE_OFFICER
from .assignments import sync_assignments, sync_policy_assignments
from .models import PolicyAssignment, User


@receiver(version_published, dispatch_uid="retrain_on_material_version")
def _retrain_on_material_version(sender: Any, version: CourseVersion, **kwargs: Any) -> None:
    if version.material and version.number > 1:
        required = Q(workforce_role__requirements__course=version.course_id)
        required |= Q(department__requirements__course=version.course_id)
        sync_assignments(people=User.objects.filter(required).distinct())


@receiver(policy_version_published, dispatch_uid="ask_policy_audience")
def _ask_policy_audience(sender: Any, version: PolicyVersion, **kwargs: Any) -> None:
    if version.material or version.number == 1:  # a non-material version asks nobody again
        people = User.objects.filter(workforce_role__isnull=False)
        sync_policy_assignments(people=people, reason_hint=PolicyAssignment.AUDIENCE)


@receiver(policy_retired, dispatch_uid="cancel_retired_policy")
def _cancel_retired_policy(sender: Any, policy: Policy, actor: User | None, **kwargs: Any) -> None:
    """In the retiring transaction: whoever is still asked to acknowledge the policy is asked no more."""
    asked = PolicyAssignment.objects.open().filter(policy=policy).values("user")
    sync_policy_assignments(people=User.objects.filter(pk__in=asked), actor=actor)


@receiver(post_migrate, dispatch_uid="ensure_access_groups")
def _ensure_access_groups(sender: Any, **kwargs: Any) -> None:
    if sender.name != "records":  # the last of our apps to migrate: every permission exists by now
        return
    for name in ACCESS_GROUPS:
        Group.objects.get_or_create(name=name)
    officer = Group.objects.get(name=COMPLIANCE_OFFICER)
    wanted = [
        *(f"{verb}_{model}" for verb in ("view", "add", "change") for model in ("user", "department", "workforcerole")),
        *(f"{verb}_requirement" for verb in ("view", "add", "change", "delete")),
        *(f"{verb}_departmentrequirement" for verb in ("view", "add", "change", "delete")),
        "view_assignment",
        "view_auditevent",
        "view_auditverification",
        "view_course",
        "view_courseversion",
        "view_lesson",
        "view_question",
        "view_completion",
        "view_quizattempt",
        "view_attestationsignature",
        "view_certificate",
        "view_certificaterevocation",
        "view_reminderpolicy",
        "change_reminderpolicy",
        "view_delivery",
        "view_bulletin",
        "view_bulletindelivery",
        "view_bulletinacknowledgement",
    ]
    officer.permissions.add(*Permission.objects.filter(codename__in=wanted))
