"""Workforce import from a CSV file: parse and preview without writing, then apply exactly what was previewed,
atomically, through roles.services (so invitations go out and the assignment engine runs).

Columns: email, full_name, workforce_role, department, manager_email, hire_date, status.
A blank cell means "none" for department, manager and hire date; status is active (default) or terminated.
People not in the file are left as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from hipaa_training import audit

from . import services
from .models import Department, User, WorkforceImport, WorkforceRole
from .validators import hire_date_problem

COLUMNS = ["email", "full_name", "workforce_role", "department", "manager_email", "hire_date", "status"]
ALIASES = {
    "e_mail": "email",
    "email_address": "email",
    "name": "full_name",
    "full_name": "full_name",
    "role": "workforce_role",
    "manager": "manager_email",
    "manager_e_mail": "manager_email",
    "managers_e_mail": "manager_email",
    "managers_email": "manager_email",
}
ACTIVE = {"", "active", "employed", "current"}
TERMINATED = {"terminated", "inactive", "left", "leaver"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


def max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 2 * 1024 * 1024))


class ImportRejected(Exception):
    """The import cannot be applied; nothing was changed."""


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Row:
    line: int
    email: str
    full_name: str
    role: WorkforceRole | None
    department: str
    manager_email: str
    hire_date: dt.date | None
    terminated: bool


@dataclass
class Change:
    """One person to create, update, deactivate or reactivate, and what changes (field -> (before, after))."""

    action: str
    line: int
    email: str
    full_name: str
    person: User | None = None
    row: Row | None = None
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def key(self) -> dict[str, Any]:
        return {"action": self.action, "email": self.email, "changes": sorted(self.changes.items())}


@dataclass
class ImportPlan:
    filename: str = ""
    sha256: str = ""
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    create: list[Change] = field(default_factory=list)
    update: list[Change] = field(default_factory=list)
    deactivate: list[Change] = field(default_factory=list)
    reactivate: list[Change] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    unchanged: int = 0
    new_departments: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def has_changes(self) -> bool:
        return bool(self.create or self.update or self.deactivate or self.reactivate or self.new_departments)

    def digest(self) -> str:
        """SHA-256 of what applying would do: apply refuses if the workforce changed since the preview."""
        body = {
            "sha256": self.sha256,
            "departments": sorted(self.new_departments),
            **{
                name: [c.key() for c in getattr(self, name)]
                for name in ("create", "update", "deactivate", "reactivate")
            },
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": len(self.create),
            "updated": len(self.update),
            "deactivated": len(self.deactivate),
            "reactivated": len(self.reactivate),
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "departments_created": len(self.new_departments),
        }


def _header_key(cell: str) -> str:
    key = "".join(ch if ch.isalnum() else "_" for ch in cell.strip().lower().replace("'", "")).strip("_")
    while "__" in key:
        key = key.replace("__", "_")
    return ALIASES.get(key, key)


def _parse_date(text: str) -> dt.date:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _decode(content: bytes, plan: ImportPlan) -> str | None:
    if not content.strip():
        plan.problems.append(Problem(None, "The file is empty."))
        return None
    if b"\x00" in content[:8192]:
        plan.problems.append(
            Problem(None, "This is not a CSV file (it contains binary data). Save it as CSV and upload it again.")
        )
        return None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        plan.problems.append(
            Problem(
                None,
                f"The file is not UTF-8 text (byte 0x{content[exc.start]:02x} on line {line}). "
                "Save it as 'CSV UTF-8' and upload it again.",
            )
        )
        return None


def _read_header(reader: Iterator[list[str]], plan: ImportPlan) -> list[str] | None:
    """The header's column keys, or None (with the problem on the plan) when it cannot be used."""
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        plan.problems.append(Problem(None, f"This is not a CSV file the import can read ({exc})."))
        return None
    keys = [_header_key(c) for c in header]
    missing = [c for c in COLUMNS if c not in keys]
    if missing:
        plan.problems.append(
            Problem(
                1,
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
                f"The first line must name the columns {', '.join(COLUMNS)}.",
            )
        )
        return None
    return keys


def _shape_problems(line: int, keys: list[str], cells: list[str]) -> list[Problem]:
    """A line with the wrong number of cells, or with cells a spreadsheet would run as formulas."""
    if len(cells) != len(keys):
        return [Problem(line, f"{len(cells)} cells, but the header names {len(keys)} columns.")]
    return [
        Problem(line, f"{keys[i]} begins with {c[0]!r}; a cell a spreadsheet would run as a formula is refused.")
        for i, c in enumerate(cells)
        if c.startswith(FORMULA_START)
    ]


