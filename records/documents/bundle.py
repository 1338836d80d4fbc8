"""The evidence bundle: one ZIP an auditor can take away and check offline.

Layout:
  README.txt                   how to check it
  manifest.json                SHA-256 and size of every other file, the filters, the audit chain head
  manifest.sha256              SHA-256 of manifest.json (so a change to the manifest itself is named too)
  csv/*.csv                    the exports
  report/training_report.pdf   the PDF training report
  roles/grid.csv               the roles x modules grid (days allowed, recurrence) as configured when built
  roles/grid_changes.csv       every change to roles and requirements from the audit trail: who, what, when
  certificates/<code>.pdf      every certificate issued in the range
  courses/<slug>/v<n>/...      the content of each course version taught: course.json, lessons/*.md, questions.json;
                               folder/ (the catalogue folder whose SHA-256 is the version's content hash, FORMAT.md)
                               and diff.json (what changed since the version before: lessons, questions, statement)
  policies/<slug>/v<n>/...     each policy version acknowledged in the range, and each current one: policy.json and
                               exactly what was acknowledged (policy.md or policy.pdf, whose SHA-256 is content_sha256)
  audit/chain_head.json        the audit chain head and its signed anchor (null until one exists)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone

from courses.diff import VersionDiff
from courses.models import CourseVersion, PolicyVersion
from courses.publishing import course_files, version_content
from hipaa_training import audit
from roles.grid import change_log, grid_rows
from roles.models import Requirement, User
from roles.organization import organization_name

from .. import reports
from ..course_editor import versions_with_diffs
from ..exports import EXPORTS, ExportFilters, _between, csv_chunks
from ..models import AttestationSignature, Certificate, Completion, PolicyAcknowledgement, QuizAttempt
from .report import write_report

MANIFEST = "manifest.json"
MANIFEST_SHA = "manifest.sha256"
FORMAT = "hipaa-training-evidence-bundle/1"


class _HashingWriter:
    """Writes to a ZIP member while hashing what goes in."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)


@dataclass
class _Writer:
    zf: zipfile.ZipFile
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        with self.zf.open(name, "w", force_zip64=True) as handle:
            out = _HashingWriter(handle)
            for chunk in chunks:
                out.write(chunk)
        self.files[name] = {"sha256": out.digest.hexdigest(), "bytes": out.size}

    def add(self, name: str, data: bytes | str) -> None:
        self.add_chunks(name, [data.encode() if isinstance(data, str) else data])


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _versions_taught(filters: ExportFilters) -> list[CourseVersion]:
    """Versions people took in the range, and the versions current for every required course."""
    taken = (
        set(QuizAttempt.objects.filter(_between("submitted_at", filters)).values_list("version_id", flat=True))
        | set(AttestationSignature.objects.filter(_between("signed_at", filters)).values_list("version_id", flat=True))
        | set(Completion.objects.filter(_between("completed_at", filters)).values_list("version_id", flat=True))
    )
    before = reports.end_of_day(filters.upper) if filters.upper else None
    current = CourseVersion.objects.current(published_before=before).filter(
        course_id__in=Requirement.objects.values("course_id")
    )
    wanted = taken | set(current.values_list("pk", flat=True))
    return list(
        CourseVersion.objects.filter(pk__in=wanted)
        .select_related("course")
        .prefetch_related("lessons", "questions__choices")
        .order_by("course__slug", "number")
    )


def _add_course_version(writer: _Writer, version: CourseVersion, diff: VersionDiff | None = None) -> None:
    base = f"courses/{version.course.slug}/v{version.number}"
    for name, data in sorted(course_files(version_content(version)).items()):
        writer.add(f"{base}/folder/{name}", data)
    if diff is not None:
        writer.add(
            f"{base}/diff.json",
            _json({"against_version": version.number - 1 if version.number > 1 else None, **diff.as_dict()}),
        )
    writer.add(
        f"{base}/course.json",
        _json(
            {
                "course": version.course.slug,
                "version": version.number,
                "title": version.title,
                "published_at": version.published_at,
                "content_hash": version.content_hash,
                "material_change": version.material,
                "change_note": version.change_note,
                "regulation": version.regulation,
                "summary": version.summary,
                "audience": version.audience,
                "pass_mark": version.pass_mark,
                "attestation_text": version.attestation_text,
                "attestation_sha256": hashlib.sha256(version.attestation_text.encode()).hexdigest(),
            }
        ),
    )
    for lesson in version.lessons.all():
        writer.add(f"{base}/lessons/{lesson.position:02d}.md", f"# {lesson.title}\n\n{lesson.body_markdown}")
    writer.add(
        f"{base}/questions.json",
        _json(
            [
                {
                    "position": q.position,
                    "prompt": q.prompt,
                    "kind": q.kind,
                    "explanation": q.explanation,
                    "choices": [{"text": c.text, "correct": c.correct} for c in q.choices.all()],
                }
                for q in version.questions.all()
            ]
        ),
    )


