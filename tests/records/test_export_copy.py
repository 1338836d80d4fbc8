"""The training-records CSV from PostgreSQL's COPY is byte for byte the file the ORM path writes, for data chosen
to break it: formula starts, commas, quotes, newlines, unicode, times around local midnight and both DST changes,
cancelled, overdue, open, on-time and late rows, with and without an "as of" day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from records.exports import (
    EXPORTS,
    ExportFilters,
    _crlf,
    copy_chunks,
    copy_settings,
    csv_chunks,
    training_copy_chunks,
    training_copy_select,
    training_rows,
)
from roles.models import Assignment, User
from tests.records.evidence import complete, person

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("catalog")]

UTC = dt.UTC
NAMES = [
    '=HYPERLINK("http://x","y")',
    "+1 555 0100",
    "-minus",
    "@SUM(A1)",
    "\tTabbed",
    "\rCarriage",
    'Comma, Quote "Q" Person',
    "Line\nBreak",
    "Windows\r\nBreak",
    "Zoë Ørsted-Łukasiewicz 李小龍 🙂",
    "'Already apostrophed",
    "Plain Person",
]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# Instants around local midnight (America/New_York) and both 2025 DST changes, with microseconds to be cut.
INSTANTS = [
    utc(2025, 3, 9, 6, 59, 59, 999999),  # 01:59:59 EST, the second before spring-forward
    utc(2025, 3, 9, 7, 0, 0),  # 03:00:00 EDT
    utc(2025, 11, 2, 5, 30, 0),  # 01:30 EDT (the first 01:30)
    utc(2025, 11, 2, 6, 30, 0),  # 01:30 EST (the second)
    utc(2025, 6, 1, 3, 59, 59),  # 23:59:59 on 31 May local, 1 June in UTC
    utc(2025, 6, 1, 4, 0, 0),  # 00:00:00 on 1 June local
    utc(2025, 1, 1, 0, 0, 0),  # UTC midnight: 19:00 the day before local
]


@pytest.fixture
def varied(compliance_officer):
    assert timezone.get_current_timezone_name() == "America/New_York"
    people = []
    for i, name in enumerate(NAMES):
        p = person(f"p{i}@example.test", f"Person {i}", ["billing", "intake", "it"][i % 3], f"Dept {i % 4}")
        User.objects.filter(pk=p.pk).update(full_name=name)  # person_create strips; these must stay as they are
        people.append(p)
    User.objects.filter(pk=people[3].pk).update(department=None)
    people[4].department.__class__.objects.filter(pk=people[4].department_id).update(name='=Dept, "formula"')
    rows = list(Assignment.objects.order_by("pk"))
    for i, a in enumerate(rows):
        when = INSTANTS[i % len(INSTANTS)]
        local_day = when.astimezone(ZoneInfo("America/New_York")).date()
        kind = i % 5
        # due on the completion's local day (on time though the UTC day is later), or the day before (late)
        due = local_day if kind == 0 else local_day - dt.timedelta(days=1)
        Assignment.objects.filter(pk=a.pk).update(
            assigned_on=local_day - dt.timedelta(days=40), due_on=due, created_at=when - dt.timedelta(days=40)
        )
        a.refresh_from_db()
        if kind in (0, 1):
            complete(a, when, score=70 + i, certificate=kind == 0)
        elif kind == 2:
            Assignment.objects.filter(pk=a.pk).update(cancelled_at=when, cancel_reason="role changed")
        elif kind == 3:  # open, due in the future
            Assignment.objects.filter(pk=a.pk).update(due_on=timezone.localdate() + dt.timedelta(days=3))
        # kind 4: open and overdue
    return rows


def orm_bytes(filters: ExportFilters) -> bytes:
    return b"".join(csv_chunks(training_rows(filters)))


FILTERS = [
    ExportFilters(),
    ExportFilters(as_of=dt.date(2025, 3, 9)),  # completions that night are after the day: open then
    ExportFilters(as_of=dt.date(2025, 11, 1)),
    ExportFilters(as_of=dt.date(2025, 5, 31)),  # a completion and a cancellation at exactly the next midnight
    ExportFilters(start=dt.date(2025, 5, 31), end=dt.date(2025, 6, 1)),
    ExportFilters(start=dt.date(2025, 11, 2), end=dt.date(2025, 11, 2), as_of=dt.date(2025, 12, 1)),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: str(f.as_dict()))
def test_copy_output_is_byte_identical_to_the_orm_path(varied, filters):
    expected = orm_bytes(filters)
    assert b"".join(training_copy_chunks(filters)) == expected
    assert expected.count(b"\r\n") > 1  # there are rows to compare


def test_the_compared_file_holds_every_awkward_case(varied):
    text = orm_bytes(ExportFilters()).decode()
    assert "'=HYPERLINK" in text and "'+1 555" in text and "'-minus" in text and "'@SUM" in text
    assert "'\tTabbed" in text and '"\'\rCarriage"' in text
    assert '"Comma, Quote ""Q"" Person"' in text and '"Line\nBreak"' in text and '"Windows\r\nBreak"' in text
    assert "Zoë Ørsted-Łukasiewicz 李小龍 🙂" in text and "''Already" not in text
    assert '"\'=Dept, ""formula"""' in text
    for stamp in ["2025-03-09T01:59:59-05:00", "2025-03-09T03:00:00-04:00", "2025-11-02T01:30:00-04:00"]:
        assert stamp in text
    assert "2025-11-02T01:30:00-05:00" in text and "2025-05-31T23:59:59-04:00" in text
    assert "2024-12-31T19:00:00-05:00" in text
    for status in [",completed\r\n", ",cancelled\r\n", ",overdue\r\n", ",open\r\n", ",yes,", ",no,"]:
        assert status in text


def test_the_export_view_streams_the_copy_file(login, auditor, varied):
    response = login(auditor).get(reverse("records:audit_export", args=["training"]))
    streamed = list(response.streaming_content)
    assert b"".join(streamed) == orm_bytes(ExportFilters())
    assert EXPORTS["training"].copy is training_copy_chunks and connection.vendor == "postgresql"


def test_row_ends_are_fixed_wherever_the_chunks_split(varied):
    sql, params = training_copy_select(ExportFilters())
    raw = b"".join(copy_chunks(sql, params, settings=copy_settings()))
    whole = b"".join(_crlf([raw]))
    assert whole == orm_bytes(ExportFilters())
    for size in (1, 7, 64):
        assert b"".join(_crlf(raw[i : i + size] for i in range(0, len(raw), size))) == whole


def test_a_download_abandoned_half_way_leaves_the_connection_usable(varied):
    sql, params = training_copy_select(ExportFilters())
    with connection.cursor() as cursor:
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"
    chunks = copy_chunks(sql, params, chunk_bytes=1, settings=copy_settings())
    next(chunks)
    chunks.close()
    assert User.objects.filter(email="p0@example.test").exists()
    with connection.cursor() as cursor:  # the session's settings are put back
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "UTC"
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "on"
