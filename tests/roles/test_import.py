"""Workforce import: upload -> preview (nothing written) -> apply (all or nothing), through the services."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hipaa_training.models import AuditEvent
from roles import imports
from roles.models import Assignment, Department, User, WorkforceImport

pytestmark = pytest.mark.usefixtures("catalog")

HEADER = "email,full_name,workforce_role,department,manager_email,hire_date,status\n"


def upload(client, text: str | bytes, name: str = "workforce.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("roles:import"), {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def apply(client, response):
    form = response.context["apply_form"]
    return client.post(
        reverse("roles:import_apply"),
        {"upload": form.initial["upload"], "plan": form.initial["plan"]},
        follow=True,
    )


def test_import_needs_a_login(client):
    response = client.get(reverse("roles:import"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("persona", ["employee", "manager", "auditor"])
def test_only_a_compliance_officer_may_import(request, login, persona):
    client = login(request.getfixturevalue(persona))
    assert client.get(reverse("roles:import")).status_code == 403
    assert upload(client, HEADER).status_code == 403


def test_the_officer_sees_the_upload_form(login, compliance_officer):
    response = login(compliance_officer).get(reverse("roles:import"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Import the workforce" in html and 'type="file"' in html and "manager_email" in html


@pytest.fixture
def csv_text(employee, manager):
    return (
        HEADER
        + "nora.new@example.test,Nora New,intake,Patient Services,boss.new@example.test,2026-01-05,active\n"
        + "boss.new@example.test,Bo Boss,executive,Executive Office,,2020-03-01,active\n"
        + f"{employee.email},Billie Biller,it,Technology,{manager.email},,active\n"
        + f"{manager.email},Morgan Manager,billing,Billing Operations,,,terminated\n"
    )


def test_preview_shows_what_will_change_and_writes_nothing(login, compliance_officer, csv_text, employee, manager):
    before = (User.objects.count(), Assignment.objects.count(), Department.objects.count())
    response = upload(login(compliance_officer), csv_text)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert [c.email for c in plan.create] == ["nora.new@example.test", "boss.new@example.test"]
    assert [c.email for c in plan.update] == [employee.email]
    assert plan.update[0].changes["workforce_role"] == ("Billing and revenue cycle", "IT and technical")
    assert [c.email for c in plan.deactivate] == [manager.email]
    assert plan.new_departments == ["Executive Office", "Patient Services", "Technology"]
    html = response.content.decode()
    assert "2 to add" in html and "1 to update" in html and "1 to deactivate" in html
    assert "Apply the import" in html
    assert (User.objects.count(), Assignment.objects.count(), Department.objects.count()) == before
    assert manager.reports.exists()


def test_apply_creates_invites_changes_roles_and_deactivates(
    login, compliance_officer, csv_text, employee, manager, django_capture_on_commit_callbacks
):
    client = login(compliance_officer)
    preview = upload(client, csv_text)
    with django_capture_on_commit_callbacks(execute=True):
        response = apply(client, preview)
    assert "2 added (invited), 1 updated, 1 deactivated" in response.content.decode()

    nora = User.objects.get(email="nora.new@example.test")
    assert nora.manager.email == "boss.new@example.test" and nora.department.name == "Patient Services"
    assert str(nora.hire_date) == "2026-01-05"
    assert set(Assignment.objects.filter(user=nora).values_list("course__slug", flat=True)) == {
        "security-awareness",
        "privacy-essentials",
        "patient-communication",
    }
    assert sorted(m.to[0] for m in mail.outbox) == ["boss.new@example.test", "nora.new@example.test"]

    employee.refresh_from_db()
    assert employee.workforce_role.slug == "it"
    it_module = Assignment.objects.get(user=employee, course__slug="privileged-access-security")
    assert it_module.reason == Assignment.ROLE_CHANGE
    assert Assignment.objects.get(user=employee, course__slug="billing-privacy").cancelled_at is not None

    manager.refresh_from_db()
    assert not manager.is_active and manager.terminated_on is not None
    assert not Assignment.objects.filter(user=manager).open().exists()

    event = AuditEvent.objects.get(action="workforce.imported")
    assert event.data["created"] == 2 and event.data["deactivated"] == 1 and event.actor_id == compliance_officer.pk
    assert AuditEvent.objects.filter(action="person.role_changed", subject_id=str(employee.pk)).exists()


def test_importing_the_same_file_again_changes_nothing(login, compliance_officer, csv_text):
    client = login(compliance_officer)
    apply(client, upload(client, csv_text))
    people = list(User.objects.order_by("pk").values())
    assignments = list(Assignment.objects.order_by("pk").values())
    again = upload(client, csv_text)
    assert again.status_code == 200
    plan = again.context["plan"]
    assert not plan.has_changes and plan.unchanged == 4
    assert "Nothing to change" in again.content.decode()
    apply(client, again)
    assert list(User.objects.order_by("pk").values()) == people
    assert list(Assignment.objects.order_by("pk").values()) == assignments


def test_apply_refuses_when_the_workforce_changed_since_the_preview(login, compliance_officer, csv_text):
    client = login(compliance_officer)
    preview = upload(client, csv_text)
    User.objects.create_user(email="nora.new@example.test", full_name="Someone Else")
    response = apply(client, preview)
    assert "The workforce changed since the preview" in response.content.decode()
    assert not User.objects.filter(email="boss.new@example.test").exists()
    assert WorkforceImport.objects.get().applied_at is None


def test_apply_is_all_or_nothing(login, compliance_officer, csv_text, monkeypatch):
    preview = upload(login(compliance_officer), csv_text)
    form = preview.context["apply_form"]

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports.services, "person_deactivate", broken)  # the last step of the apply
    with pytest.raises(RuntimeError):
        imports.workforce_import_apply(
            upload_id=form.initial["upload"], plan_sha256=form.initial["plan"], actor=compliance_officer
        )
    assert not User.objects.filter(email__in=["nora.new@example.test", "boss.new@example.test"]).exists()
    assert not Department.objects.filter(name="Technology").exists()
    assert not AuditEvent.objects.filter(action="workforce.imported").exists()


def test_an_applied_file_cannot_be_applied_twice(login, compliance_officer, csv_text):
    client = login(compliance_officer)
    preview = upload(client, csv_text)
    apply(client, preview)
    response = apply(client, preview)
    assert "already applied" in response.content.decode()


# --- bad files: a clear message, with the line, and nothing applied ---

GOOD = "ok@example.test,Olive Ok,billing,Billing Operations,,2025-02-03,active\n"


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param(
            (HEADER + "jose@example.test,José Díaz,billing,,,,active\n").encode("cp1252"),
            "The file is not UTF-8 text (byte 0xe9 on line 2)",
            id="wrong-encoding",
        ),
        pytest.param(
            "email,full_name,status\n" + "a@example.test,A,active\n",
            "missing columns: workforce_role, department, manager_email, hire_date",
            id="missing-columns",
        ),
        pytest.param(
            HEADER + GOOD + "x@example.test,X Y,janitor,,,,active\n",
            "Line 3: unknown workforce role 'janitor'",
            id="unknown-role",
        ),
        pytest.param(
            HEADER + "x@example.test,X Y,billing,,,31/02/2025,active\n",
            "Line 2: hire_date '31/02/2025' is not a date",
            id="bad-date",
        ),
        pytest.param(
            HEADER + GOOD + "OK@example.test,Other Ok,intake,,,,active\n",
            "Line 3: duplicate e-mail ok@example.test, also on line 2.",
            id="duplicate-email",
        ),
        pytest.param(
            HEADER + "x@example.test,X Y,billing,,ghost@example.test,,active\n",
            "Line 2: manager ghost@example.test is not in the workforce or in this file.",
            id="unknown-manager",
        ),
        pytest.param(
            HEADER + GOOD + 'x@example.test,"=HYPERLINK(""http://x"")",billing,,,,active\n',
            "Line 3: full_name begins with '='",
            id="formula-equals",
        ),
        pytest.param(
            HEADER + "x@example.test,+1 Caller,billing,,,,active\n",
            "Line 2: full_name begins with '+'",
            id="formula-plus",
        ),
        pytest.param(
            HEADER + "x@example.test,X Y,billing,-2+3,,,active\n",
            "Line 2: department begins with '-'",
            id="formula-minus",
        ),
        pytest.param(
            HEADER + "x@example.test,@SUM(A1),billing,,,,active\n", "Line 2: full_name begins with '@'", id="formula-at"
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file", id="not-a-csv"),
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "This is not a CSV file", id="xlsx"),
        pytest.param(
            HEADER + "not-an-email,X Y,billing,,,,active\n",
            "Line 2: not-an-email is not a valid e-mail address.",
            id="bad-email",
        ),
        pytest.param(
            HEADER + "x@example.test,X Y,billing,,,,on leave\n", "Line 2: unknown status 'on leave'", id="bad-status"
        ),
        pytest.param(
            HEADER + "x@example.test,X Y,billing,,,1900-01-01,active\n",
            "Line 2: hire_date 1900-01-01: A hire date before 1950 is not plausible.",
            id="implausible-hire-date",
        ),
    ],
)
def test_a_bad_file_gets_a_clear_error_and_nothing_is_applied(login, compliance_officer, content, message):
    before = (User.objects.count(), Department.objects.count(), Assignment.objects.count())
    response = upload(login(compliance_officer), content)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html.replace("&#x27;", "'"), html[html.find("import-problems") :][:600]
    assert "nothing will be imported" in html and "Apply the import" not in html
    assert (User.objects.count(), Department.objects.count(), Assignment.objects.count()) == before
    assert not WorkforceImport.objects.exists()
    assert AuditEvent.objects.filter(action="workforce.import_previewed").count() == 1


def test_a_file_over_the_size_limit_is_refused(login, compliance_officer, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response = upload(login(compliance_officer), HEADER + GOOD * 40)
    assert response.status_code == 400
    assert "the limit is 1,000 bytes" in response.content.decode()
    assert not User.objects.filter(email="ok@example.test").exists()


def test_every_problem_of_a_file_is_listed_with_its_line(login, compliance_officer):
    text = HEADER + "a@example.test,A A,nope,,,,active\n" + "b@example.test,B B,billing,,,2025-13-01,active\n"
    response = upload(login(compliance_officer), text)
    problems = [str(p) for p in response.context["plan"].problems]
    assert problems[0].startswith("Line 2: unknown workforce role") and problems[1].startswith("Line 3: hire_date")


def test_an_empty_file_gets_a_message(login, compliance_officer):
    response = upload(login(compliance_officer), "")
    assert response.status_code == 400 and "The submitted file is empty." in response.content.decode()
    assert not WorkforceImport.objects.exists()


def test_no_file_chosen_gets_a_message(login, compliance_officer):
    response = login(compliance_officer).post(reverse("roles:import"), {})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


# --- manager loops and implausible dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines, loop_lines",
    [
        (
            [
                "ann@example.test,Ann A,billing,,bob@example.test,,active",
                "bob@example.test,Bob B,billing,,ann@example.test,,active",
            ],
            [2, 3],
        ),
        (
            [
                "ann@example.test,Ann A,billing,,bob@example.test,,active",
                "cat@example.test,Cat C,billing,,,,active",
                "bob@example.test,Bob B,billing,,dan@example.test,,active",
                "dan@example.test,Dan D,billing,,ann@example.test,,active",
            ],
            [2, 4, 5],
        ),
    ],
    ids=["two people", "three people"],
)
def test_a_manager_loop_is_refused_with_its_lines(login, compliance_officer, lines, loop_lines):
    response = upload(login(compliance_officer), HEADER + "\n".join(lines) + "\n")
    html = response.content.decode()
    for line in loop_lines:
        assert f"Line {line}: managers form a loop" in html
    assert html.count("managers form a loop") == len(loop_lines)  # Cat, outside the loop, is not named
    assert not WorkforceImport.objects.exists()
    assert not User.objects.filter(email__in=["ann@example.test", "bob@example.test"]).exists()


def test_a_loop_through_someone_outside_the_file_is_refused(login, compliance_officer, employee, manager):
    # Today: the employee's manager is `manager`. The file makes the employee manage `manager`.
    text = HEADER + f"{manager.email},Morgan Manager,billing,,{employee.email},,active\n"
    plan = imports.import_plan(content=text.encode())
    assert [str(p) for p in plan.problems] == [
        f"Line 2: managers form a loop: {manager.email} -> {employee.email} -> {manager.email} (each is managed "
        "by the next; lines 2). Someone in the loop must have a manager outside it, or none."
    ]


@pytest.mark.parametrize("hire_date", ["1949-12-31", "0201-01-01", "9999-12-31"])
def test_an_implausible_hire_date_is_refused(login, compliance_officer, hire_date):
    text = HEADER + f"ann@example.test,Ann A,billing,,,{hire_date},active\n"
    response = upload(login(compliance_officer), text)
    assert f"Line 2: hire_date {hire_date}: A hire date" in response.content.decode()
    assert not WorkforceImport.objects.exists()