def _policy_versions(filters: ExportFilters) -> Iterable[PolicyVersion]:
    """Policy versions acknowledged in the range, and the current version of every policy (one query)."""
    acknowledged = PolicyAcknowledgement.objects.filter(_between("acknowledged_at", filters)).values("version_id")
    before = reports.end_of_day(filters.upper) if filters.upper else None
    current = PolicyVersion.objects.current()
    if before is not None:
        current = current.filter(published_at__lt=before)
    wanted = PolicyVersion.objects.filter(pk__in=acknowledged) | PolicyVersion.objects.filter(
        pk__in=current.values("pk")
    )
    return wanted.select_related("policy").order_by("policy__slug", "number").iterator(chunk_size=50)


def _add_policy_version(writer: _Writer, version: PolicyVersion) -> None:
    base = f"policies/{version.policy.slug}/v{version.number}"
    document = f"{base}/policy.pdf" if version.is_pdf else f"{base}/policy.md"
    writer.add(
        f"{base}/policy.json",
        _json(
            {
                "policy": version.policy.slug,
                "title": version.policy.title,
                "owner": version.policy.owner,
                "version": version.number,
                "published_at": version.published_at,
                "effective_on": version.effective_on,
                "review_on": version.review_on,
                "material_change": version.material,
                "change_note": version.change_note,
                "acknowledge_within_days": version.ack_within_days,
                "document": document.rsplit("/", 1)[1],
                "content_sha256": version.content_sha256,
            }
        ),
    )
    writer.add(document, bytes(version.pdf) if version.is_pdf else version.body_markdown.encode("utf-8"))


def chain_head() -> dict[str, Any]:
    head = audit.head()
    anchor = reports.latest_anchor()
    return {
        "seq": head.seq if head else 0,
        "at": head.at if head else None,
        "hash": head.hash if head else audit.GENESIS_HASH,
        "anchor": anchor,
    }


def build_bundle(filters: ExportFilters, out: IO[bytes], *, requested_by: User | None = None) -> str:
    """Write the evidence bundle to the binary file `out`; returns the manifest's SHA-256."""
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        writer = _Writer(zf)
        for export in EXPORTS.values():
            writer.add_chunks(f"csv/{export.filename}", export.chunks(filters))
        with tempfile.TemporaryFile() as pdf:  # rendered in parts to disk, then streamed into the ZIP
            write_report(filters, pdf, requested_by=requested_by)
            pdf.seek(0)
            writer.add_chunks("report/training_report.pdf", iter(partial(pdf.read, 1 << 20), b""))
        writer.add_chunks("roles/grid.csv", csv_chunks(grid_rows("{days} days, {every}")))
        until = reports.end_of_day(filters.upper) if filters.upper else None
        log = [["seq", "at", "actor", "what"]] + [
            [e.seq, e.at.isoformat(), e.actor, e.what] for e in change_log(until=until)
        ]
        writer.add_chunks("roles/grid_changes.csv", csv_chunks(log))
        certificates = Certificate.objects.filter(_between("issued_at", filters)).order_by("issued_at", "pk")
        for cert in certificates.values("code", "file").iterator(chunk_size=500):
            try:
                with default_storage.open(cert["file"], "rb") as handle:
                    writer.add_chunks(f"certificates/{cert['code']}.pdf", iter(partial(handle.read, 1 << 20), b""))
            except (FileNotFoundError, ValueError):
                missing.append(cert["code"])
        versions = _versions_taught(filters)
        diffs = {v.pk: d for v, d in versions_with_diffs(versions)}
        for version in versions:
            _add_course_version(writer, version, diffs.get(version.pk))
        for policy_version in _policy_versions(filters):
            _add_policy_version(writer, policy_version)
        head = chain_head()
        writer.add("audit/chain_head.json", _json(head))
        writer.add(
            "README.txt",
            render_to_string(
                "records/audit_bundle_readme.txt",
                {"filters": filters, "organization": organization_name(), "head": head},
            ),
        )
        return write_manifest(zf, writer, filters, head=head, missing=missing)


