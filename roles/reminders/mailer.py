"""The one sender: claimed `Delivery` rows become e-mails (one per reminder, one digest per person, manager or
officer), sent over one connection per batch, each marked sent just before it is handed to the relay (the
protocol and what it guarantees: `claims.py`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from hipaa_training import audit

from ..access import COMPLIANCE_OFFICER
from ..models import BulletinDelivery, Delivery, User
from ..organization import organization_name
from .claimed import Claimed, Item, ModuleAssignment, Person, Titled, claimed_rows
from .wire import TrainingEmail

logger = logging.getLogger(__name__)

# The relay answered "no" (a 4xx/5xx reply): it did not take the message, so it may be sent again later.
REFUSED: tuple[type[Exception], ...] = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def lease_seconds() -> float:
    return float(_setting("REMINDER_CLAIM_LEASE_SECONDS", 180))


def training_url() -> str:
    return f"{settings.SITE_URL}{reverse('records:training')}"


@dataclass
class SendResult:
    messages: int = 0
    deliveries: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __iadd__(self, other: SendResult) -> SendResult:
        self.messages += other.messages
        self.deliveries += other.deliveries
        for kind, n in other.kinds.items():
            self.kinds[kind] += n
        return self


@dataclass
class _Message:
    """The rows one send covers and its e-mails: one, several (a copy to each officer) or none (nothing to say)."""

    rows: list[Claimed]
    emails: list[EmailMultiAlternatives]


class _NotInTheKey(Exception):
    """A template asked a stand-in for a value the rendering was not keyed on: fail loudly, never guess."""

    silent_variable_failure = False


class _Only:
    """What a template may read from a shared rendering: these attributes and nothing else."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise _NotInTheKey(f"the shared reminder rendering does not know {name!r}")


NAME = "\ue000name\ue000"  # a private-use character pair: never in a name, untouched by escaping


class Renderer:
    """The e-mails' text and HTML for one batch: links computed once, templates looked up once, and a reminder
    rendered once per (kind, module, due date, day) with the person's name put in afterwards (escaped for the
    HTML part), instead of twice per e-mail. Digests and managers' escalations (lists of rows) are rendered
    each; the officers' escalation once for all of them (`addressed`)."""

    def __init__(self, organization: str | None = None) -> None:
        self.organization = organization or settings.ORGANIZATION_NAME
        self.training_url = training_url()
        self._templates: dict[str, Any] = {}
        self._reminders: dict[tuple[Any, ...], tuple[str, str]] = {}

    def template(self, name: str) -> Any:
        if name not in self._templates:
            self._templates[name] = get_template(name)
        return self._templates[name]

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        context = {"organization": self.organization, **context, "training_url": self.training_url}
        return (
            self.template(f"emails/{template}.txt").render(context),
            self.template(f"emails/{template}.html").render(context),
        )

    def reminder(self, person: Person, assignment: ModuleAssignment, kind: str, today: dt.date) -> tuple[str, str]:
        title, due_on = assignment.course.title, assignment.due_on
        key = (kind, title, due_on, today)
        shared = self._reminders.get(key)
        if shared is None:
            context = {
                "person": _Only(full_name=NAME),
                "assignment": _Only(course=_Only(title=title), due_on=due_on),
                "kind": kind,
                "today": today,
            }
            shared = self._reminders[key] = self.render("reminder", context)
        return _named(shared, person.full_name)

    def addressed(self, template: str, context: dict[str, Any], to: str) -> Callable[[str], tuple[str, str]]:
        """`template` rendered once for several recipients, of whom it reads only `context[to].full_name`: the
        text and HTML for each by their full name (the officers' escalation lists every overdue person, about
        0.3 s at 10,000 rows, once per officer before)."""
        shared = self.render(template, {**context, to: _Only(full_name=NAME)})
        return lambda full_name: _named(shared, full_name)


def _named(rendered: tuple[str, str], full_name: str) -> tuple[str, str]:
    """A shared rendering with the recipient's name put in (escaped in the HTML part)."""
    text, html = rendered
    return text.replace(NAME, full_name), html.replace(NAME, str(escape(full_name)))