def _read_person(
    line: int, value: dict[str, str], seen: dict[str, int], roles: dict[str, WorkforceRole]
) -> tuple[Row | None, list[str]]:
    """One line's person, or the reasons it cannot be imported. `seen` maps e-mails to their first line."""
    errors: list[str] = []
    email = value["email"].lower()
    try:
        validate_email(email)
    except ValidationError:
        errors.append(f"{value['email'] or '(blank)'!s} is not a valid e-mail address.")
    if email in seen:
        errors.append(f"duplicate e-mail {email}, also on line {seen[email]}.")
    elif email:
        seen[email] = line
    if not value["full_name"]:
        errors.append("full_name is blank.")
    status = value["status"].lower()
    if status not in ACTIVE | TERMINATED:
        errors.append(f"unknown status {value['status']!r} (use active or terminated).")
    role = roles.get(value["workforce_role"].lower())
    if value["workforce_role"] and role is None:
        errors.append(
            f"unknown workforce role {value['workforce_role']!r} (known: {', '.join(sorted(_slugs(roles)))})."
        )
    elif role is None and status not in TERMINATED:
        errors.append("workforce_role is blank; an active person needs one.")
    elif role is not None and role.retired_at is not None and status not in TERMINATED:
        errors.append(f"workforce role {role.name!r} is retired; choose another role.")
    hire_date = None
    if value["hire_date"]:
        try:
            hire_date = _parse_date(value["hire_date"])
        except ValueError:
            errors.append(f"hire_date {value['hire_date']!r} is not a date (use YYYY-MM-DD).")
        else:
            problem = hire_date_problem(hire_date)
            if problem:
                errors.append(f"hire_date {value['hire_date']}: {problem}")
    if value["manager_email"].lower() == email and email:
        errors.append("a person cannot be their own manager.")
    if errors:
        return None, errors
    row = Row(
        line=line,
        email=email,
        full_name=value["full_name"],
        role=role,
        department=value["department"],
        manager_email=value["manager_email"].lower(),
        hire_date=hire_date,
        terminated=status in TERMINATED,
    )
    return row, []


def _read_rows(text: str, plan: ImportPlan, roles: dict[str, WorkforceRole]) -> list[Row]:
    """Every person the file names, with a problem on the plan for each line that cannot be imported."""
    reader = csv.reader(io.StringIO(text, newline=""))
    keys = _read_header(reader, plan)
    if keys is None:
        return []
    index = {c: keys.index(c) for c in COLUMNS}
    rows: list[Row] = []
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            plan.problems.append(Problem(reader.line_num, f"this line cannot be read as CSV ({exc})."))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        plan.rows += 1
        shape = _shape_problems(line, keys, cells)
        if shape:
            plan.problems += shape
            continue
        row, errors = _read_person(line, {c: cells[index[c]].strip() for c in COLUMNS}, seen, roles)
        plan.problems += [Problem(line, e) for e in errors]
        if row is not None:
            rows.append(row)
    if plan.rows == 0 and not plan.problems:
        plan.problems.append(Problem(None, "The file has a header but no people."))
    return rows


def _slugs(roles: dict[str, WorkforceRole]) -> set[str]:
    return {r.slug for r in roles.values()}


