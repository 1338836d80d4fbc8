"""A client's evidence pack (records/documents/client_pack.py): exactly that client's people, the client's name on
every page, nothing about other clients or their staff, and verify_bundle passes on it.

Two clients: Riverside Clinic (the claims team, by department) and Lakeside Clinic (Ann by name, and the intake
role). Ann works both; Ben only Riverside; Cara only Lakeside; Dave neither. Every file of each pack is read
(CSV, JSON, Markdown, the PDFs' text) and searched for the names and e-mails of everyone who is not in it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from django.urls import reverse
from pypdf import PdfReader

from courses.models import Course
from records.documents.bundle import verify_bundle
from records.documents.certificate import certificate_issue
from records.documents.client_pack import client_filters, client_period, client_report_context
from records.models import ReportJob
from roles.clients import client_create, client_requirement_set, client_scope_add
from roles.models import Assignment, Client, User
from tests.records.evidence import at, complete, person, today

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def world(compliance_officer):
    t = today()
    hired = t - dt.timedelta(days=90)
    ann = person("ann@example.test", "Ann Archer", "billing", "Claims Team", hired=hired)
    ben = person("ben@example.test", "Ben Brooks", "billing", "Claims Team", hired=hired)
    cara = person("cara@example.test", "Cara Cole", "intake", "Patient Services", hired=hired)
    dave = person("dave@example.test", "Dave Dunn", "it", "Systems", hired=hired)
    riverside = client_create(name="Riverside Clinic", baa_effective_on=t - dt.timedelta(days=60), due_within_days=14)
    lakeside = client_create(name="Lakeside Clinic", baa_effective_on=t - dt.timedelta(days=60))
    client_requirement_set(client=riverside, course=Course.objects.get(slug="leadership-oversight"))
    claims = ann.department
    client_scope_add(client=riverside, department=claims, valid_from=t - dt.timedelta(days=30), reason="contract")
    client_scope_add(client=lakeside, person=ann, valid_from=t - dt.timedelta(days=30), reason="covers Lakeside")
    client_scope_add(
        client=lakeside, workforce_role=cara.workforce_role, valid_from=t - dt.timedelta(days=30), reason="intake"
    )
    for someone in (ann, ben, cara, dave):  # everyone has a completion and a real certificate (their name on it)
        done = complete(
            someone.assignments.get(course__slug="security-awareness"), at(t - dt.timedelta(days=5)), certificate=False
        )
        certificate_issue(completion_id=done.pk)
    return {"ann": ann, "ben": ben, "cara": cara, "dave": dave, "riverside": riverside, "lakeside": lakeside}


def _pack(client, officer_client, capture, target: Client, **period) -> bytes:
    with capture(execute=True):
        response = client.post(reverse("records:client_pack", args=[target.pk]), period)
    assert response.status_code == 302
    job = ReportJob.objects.latest("pk")
    assert job.status == ReportJob.DONE, job.error
    assert job.client_id == target.pk
    download = client.get(reverse("records:audit_download", args=[job.pk]))
    assert download.status_code == 200
    return b"".join(download.streaming_content)


def _squash(text: str) -> str:
    """Without whitespace: a name a PDF table wraps over two lines is still found."""
    return re.sub(r"\s+", "", text).lower()


def _every_file(pack: bytes) -> dict[str, str]:
    """Each member's text: PDFs through pypdf, the rest decoded."""
    texts = {}
    with zipfile.ZipFile(io.BytesIO(pack)) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name.endswith(".pdf"):
                texts[name] = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
            else:
                texts[name] = data.decode("utf-8")
    return texts


def _who(people: list[User]) -> list[str]:
    return [s for p in people for s in (p.full_name, p.email)]


def test_each_pack_holds_its_clients_people_and_nobody_else(
    world, login, compliance_officer, django_capture_on_commit_callbacks, auditor, manager, employee
):
    c = login(compliance_officer)
    everyone_else = [world["dave"], auditor, manager, employee]
    cases = [
        ("riverside", [world["ann"], world["ben"]], [world["cara"], *everyone_else], "Lakeside Clinic"),
        ("lakeside", [world["ann"], world["cara"]], [world["ben"], *everyone_else], "Riverside Clinic"),
    ]
    for key, inside, outside, other_client in cases:
        target = world[key]
        pack = _pack(c, c, django_capture_on_commit_callbacks, target)
        result = verify_bundle(io.BytesIO(pack))
        assert result.ok, result.problems
        texts = _every_file(pack)
        assert "csv/audit_events.csv" not in texts  # it names the whole workforce
        assert "report/training_report.pdf" in texts
        assert any(n.startswith("certificates/") for n in texts)
        squashed = {name: _squash(text) for name, text in texts.items()}
        for name, text in squashed.items():
            assert _squash(other_client) not in text, f"{other_client} named in {target.name}'s {name}"
            for needle in _who(outside):
                assert _squash(needle) not in text, f"{needle} appears in {target.name}'s {name}"
        for needle in _who(inside):
            assert _squash(needle) in squashed["people.csv"], needle
            assert _squash(needle) in squashed["csv/training_records.csv"], needle
            assert _squash(needle) in squashed["report/training_report.pdf"], needle
        certificates = [n for n in texts if n.startswith("certificates/")]
        assert len(certificates) == len(inside)  # theirs only
        # The client's name on every page of the report (running header and footer).
        with zipfile.ZipFile(io.BytesIO(pack)) as zf:
            pages = PdfReader(io.BytesIO(zf.read("report/training_report.pdf"))).pages
        assert len(pages) >= 2
        for number, page in enumerate(pages, 1):
            assert _squash(target.name) in _squash(page.extract_text()), f"page {number} lacks {target.name}"