def _render(template: str, context: dict[str, Any], organization: str | None = None) -> tuple[str, str]:
    return Renderer(organization).render(template, context)


def message_id(rows: list[Claimed], to: list[str]) -> str:
    """The same rows to the same address always get the same Message-ID, so a relay or mailbox that drops
    repeated Message-IDs can recognise a message sent again (after a relay error, or by an operator)."""
    digest = hashlib.sha256(f"{','.join(str(r.pk) for r in rows)}|{','.join(to)}".encode()).hexdigest()[:32]
    return f"<{digest}.training@{urlsplit(settings.SITE_URL).hostname or 'localhost'}>"


def _email(
    subject: str,
    to: list[str],
    template: str,
    context: dict[str, Any],
    rows: list[Claimed],
    organization: str | None = None,
    rendered: tuple[str, str] | None = None,
) -> EmailMultiAlternatives:
    text, html = rendered or _render(template, context, organization)
    email = TrainingEmail(  # an EmailMultiAlternatives that writes its own bytes (wire.py)
        subject=subject,
        body=text,
        to=to,
        headers={"X-Training-Delivery": ",".join(str(r.pk) for r in rows), "Message-ID": message_id(rows, to)},
    )
    email.attach_alternative(html, "text/html")
    return email


SUBJECTS = {
    Delivery.BEFORE_DUE: "Reminder: {course} is due on {due}",
    Delivery.DUE: "Due today: {course}",
    Delivery.OVERDUE: "Overdue: {course} was due on {due}",
    Delivery.NUDGE: "Your compliance officer asks you to complete {course}",
}


POLICY_SUBJECTS = {
    Delivery.BEFORE_DUE: "Reminder: please acknowledge {policy} by {due}",
    Delivery.DUE: "Due today: acknowledge {policy}",
    Delivery.OVERDUE: "Overdue: acknowledging {policy} was due on {due}",
}


def _assignment(row: Claimed) -> Item:
    """What a reminder or an escalation is about (every kind but digest markers and bulletins): a module's
    assignment or a policy to acknowledge."""
    item = row.item
    assert item is not None, f"delivery {row.pk} ({row.kind}) has no assignment"
    return item


def _recipient(row: Claimed) -> Person:
    """The person a digest marker or a bulletin is addressed to."""
    assert row.recipient is not None, f"delivery {row.pk} ({row.kind}) has no recipient"
    return row.recipient


def _bulletin(row: Claimed) -> Titled:
    assert row.bulletin is not None, f"delivery {row.pk} ({row.kind}) has no bulletin"
    return row.bulletin