def _label(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, User):
        return value.email
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def import_plan(
    *, content: bytes, filename: str = "", actor: User | None = None, size: int | None = None
) -> ImportPlan:
    """What importing `content` would do, and every problem with its line; writes nothing."""
    plan = ImportPlan(filename=filename, sha256=hashlib.sha256(content).hexdigest())
    size = max(size or 0, len(content))
    if size > max_bytes():
        plan.problems.append(
            Problem(
                None, f"The file is {size:,} bytes; the limit is {max_bytes():,} bytes. Split it and upload each part."
            )
        )
        return plan
    text = _decode(content, plan)
    if text is None:
        return plan
    roles: dict[str, WorkforceRole] = {}
    for role in WorkforceRole.objects.all():
        roles[role.slug.lower()] = role
        roles[role.name.lower()] = role
    rows = _read_rows(text, plan, roles)
    emails = {r.email for r in rows}
    managers_wanted = {r.manager_email for r in rows if r.manager_email} - emails
    people = {
        p.email: p
        for p in User.objects.filter(email__in=emails | managers_wanted).select_related(
            "workforce_role", "department", "manager"
        )
    }
    departments = {d.name.lower(): d for d in Department.objects.all()}
    in_file_active = {r.email for r in rows if not r.terminated}
    new_departments: dict[str, str] = {}
    for row in rows:
        if row.manager_email and row.manager_email not in people and row.manager_email not in in_file_active:
            plan.problems.append(
                Problem(row.line, f"manager {row.manager_email} is not in the workforce or in this file.")
            )
            continue
        if row.department and row.department.lower() not in departments:
            new_departments.setdefault(row.department.lower(), row.department)
        elif row.department and departments[row.department.lower()].retired_at and not row.terminated:
            plan.problems.append(Problem(row.line, f"department {row.department!r} is retired; choose another."))
            continue
        person = people.get(row.email)
        if actor is not None and person is not None and person.pk == actor.pk and row.terminated:
            plan.problems.append(Problem(row.line, "you cannot deactivate your own account in an import."))
            continue
        _plan_row(plan, row, person, people, departments)
    plan.problems += _manager_cycles(rows)
    plan.new_departments = sorted(new_departments.values())
    return plan


def _manager_cycles(rows: list[Row]) -> list[Problem]:
    """Loops of managers the file would make (A manages B, B manages A; or longer), counting the managers of
    people the file does not name as they are now. One problem per line of the file in a loop."""
    in_file = {r.email: r for r in rows}
    current = dict(User.objects.filter(manager__isnull=False).values_list("email", "manager__email"))

    def manager_of(email: str) -> str | None:
        row = in_file.get(email)
        if row is not None:
            return row.manager_email or None
        return current.get(email)

    problems: list[Problem] = []
    done: set[str] = set()
    for start in in_file:
        path: list[str] = []
        on_path: dict[str, int] = {}
        email: str | None = start
        while email is not None and email not in done and email not in on_path:
            on_path[email] = len(path)
            path.append(email)
            email = manager_of(email)
        if email is not None and email in on_path:
            loop = path[on_path[email] :]
            lines = sorted(in_file[e].line for e in loop if e in in_file)
            shown = " -> ".join([*loop, loop[0]])
            where = ", ".join(str(n) for n in lines)
            for e in loop:
                if e in in_file:
                    problems.append(
                        Problem(
                            in_file[e].line,
                            f"managers form a loop: {shown} (each is managed by the next; lines {where}). "
                            "Someone in the loop must have a manager outside it, or none.",
                        )
                    )
        done.update(path)
    return sorted(problems, key=lambda p: p.line or 0)


def _plan_row(
    plan: ImportPlan, row: Row, person: User | None, people: dict[str, User], departments: dict[str, Department]
) -> None:
    if person is None:
        target = plan.skipped if row.terminated else plan.create
        target.append(Change("create" if not row.terminated else "skip", row.line, row.email, row.full_name, row=row))
        return
    if row.terminated:
        if person.is_active and person.terminated_on is None:
            plan.deactivate.append(Change("deactivate", row.line, row.email, row.full_name, person=person, row=row))
        else:
            plan.unchanged += 1
        return
    department = departments.get(row.department.lower()) if row.department else None
    wanted = {
        "full_name": row.full_name,
        "workforce_role": row.role,
        "department": department.name if department else (row.department or None),
        "manager": row.manager_email or None,
        "hire_date": row.hire_date,
    }
    current = {
        "full_name": person.full_name,
        "workforce_role": person.workforce_role,
        "department": person.department.name if person.department else None,
        "manager": person.manager.email if person.manager else None,
        "hire_date": person.hire_date,
    }
    changes = {k: (_label(current[k]), _label(wanted[k])) for k in wanted if current[k] != wanted[k]}
    change = Change("update", row.line, row.email, row.full_name, person=person, row=row, changes=changes)
    if not person.is_active or person.terminated_on is not None:
        change.action = "reactivate"
        plan.reactivate.append(change)
    elif changes:
        plan.update.append(change)
    else:
        plan.unchanged += 1