def test_the_pack_period_defaults_to_the_baa_date_and_the_people_who_worked_in_it(world):
    riverside = world["riverside"]
    start, end = client_period(riverside)
    assert start == riverside.baa_effective_on
    assert end == today()
    # Earlier than the BAA is clamped to it; later than today to today.
    assert client_period(riverside, dt.date(2000, 1, 1), today() + dt.timedelta(days=9)) == (start, end)
    # Before anyone worked the accounts (30 days ago), the pack holds nobody.
    early = client_filters(riverside, start, today() - dt.timedelta(days=31))
    assert client_report_context(riverside, early)["worked"] == []


def test_the_client_module_is_in_the_riverside_pack(
    world, login, compliance_officer, django_capture_on_commit_callbacks
):
    ann = world["ann"]
    assert ann.assignments.filter(course__slug="leadership-oversight", reason=Assignment.CLIENT).exists()
    pack = _pack(login(compliance_officer), None, django_capture_on_commit_callbacks, world["riverside"])
    texts = _every_file(pack)
    assert "Leadership" in texts["client_requirements.csv"]
    assert "Riverside Clinic" in texts["manifest.json"]
    # The report's should-vs-was section says the client's own modules are not in it, and where they are.
    assert _squash("are not part of this comparison") in _squash(texts["report/training_report.pdf"])


def test_the_pack_report_reads_a_fixed_number_of_queries(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    riverside = world["riverside"]
    filters = client_filters(riverside)
    with CaptureQueriesContext(connection) as small:
        assert len(client_report_context(riverside, filters)["worked"]) == 2
    for i in range(6):
        person(f"more{i}@example.test", f"More Person {i}", "billing", "Claims Team", hired=today())
    with CaptureQueriesContext(connection) as large:
        assert len(client_report_context(riverside, filters)["worked"]) == 8
    assert len(large) == len(small)


def test_the_pack_page_checks_who_asks(client, login, world, employee, auditor):
    url = reverse("records:client_pack", args=[world["riverside"].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response.url
    assert login(employee).get(url).status_code == 403
    assert login(auditor).get(url).status_code == 403


def test_a_bad_period_is_refused_and_nothing_is_queued(login, compliance_officer, world):
    url = reverse("records:client_pack", args=[world["riverside"].pk])
    c = login(compliance_officer)
    for data, message in (
        ({"start": "2026-02-30"}, "Enter a valid date"),
        ({"end": "2999-01-01"}, "Choose today or a day in the past"),
        ({"start": "1999-01-01"}, "Choose a day from"),
        ({"start": today().isoformat(), "end": (today() - dt.timedelta(days=3)).isoformat()}, "is after its end"),
    ):
        response = c.post(url, data)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not ReportJob.objects.exists()
    assert c.get(url).status_code == 200


def test_a_pack_report_in_several_chunks_names_the_client_and_numbers_every_page(world):
    """The client's report rendered one person a chunk (records/documents/parts.py): the margin boxes drawn over
    the merged pages still carry the client's header, its name in the footer and "page N of M" on every page."""
    import re

    from records.documents.client_pack import write_client_report

    riverside = world["riverside"]
    out = io.BytesIO()
    write_client_report(riverside, client_filters(riverside), out, chunk_people=1)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages]
    assert len(pages) >= 5  # the front, then each of the 2 people alone in each per-person section
    for number, text in enumerate(pages, 1):
        assert "Riverside Clinic · client evidence pack" in text, number
        assert "Client: Riverside Clinic" in text, number
        assert re.findall(r"page (\d+) of (\d+)", text) == [(str(number), str(len(pages)))]
    assert "Transcripts, continued: people 2 to 2 of 2." in "\n".join(pages)