def _messages(rows: list[Claimed], officers: list[User]) -> list[_Message]:
    """Group claimed rows into e-mails: one per reminder, one digest per person, manager or officer.

    The claim decides what travels together (`claims.py`): a person's reminders and their digest marker, a
    manager's team, and all of a run's officer rows are each claimed under one token, so one call sees them all.
    """
    renderer = Renderer(organization_name())  # the officer's name and the links, read once per batch

    def email(
        subject: str, to: list[str], template: str, context: dict[str, Any], rows: list[Claimed]
    ) -> EmailMultiAlternatives:
        return _email(subject, to, template, context, rows, rendered=renderer.render(template, context))

    today = timezone.localdate()
    messages: list[_Message] = []
    digests: dict[int, list[Claimed]] = defaultdict(list)
    markers: dict[int, Claimed] = {}
    managers: dict[int | None, list[Claimed]] = defaultdict(list)
    to_officers: list[Claimed] = []
    for row in rows:
        if row.kind == Delivery.DIGEST:
            markers[_recipient(row).pk] = row
        elif row.kind == Delivery.BULLETIN:
            b, person = _bulletin(row), _recipient(row)
            context = {"person": person, "bulletin": b, "url": f"{settings.SITE_URL}{b_url(b.pk)}"}
            messages.append(
                _Message([row], [email(f"Security reminder: {b.title}", [person.email], "bulletin", context, [row])])
            )
        elif row.kind == Delivery.MANAGER:
            managers[_assignment(row).user.manager_id].append(row)
        elif row.kind == Delivery.OFFICER:
            to_officers.append(row)
        elif row.policy_assignment is not None:
            p = row.policy_assignment
            subject = POLICY_SUBJECTS[row.kind].format(policy=p.policy.title, due=f"{p.due_on:%B} {p.due_on.day}")
            context = {"person": p.user, "assignment": p, "kind": row.kind, "today": timezone.localdate()}
            messages.append(_Message([row], [email(subject, [p.user.email], "policy_reminder", context, [row])]))
        elif _assignment(row).user.reminder_digest and row.kind != Delivery.NUDGE:
            digests[_assignment(row).user_id].append(row)
        else:
            a = row.assignment
            assert a is not None
            subject = SUBJECTS[row.kind].format(course=a.course.title, due=f"{a.due_on:%B} {a.due_on.day}")
            rendered = renderer.reminder(a.user, a, row.kind, today)
            messages.append(
                _Message([row], [_email(subject, [a.user.email], "reminder", {}, [row], rendered=rendered)])
            )
    for user_id, items in digests.items():
        person = _assignment(items[0]).user
        carried = items + ([markers.pop(user_id)] if user_id in markers else [])
        context = {"person": person, "items": items, "today": today}
        subject = "Your training reminders for today"
        messages.append(_Message(carried, [email(subject, [person.email], "reminder_digest", context, carried)]))
    for manager_id, items in managers.items():
        manager = _assignment(items[0]).user.manager
        if manager is None or manager_id is None:
            messages.append(_Message(items, []))  # the manager left the workforce: nobody to tell
            continue
        context = {"recipient": manager, "items": items, "level": "manager"}
        subject = f"{len({_assignment(i).user_id for i in items})} of your team have overdue HIPAA training"
        messages.append(_Message(items, [email(subject, [manager.email], "escalation", context, items)]))
    if to_officers:
        context = {"items": to_officers, "level": "officer"}
        subject = f"Overdue HIPAA training: {len({_assignment(i).user_id for i in to_officers})} people"
        # One copy to each officer, all under one mark: no officer's copy goes out twice.
        to_each = renderer.addressed("escalation", context, "recipient")
        emails = [
            _email(subject, [o.email], "escalation", {}, to_officers, rendered=to_each(o.full_name)) for o in officers
        ]
        messages.append(_Message(to_officers, emails))
    # A digest marker with nothing left to carry (its reminders were sent by an earlier run) is done.
    for marker in markers.values():
        messages.append(_Message([marker], []))
    return messages


def b_url(bulletin_id: int) -> str:
    return reverse("roles:bulletin", args=[bulletin_id])


def renew(*tokens: str) -> int:
    """Extend the lease on the unsent rows of `tokens`; how many rows that was (0: nothing left, or taken over)."""
    return Delivery.objects.filter(claim__in=tokens, sent_at__isnull=True).update(claimed_at=timezone.now())


class Lease:
    """A run's hold on its claims: every `REMINDER_CLAIM_LEASE_SECONDS / 6` it renews all the run has not
    sent yet (the batch in hand and the batches after it), so no sweep takes over a live run however long."""

    def __init__(self, tokens: Sequence[str], stamped: float | None = None) -> None:
        self.tokens = list(tokens)
        self.every = lease_seconds() / 6
        self.last = time.monotonic()
        # The monotonic time since which every unsent row of `tokens` carries its claim's stamp (None: unknown).
        self.stamped = stamped
        self.lock = threading.Lock()  # the senders sharing a run share its lease

    def renew_if_due(self) -> None:
        if time.monotonic() - self.last < self.every:
            return
        with self.lock:
            if self.tokens and time.monotonic() - self.last >= self.every:
                started = time.monotonic()
                renew(*self.tokens)
                self.last, self.stamped = time.monotonic(), started

    def fresh(self) -> bool:
        """Every row the run has left was stamped within half a lease: no sweep can take any of it over yet, so
        a batch need not renew its own before sending (a batch's renewal rewrites hundreds of rows)."""
        return self.stamped is not None and time.monotonic() - self.stamped < lease_seconds() / 2

    def release(self, token: str) -> None:
        with self.lock:
            if token in self.tokens:
                self.tokens.remove(token)


