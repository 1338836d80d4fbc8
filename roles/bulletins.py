"""Security reminders (45 CFR 164.308(a)(5)(ii)(A)): bulletins written by a compliance officer, e-mailed at
their send time, shown in the product until each person acknowledges them, with every delivery and
acknowledgement kept as evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from hipaa_training import audit
from hipaa_training.tasks import send_after_commit

from .models import Bulletin, BulletinAcknowledgement, Delivery, User, WorkforceRole
from .reminders.claims import Claim, claim_rows, new_token
from .reminders.mailer import SendResult, send_claimed
from .tasks import deliver_bulletins_task


def active_days() -> int:
    return int(getattr(settings, "BULLETIN_ACTIVE_DAYS", 90))


def bulletin_create(
    *,
    title: str,
    body: str,
    send_at: dt.datetime,
    actor: User,
    everyone: bool = True,
    roles: Iterable[WorkforceRole] = (),
) -> Bulletin:
    """Schedule a security reminder for the workforce or some roles (45 CFR 164.308(a)(5)(ii)(A))."""
    roles = list(roles)
    if not everyone and not roles:
        raise ValidationError("Choose the workforce roles this reminder is for, or send it to everyone.")
    with transaction.atomic():
        bulletin = Bulletin(
            title=title.strip(), body=body.strip(), everyone=everyone, send_at=send_at, created_by=actor
        )
        bulletin.full_clean()
        bulletin.save()
        if not everyone:
            bulletin.roles.set(roles)
        audit.record(
            "bulletin.created",
            actor=actor,
            subject=bulletin,
            data={
                "title": bulletin.title,
                "send_at": send_at.isoformat(),
                "audience": "everyone" if everyone else sorted(r.slug for r in roles),
            },
        )
        if send_at <= timezone.now():
            send_after_commit(deliver_bulletins_task)
    return bulletin


def audience(bulletin: Bulletin) -> QuerySet[User]:
    """The workforce members a bulletin is for (active people with a workforce role)."""
    people = User.objects.filter(is_active=True, terminated_on__isnull=True, workforce_role__isnull=False)
    if not bulletin.everyone:
        people = people.filter(workforce_role__in=bulletin.roles.all())
    return people


def live_bulletins(now: dt.datetime | None = None) -> QuerySet[Bulletin]:
    now = now or timezone.now()
    return Bulletin.objects.filter(send_at__lte=now, send_at__gt=now - dt.timedelta(days=active_days()))


def bulletins_for(person: User | AnonymousUser, now: dt.datetime | None = None) -> QuerySet[Bulletin]:
    """Live bulletins whose audience includes `person` (one query when evaluated)."""
    if isinstance(person, AnonymousUser) or person.workforce_role_id is None or not person.is_active:
        return Bulletin.objects.none()
    return live_bulletins(now).filter(Q(everyone=True) | Q(roles=person.workforce_role_id)).distinct()


def unacknowledged_for(person: User) -> QuerySet[Bulletin]:
    acked = BulletinAcknowledgement.objects.filter(bulletin=OuterRef("pk"), person=person.pk)
    return bulletins_for(person).exclude(Exists(acked))


def bulletins_deliver(*, now: dt.datetime | None = None, batch_size: int | None = None) -> SendResult:
    """E-mail each live bulletin to everyone in its audience who has not been sent it: at most once each."""
    now = now or timezone.now()
    batch_size = batch_size or int(getattr(settings, "REMINDER_BATCH_SIZE", 500))
    result = SendResult()
    for bulletin in live_bulletins(now).prefetch_related("roles"):
        already = Delivery.objects.filter(kind=Delivery.BULLETIN, bulletin=bulletin, recipient=OuterRef("pk"))
        people = audience(bulletin).exclude(Exists(already)).order_by("pk").values_list("pk", flat=True)
        last = 0
        while True:
            chunk = list(people.filter(pk__gt=last)[:batch_size])
            if not chunk:
                break
            last = chunk[-1]
            token = new_token()
            period = str(bulletin.pk)
            claims = [Claim(Delivery.BULLETIN, period, recipient_id=pk, bulletin_id=bulletin.pk) for pk in chunk]
            if claim_rows(claims, token):
                result += send_claimed(token)
    return result


def bulletin_acknowledge(
    *, bulletin: Bulletin, person: User, ip_address: str | None = None, user_agent: str = ""
) -> BulletinAcknowledgement:
    """A person confirms they read a security reminder (45 CFR 164.308(a)(5)(ii)(A)); kept as evidence."""
    if not bulletins_for(person).filter(pk=bulletin.pk).exists():
        raise ValidationError("This security reminder is not addressed to you.")
    try:
        with transaction.atomic():
            ack = BulletinAcknowledgement.objects.create(
                bulletin=bulletin, person=person, ip_address=ip_address or None, user_agent=user_agent[:400]
            )
            audit.record(
                "bulletin.acknowledged",
                actor=person,
                subject=bulletin,
                data={"person": person.email, "ip": ip_address, "acknowledgement": ack.pk},
            )
    except IntegrityError:
        raise ValidationError("You have already acknowledged this security reminder.") from None
    return ack
