"""The bytes of a training e-mail without `email.generator` per message (issue 14: serialising was a third of a
reminder run, most of it folding the same headers again and searching each body for its boundary).

`TrainingEmail` is an `EmailMultiAlternatives`; its `message()` is, for the one shape the mailer sends (a text
body and one HTML alternative, no attachments, Cc or Reply-To), a `WireMessage`: a real `SafeMIMEMultipart`
that writes its own bytes, exactly those `email.generator` would write (headers folded the same way, each
part 7bit or 8bit as Django chooses), with the folded Subject and From lines kept from one message to the
next. Anything it is not sure of (a line over 998 bytes, a header that would fold, a non-ASCII value) goes
the standard way; so does a message someone reads or changes as a `Message` (it becomes the standard one
first, with the same Date and boundary). tests/roles/test_reminders_wire.py compares the two byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email import policy as email_policy
from email.generator import Generator
from email.utils import formatdate
from typing import Any, cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    SafeMIMEMultipart,
    forbid_multi_line_headers,
)

_NEWLINES = re.compile(r"\r\n|\r|\n")
_FOLDED: dict[tuple[str, str, str], bytes] = {}  # (name, value, linesep) -> the folded header line
_FOLDED_MAX = 4096
# A boundary as the generator draws them (always this long, no folding point in it), folded once for all.
_draw_boundary = cast(Callable[[], str], getattr(Generator, "_make_boundary"))  # noqa: B009 (private, untyped)
_SAME_LENGTH = re.sub(r"\d", "0", _draw_boundary())


def _folded(name: str, value: str, encoding: str, linesep: str) -> bytes:
    """The header line `email.generator` writes for `msg[name] = value` on a Django message."""
    key = (name, value, linesep)
    line = _FOLDED.get(key)
    if line is None:
        _, stored = forbid_multi_line_headers(name, value, encoding)
        line = email_policy.compat32.clone(linesep=linesep).fold_binary(name, stored)
        if len(_FOLDED) >= _FOLDED_MAX:
            _FOLDED.clear()
        _FOLDED[key] = line
    return line


def _plain(name: str, value: str) -> bool:
    """A value that `forbid_multi_line_headers` stores as it is and the generator writes unfolded."""
    return (
        value.isascii()
        and value.isprintable()
        and len(name) + 2 + len(value) <= 76
        and value == value.strip()
        and "  " not in value
        and "\t" not in value
    )


def _line(name: str, value: str, encoding: str, linesep: str) -> bytes:
    if _plain(name, value):
        return f"{name}: {value}{linesep}".encode("ascii")
    return _folded(name, value, encoding, linesep)


def _body(text: str) -> tuple[str, str] | None:
    """(text, its Content-Transfer-Encoding) as Django stores a utf-8 part, or None if it would take QP (or is
    not text a codec can write)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if any(len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in text.splitlines()):
        return None
    return text, ("7bit" if text.isascii() else "8bit")


def _part_bytes(subtype: str, body: str, cte: str, linesep: str) -> bytes:
    head = f'Content-Type: text/{subtype}; charset="utf-8"{linesep}MIME-Version: 1.0{linesep}'
    head += f"Content-Transfer-Encoding: {cte}{linesep}{linesep}"
    return head.encode("ascii") + _NEWLINES.sub(linesep, body).encode("utf-8", "surrogateescape")


class TrainingEmail(EmailMultiAlternatives):
    """An e-mail of the mailer: `message()` builds a `WireMessage` when it can (see the module)."""

    def message(self) -> Any:
        encoding = self.encoding or settings.DEFAULT_CHARSET
        content, mimetype = self.alternatives[0] if len(self.alternatives) == 1 else (None, None)
        if (
            encoding == "utf-8"
            and isinstance(self.body, str)
            and self.body
            and mimetype == "text/html"
            and isinstance(content, str)
            and not (self.attachments or self.cc or self.reply_to)
            and self.content_subtype == "plain"
            and self.alternative_subtype == "alternative"
            and self.to
            and {k.lower() for k in self.extra_headers} <= {"x-training-delivery", "message-id"}
        ):
            text, html = _body(self.body), _body(content)
            if text is not None and html is not None:
                return WireMessage(self, text, html)
        return super().message()


class WireMessage(SafeMIMEMultipart):
    """A `TrainingEmail`'s message that writes its own bytes; read as a `Message`, it becomes the standard one."""

    def __init__(self, email: TrainingEmail, text: tuple[str, str], html: tuple[str, str]) -> None:
        # Not SafeMIMEMultipart.__init__: the attributes of a Message are filled in when first read (__getattr__).
        d = self.__dict__
        d["_wire_email"], d["_wire_text"], d["_wire_html"] = email, text, html
        # What EmailMessage.message() would decide now: the header values, Date included.
        d["_wire_to"] = ", ".join(str(v) for v in email.to)
        d["_wire_date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        d["_wire_boundary"] = None

    def _boundary(self) -> str:
        boundary = self.__dict__["_wire_boundary"]
        while boundary is None:  # as the generator draws one; a body holding it draws again
            boundary = _draw_boundary()
            if f"--{boundary}" in self._wire_text[0] or f"--{boundary}" in self._wire_html[0]:
                boundary = None
        self.__dict__["_wire_boundary"] = boundary
        return boundary

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name.startswith("_wire_") or "_headers" in self.__dict__:
            raise AttributeError(name)
        email = self._wire_email
        standard = EmailMultiAlternatives.message(email)
        standard.replace_header("Date", self._wire_date)
        standard.set_boundary(self._boundary())
        self.__dict__.update(standard.__dict__)
        return getattr(self, name)

    _wire_email: TrainingEmail
    _wire_text: tuple[str, str]
    _wire_html: tuple[str, str]
    _wire_to: str
    _wire_date: str

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:  # type: ignore[override]  # Django's
        if unixfrom or "_headers" in self.__dict__:  # read or changed as a Message: the standard way
            return super().as_bytes(unixfrom=unixfrom, linesep=linesep)
        email = self._wire_email
        encoding = email.encoding or settings.DEFAULT_CHARSET
        boundary = self._boundary()
        head = [
            _folded("Content-Type", f'multipart/alternative; boundary="{_SAME_LENGTH}"', encoding, linesep).replace(
                _SAME_LENGTH.encode("ascii"), boundary.encode("ascii")
            ),
            f"MIME-Version: 1.0{linesep}".encode("ascii"),
            _folded("Subject", str(email.subject), encoding, linesep),
            _folded("From", str(email.extra_headers.get("From", email.from_email)), encoding, linesep),
            _line("To", self._wire_to, encoding, linesep),
            _line("Date", self._wire_date, encoding, linesep),
        ]
        head += [_line(name, str(value), encoding, linesep) for name, value in email.extra_headers.items()]
        delimiter = f"{linesep}--{boundary}{linesep}".encode("ascii")
        return b"".join(
            [
                *head,
                f"{linesep}--{boundary}{linesep}".encode("ascii"),
                _part_bytes("plain", self._wire_text[0], self._wire_text[1], linesep),
                delimiter,
                _part_bytes("html", self._wire_html[0], self._wire_html[1], linesep),
                f"{linesep}--{boundary}--{linesep}".encode("ascii"),
            ]
        )

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:  # type: ignore[override]  # Django's
        if "_headers" not in self.__dict__:
            self.__getattr__("_headers")  # the standard message (a str is not what a relay is sent)
        return super().as_string(unixfrom=unixfrom, linesep=linesep)

    def __bytes__(self) -> bytes:
        return self.as_bytes()