_MARK_SQL = (
    f'UPDATE "{Delivery._meta.db_table}" SET "sent_at" = %s WHERE "id" = %s AND "claim" = %s AND "sent_at" IS NULL'
)


def _mark(message: _Message, token: str, cursor: Any = None) -> bool:
    """Record the message sent, committed before the relay sees it (one transaction); False (and nothing
    changed) if any of its rows is no longer this claim's: another run took it over, so it sends it. `cursor`:
    the batch's cursor on PostgreSQL (one for all its marks)."""
    pks = [r.pk for r in message.rows]
    if cursor is not None:  # the same UPDATE without compiling a query per message
        now = timezone.now()
        if len(pks) == 1:
            cursor.execute(_MARK_SQL, [now, pks[0], token])
        else:
            # A digest or a team: the one-row UPDATE for each row, sent at once and committed at once (psycopg's
            # executemany is one pipeline, one implicit transaction). One `id = ANY(...)` UPDATE took 700 us
            # instead of 140: just after a run's claims the statistics know few unsent rows, so the planner
            # scanned the whole unsent index (every row the run claimed) instead of looking up a few ids.
            cursor.executemany(_MARK_SQL, [(now, pk, token) for pk in pks])
        marked = cursor.rowcount
    else:
        marked = Delivery.objects.filter(pk__in=pks, claim=token, sent_at__isnull=True).update(sent_at=timezone.now())
    if marked == len(pks):
        return True
    if marked:  # part of it was taken over (not possible while takeovers move whole claims): give ours back
        _unmark(message, token)
    return False


@contextmanager
def _marks_without_waiting_for_the_disk() -> Iterator[None]:
    """On PostgreSQL, the batch's commits do not wait for the WAL to reach the disk (unless
    `REMINDER_MARK_SYNCHRONOUS`). A mark is visible to every other run the moment it commits, so a worker's
    death changes nothing; only a crash of the database server itself within a fraction of a second of a mark
    could forget it and send that message again. Durable writes in the batch (bulletin evidence) ask for the
    disk again (`SET LOCAL synchronous_commit TO ON`)."""
    if connection.vendor != "postgresql" or _setting("REMINDER_MARK_SYNCHRONOUS", False):
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:  # the connection is gone, and the setting with it; the error that ended the batch
            logger.debug("could not reset synchronous_commit", exc_info=True)  # is the one to report


def _unmark(message: _Message, token: str) -> None:
    Delivery.objects.filter(pk__in=[r.pk for r in message.rows], claim=token).update(sent_at=None)