def workforce_import_upload(
    *, content: bytes, filename: str, actor: User, size: int | None = None
) -> tuple[ImportPlan, WorkforceImport | None]:
    """Keep an uploaded file for its preview (only one that can be applied), and audit the upload."""
    plan = import_plan(content=content, filename=filename, actor=actor, size=size)
    with transaction.atomic():
        upload = None
        if plan.ok:
            upload = WorkforceImport.objects.create(
                uploaded_by=actor,
                filename=filename[:255],
                content=content,
                sha256=plan.sha256,
                plan_sha256=plan.digest(),
            )
        audit.record(
            "workforce.import_previewed",
            actor=actor,
            subject=upload,
            data={"file": filename[:255], "sha256": plan.sha256, "problems": len(plan.problems), **plan.counts()},
        )
    return plan, upload


def workforce_import_apply(*, upload_id: int, plan_sha256: str, actor: User) -> ImportPlan:
    """Apply a previewed import in one transaction: all of it or none of it (45 CFR 164.530(b)(2)(i)(B):
    new members are assigned their training and invited; leavers' open assignments end, records stay)."""
    with transaction.atomic():
        upload = WorkforceImport.objects.select_for_update().filter(pk=upload_id, uploaded_by=actor).first()
        if upload is None:
            raise ImportRejected("That import was not found. Upload the file again.")
        if upload.applied_at is not None:
            raise ImportRejected(
                f"This file was already applied at {timezone.localtime(upload.applied_at):%Y-%m-%d %H:%M}."
            )
        content = bytes(upload.content)
        if hashlib.sha256(content).hexdigest() != upload.sha256:
            raise ImportRejected("The stored file does not match its checksum. Upload it again.")
        plan = import_plan(content=content, filename=upload.filename, actor=actor)
        if not plan.ok:
            raise ImportRejected(
                "The file no longer passes the checks: " + "; ".join(str(p) for p in plan.problems[:5])
            )
        if plan.digest() != plan_sha256 or plan_sha256 != upload.plan_sha256:
            raise ImportRejected("The workforce changed since the preview. Review the new preview before applying.")
        # The events of every row are appended together at the end: the audit chain's lock is held for the
        # last moments of the transaction, not for the whole import (sign-ins go on meanwhile).
        with audit.deferred():
            try:
                _apply(plan, actor)
            except ValidationError as exc:  # a rule of the services (a manager loop, say): nothing is applied
                raise ImportRejected("; ".join(exc.messages)) from exc
            upload.applied_at = timezone.now()
            upload.result = plan.counts()
            upload.save(update_fields=["applied_at", "result"])
            audit.record(
                "workforce.imported",
                actor=actor,
                subject=upload,
                data={"file": upload.filename, "sha256": upload.sha256, **plan.counts()},
            )
    return plan


def _apply(plan: ImportPlan, actor: User) -> None:
    departments = {d.name.lower(): d for d in Department.objects.all()}
    for name in plan.new_departments:
        department = Department(name=name)
        department.full_clean()
        department.save()
        departments[name.lower()] = department
        audit.record("department.created", actor=actor, subject=department, data={"name": name, "via": "import"})
    people: dict[str, User] = {}
    late_managers: list[tuple[User, str]] = []

    def manager_for(email: str) -> User | None:
        if not email:
            return None
        return people.get(email) or User.objects.filter(email=email).first()

    def department_for(row: Row) -> Department | None:
        return departments[row.department.lower()] if row.department else None

    for change in plan.create:
        row = change.row
        assert row is not None
        manager = manager_for(row.manager_email)
        person = services.person_create(
            email=row.email,
            full_name=row.full_name,
            actor=actor,
            workforce_role=row.role,
            department=department_for(row),
            manager=manager,
            hire_date=row.hire_date,
            invite=True,
        )
        people[row.email] = person
        if row.manager_email and manager is None:
            late_managers.append((person, row.manager_email))
    for person, email in late_managers:
        services.person_update(person=person, actor=actor, manager=manager_for(email))
    for change in plan.reactivate:
        assert change.person is not None
        services.person_reactivate(person=change.person, actor=actor)
    for change in [*plan.update, *plan.reactivate]:
        assert change.row is not None and change.person is not None
        row, person = change.row, change.person
        person.refresh_from_db()
        wanted = {
            "full_name": row.full_name,
            "workforce_role": row.role,
            "department": department_for(row),
            "manager": manager_for(row.manager_email),
            "hire_date": row.hire_date,
        }
        diff: dict[str, Any] = {k: v for k, v in wanted.items() if getattr(person, k) != v}
        if diff:
            services.person_update(person=person, actor=actor, **diff)
    for change in plan.deactivate:
        assert change.person is not None
        services.person_deactivate(person=change.person, actor=actor)
