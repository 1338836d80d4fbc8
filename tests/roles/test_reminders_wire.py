"""A training e-mail's bytes written without email.generator (roles/reminders/wire.py, issue 14) are exactly the
bytes Django's own message() and as_bytes() write for the same e-mail, the same Date and boundary given."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes

import pytest
from django.core import mail
from django.core.mail import BadHeaderError, EmailMultiAlternatives

from roles.models import Assignment
from roles.reminders.wire import TrainingEmail, WireMessage
from tests.conftest import make_person

pytestmark = pytest.mark.usefixtures("catalog")

NAMES = ["Billie Biller", 'Dana O\'Brien <b>&amp; "Co"</b>', "Zoë Ünal-Łukasz", "李小龍", "x" * 1200, "Tab\there"]
SUBJECTS = [
    "Due today: Privacy",
    "Reminder: HIPAA Privacy Rule basics for the billing office and its clients is due on March 3",
    "Überfällig: Datenschutz",
    "Overdue: " + "word " * 40,
]
ADDRESSES = ["p1@bench.test", "a.very.long.local.part.for.a.person@a-long-subdomain.example-hospital.test"]


def standard_bytes(email: EmailMultiAlternatives, wire: WireMessage, linesep: str) -> bytes:
    """What Django writes for `email`, with the wire message's Date and boundary (both drawn per message)."""
    standard = EmailMultiAlternatives.message(email)
    standard.replace_header("Date", wire._wire_date)
    standard.set_boundary(wire._boundary())
    return standard.as_bytes(linesep=linesep)


def email(name: str, subject: str, to: str, rows: str = "12") -> TrainingEmail:
    text = f"Hello {name},\n\nYour module is due.\r\nTake it here: http://127.0.0.1:8000/training/\n"
    html = f"<p>Hello {name},</p>\n<p>Due.</p>\n"
    e = TrainingEmail(subject, text, to=[to], headers={"X-Training-Delivery": rows, "Message-ID": "<a1.t@h>"})
    e.attach_alternative(html, "text/html")
    return e


@pytest.mark.parametrize("linesep", ["\n", "\r\n"])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("to", ADDRESSES)
def test_the_wire_bytes_are_django_s_bytes(name, subject, to, linesep):
    # A digest's or an escalation's list of rows folds at its commas, a short one just past the line does too.
    lists = [",".join(str(n) for n in range(100_000, 100_000 + k)) for k in (1, 11, 12, 40)]
    for e in [email(name, subject, to, rows) for rows in lists]:
        wire = e.message()
        if len(name) < 900:  # a line over 998 bytes takes quoted-printable: the standard way
            assert isinstance(wire, WireMessage)
        if isinstance(wire, WireMessage):
            written = wire.as_bytes(linesep=linesep)
            assert written == standard_bytes(e, wire, linesep)
            assert wire.as_bytes(linesep=linesep) == written  # the same boundary each time
            parsed = message_from_bytes(written)
            assert [p.get_content_type() for p in parsed.walk()][1:] == ["text/plain", "text/html"]


def test_a_wire_message_read_as_a_message_is_the_standard_one_with_the_same_date_and_boundary():
    e = email("Zoë", SUBJECTS[1], ADDRESSES[0])
    wire = e.message()
    written = wire.as_bytes()
    assert wire["To"] == ADDRESSES[0] and wire.get_content_type() == "multipart/alternative"
    assert wire.as_bytes() == written  # now written by the generator
    wire["X-Extra"] = "1"
    assert b"X-Extra: 1" in wire.as_bytes()
    assert wire.as_string() == wire.as_bytes().decode()


def test_what_the_wire_does_not_know_goes_the_standard_way():
    e = email("Billie", "Hi", ADDRESSES[0])
    e.cc = ["cc@example.test"]
    assert not isinstance(e.message(), WireMessage)
    e = email("Billie", "Hi", ADDRESSES[0])
    e.attach("a.txt", "x", "text/plain")
    assert not isinstance(e.message(), WireMessage)
    e = email("Billie", "Hi\nBcc: x@example.test", ADDRESSES[0])
    with pytest.raises(BadHeaderError):
        e.message().as_bytes()


def test_every_e_mail_of_a_run_is_written_as_django_writes_it():
    from roles.reminders.schedule import reminders_send

    people = [make_person(f"p{i}@example.test", name) for i, name in enumerate(NAMES[:4])]
    for i, person in enumerate(people):
        person.reminder_digest = i % 2 == 0
        person.save(update_fields=["reminder_digest"])
    today = min(a.due_on for a in Assignment.objects.filter(user__in=people))
    mail.outbox.clear()
    reminders_send(today=today)
    reminders_send(today=today + dt.timedelta(days=30))  # overdue: escalations too
    assert len(mail.outbox) >= 6
    for m in mail.outbox:
        assert isinstance(m, TrainingEmail)
        wire = m.message()
        assert isinstance(wire, WireMessage)
        assert wire.as_bytes(linesep="\r\n") == standard_bytes(m, wire, "\r\n")