def send_claimed(token: str, lease: Lease | None = None) -> SendResult:
    """Send the unsent rows claimed under `token`, each message marked sent just before it is handed over.

    Per message: pause (the relay's rate limit), mark (one transaction, committed, conditional on still holding the
    claim), hand over on the batch's one connection. A refusal from the relay unmarks it, so a later run sends
    it; any other error leaves it marked (the relay may have taken it) and ends the batch, whose other rows stay
    claimed until the lease runs out and the sweep takes them over. `lease` is the run's hold on this and its
    later claims (by default, on this one alone); the batch renews its own rows first unless that lease knows
    them stamped within half a lease (`Lease.fresh`). Call outside a transaction.
    """
    result = SendResult()
    lease = lease or Lease([token])
    if not lease.fresh() and not renew(token):
        return result  # nothing left, or another run took the claim over
    rows = claimed_rows(token)
    if not rows:
        return result  # nothing left, or another run took the claim over
    officers: list[User] = []
    if any(r.kind == Delivery.OFFICER for r in rows):
        officers = list(User.objects.filter(groups__name=COMPLIANCE_OFFICER, is_active=True).order_by("pk"))
    pause = float(_setting("REMINDER_SEND_PAUSE", 0))
    relay = get_connection()
    relay.open()  # one session for the batch: send_messages opens (and closes) one only if none is open
    with _marks_without_waiting_for_the_disk(), _closing(relay), _mark_cursor() as cursor:
        for message in _messages(rows, officers):
            if message.emails and pause:
                time.sleep(pause)  # stay under the mail relay's rate limit
            lease.renew_if_due()
            if not _mark(message, token, cursor):
                continue
            sent = 0
            for email in message.emails:
                email.connection = relay
                try:
                    sent += relay.send_messages([email]) or 0
                except REFUSED as error:
                    logger.warning(
                        "the relay refused delivery %s: %s", email.extra_headers["X-Training-Delivery"], error
                    )
                except Exception:
                    logger.exception(
                        "sending delivery %s failed; kept as sent (the relay may have taken it)",
                        email.extra_headers["X-Training-Delivery"],
                    )
                    if sent:
                        result.messages += sent
                        _count(message, result)
                    raise
            if message.emails and not sent:
                _unmark(message, token)  # no copy was taken: a later run tries again
                continue
            result.messages += sent
            _count(message, result)
    return result


@contextmanager
def _mark_cursor() -> Iterator[Any]:
    """The batch's one cursor for its marks on PostgreSQL (None elsewhere: the ORM's UPDATE).

    The mark's UPDATE is one prepared statement per connection (`REMINDER_MARK_PREPARED`, on by default),
    parsed and planned once instead of once per message as Django's cursors send every query (client-side
    binding, prepared statements off so that a transaction-mode connection pooler keeps working): issue 14,
    half the server's time per mark. The same statement, committed the same way per message; it goes through
    Django's cursor wrapper, so execute wrappers, the query log and the error translation see each mark.
    """
    if connection.vendor != "postgresql":
        yield None
        return
    if not _setting("REMINDER_MARK_PREPARED", True):
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg  # PostgreSQL is psycopg 3 here (requirements.lock)

    connection.ensure_connection()
    connection.validate_thread_sharing()
    session = connection.connection
    # Django's own cursors bind on the client and never prepare, whatever the threshold; only this one does.
    threshold, session.prepare_threshold = session.prepare_threshold, 0
    raw = psycopg.Cursor(session)
    try:
        with _LoggedMark(raw, connection) if connection.queries_logged else CursorWrapper(raw, connection) as cursor:
            yield cursor
    finally:
        session.prepare_threshold = threshold


class _LoggedMark(CursorDebugWrapper):
    """Django's query log with a prepared mark: Django reads a query's text back from psycopg, which keeps none
    for a prepared statement, so the log gets the statement with its values as Django writes them itself."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def _closing(relay: Any) -> Iterator[None]:
    try:
        yield
    finally:
        relay.close()


def _count(message: _Message, result: SendResult) -> None:
    """Count what the relay took; a bulletin's evidence is written now, once the relay has it (evidence is
    append-only, so never for a message the relay might still refuse)."""
    bulletins = [r for r in message.rows if r.kind == Delivery.BULLETIN]
    if bulletins:
        record_bulletin_evidence(bulletins)
    for r in message.rows:
        if r.kind != Delivery.DIGEST:
            result.deliveries += 1
            result.kinds[r.kind] += 1


def record_bulletin_evidence(rows: list[Claimed]) -> None:
    """The evidence that a bulletin was e-mailed: one BulletinDelivery and one audit event per row."""
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO ON")  # evidence waits for the disk
        BulletinDelivery.objects.bulk_create(
            [BulletinDelivery(bulletin_id=_bulletin(r).pk, person_id=_recipient(r).pk, sent_at=now) for r in rows],
            ignore_conflicts=True,
        )
        audit.record_many(
            audit.Event(
                "bulletin.delivered",
                subject=("roles.bulletin", _bulletin(r).pk),
                data={"person": _recipient(r).email, "delivery": r.pk},
            )
            for r in rows
        )
