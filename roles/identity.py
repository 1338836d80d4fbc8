"""A person's e-mail address belongs to the organisation: it is their sign-in name, how single sign-on matches
them, and what the evidence names them by. The compliance officer (roles.services.person_update, the admin)
or an import changes it, never the person; every change, by any path, is an audit event."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.db.models.signals import pre_save
from django.dispatch import receiver

from hipaa_training import audit

from .models import User

AUDITED = "_email_change_audited"  # set by email_change_record on the instance about to be saved


def email_change_record(*, person: User, old: str, actor: User | None) -> None:
    """The audit event of a new address, and allauth's address records brought in step (the old address no
    longer signs in). Called by the service that saves the change, inside its transaction."""
    audit.record(
        "person.email_changed",
        actor=actor,
        subject=person,
        data={"person": person.email, "from": old, "to": person.email},
    )
    setattr(person, AUDITED, person.email)
    email_addresses_sync(person)


def email_addresses_sync(person: User) -> None:
    """allauth keeps its own list of a person's addresses; it must hold exactly the one the person has."""
    if person.pk is None:
        return
    verified = EmailAddress.objects.filter(user_id=person.pk, email__iexact=person.email, verified=True).exists()
    EmailAddress.objects.filter(user_id=person.pk).exclude(email__iexact=person.email).delete()
    EmailAddress.objects.update_or_create(
        user_id=person.pk, email=person.email, defaults={"primary": True, "verified": verified}
    )


@receiver(pre_save, sender=User, dispatch_uid="audit_every_email_change")
def _any_email_change(sender: Any, instance: User, raw: bool = False, **kwargs: Any) -> None:
    """The catch-all: an address changed by a save that no service recorded (a shell, a library) is audited."""
    if raw or instance.pk is None or getattr(instance, AUDITED, None) == instance.email:
        return
    old = User.objects.filter(pk=instance.pk).values_list("email", flat=True).first()
    if old is None or old == instance.email:
        return
    audit.record(
        "person.email_changed",
        subject=instance,
        data={"person": instance.email, "from": old, "to": instance.email, "via": "a save outside the services"},
    )
    setattr(instance, AUDITED, instance.email)