def write_manifest(
    zf: zipfile.ZipFile,
    writer: _Writer,
    filters: ExportFilters,
    *,
    head: Any,
    missing: Any,
    kind: str = FORMAT,
    **extra: Any,
) -> str:
    """manifest.json (its format `kind`, every file's SHA-256 and size, the filters, the chain head; `extra` fields
    after the organisation's name) and manifest.sha256; returns the manifest's SHA-256."""
    manifest = _json(
        {
            "format": kind,
            "organization": organization_name(),
            **extra,
            "generated_at": timezone.now(),
            "filters": filters.as_dict(),
            "chain_head": head,
            "missing_certificates": missing,
            "files": dict(sorted(writer.files.items())),
        }
    ).encode()
    manifest_sha = hashlib.sha256(manifest).hexdigest()
    zf.writestr(MANIFEST, manifest)
    zf.writestr(MANIFEST_SHA, manifest_sha_file(manifest_sha))
    return manifest_sha


def manifest_sha_file(manifest_sha: str) -> str:
    """`sha256sum -c` format, plus a checksum of that line, so a change to this file is told from one to the
    manifest."""
    line = f"{manifest_sha}  {MANIFEST}\n"
    return f"{line}# {hashlib.sha256(line.encode()).hexdigest()}\n"


# --- checking a bundle offline ---


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    manifest_sha256: str = ""
    chain_head: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256_member(zf: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with zf.open(name) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_bundle(path: str | os.PathLike[str] | IO[bytes]) -> Verification:
    """Check every file of a bundle against its manifest. Needs nothing but the ZIP (no database)."""
    result = Verification()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(f"{path}: not a readable ZIP file ({exc})")
        return result
    with zf:
        names = set(zf.namelist())
        for required in (MANIFEST, MANIFEST_SHA):
            if required not in names:
                result.problems.append(f"{required}: missing from the bundle")
        if result.problems:
            return result
        try:
            manifest_bytes = zf.read(MANIFEST)
        except zipfile.BadZipFile as exc:
            result.problems.append(f"{MANIFEST}: cannot be read ({exc})")
            return result
        try:
            recorded = zf.read(MANIFEST_SHA).decode("ascii")
        except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
            recorded = f"unreadable: {exc}"
        result.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        lines = recorded.splitlines()
        if len(lines) != 2 or manifest_sha_file(lines[0].split(" ")[0]) != recorded:
            result.problems.append(f"{MANIFEST_SHA}: does not match (its checksum line is wrong; it was changed)")
        elif lines[0].split(" ")[0] != result.manifest_sha256:
            result.problems.append(
                f"{MANIFEST}: does not match (SHA-256 {result.manifest_sha256}, {MANIFEST_SHA} says {lines[0][:64]})"
            )
        try:
            manifest = json.loads(manifest_bytes)
            files: dict[str, dict[str, Any]] = manifest["files"]
        except (ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"{MANIFEST}: not a valid manifest ({exc})")
            return result
        result.chain_head = manifest.get("chain_head")
        for name, expected in sorted(files.items()):
            if name not in names:
                result.problems.append(f"{name}: listed in the manifest but missing from the bundle")
                continue
            try:
                actual = _sha256_member(zf, name)
            except (zipfile.BadZipFile, OSError) as exc:
                result.problems.append(f"{name}: cannot be read ({exc})")
                continue
            result.checked += 1
            if actual != expected.get("sha256"):
                result.problems.append(
                    f"{name}: does not match (SHA-256 {actual}, manifest says {expected.get('sha256')})"
                )
        for name in sorted(names - set(files) - {MANIFEST, MANIFEST_SHA}):
            result.problems.append(f"{name}: in the bundle but not in the manifest")
        if "audit/chain_head.json" in files and "audit/chain_head.json" in names:
            try:
                stored = json.loads(zf.read("audit/chain_head.json"))
                if result.chain_head is not None and stored.get("hash") != result.chain_head.get("hash"):
                    result.problems.append("audit/chain_head.json: its hash differs from the manifest's chain head")
            except (ValueError, zipfile.BadZipFile):
                pass  # already reported as not matching
    return result
