"""A course version as a zip in the catalogue folder format (catalog/FORMAT.md), and such a zip read back.

An uploaded zip is untrusted: it is refused, naming the file and the problem, when it is not a zip, names a path
outside its folder, holds a link, an encrypted or unknown file, too many members or too many bytes once
uncompressed (read with a limit, whatever its headers claim), or content the publishing rules refuse.
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
import zipfile

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from hipaa_training import audit

from .models import CourseVersion
from .publishing import MAX_FILE_BYTES, CatalogError, Content, course_files, parse_files, version_content

MAX_MEMBERS = 200
MAX_TOTAL_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_KNOWN = re.compile(r"^(course\.toml|questions\.toml|lessons/[^/]+\.md)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # the same content gives the same zip, byte for byte


def content_zip(slug: str, content: Content) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(course_files(content).items()):
            info = zipfile.ZipInfo(f"{slug}/{name}", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def version_zip(version: CourseVersion) -> bytes:
    return content_zip(version.course.slug, version_content(version))


def version_download(*, version: CourseVersion, actor: AbstractBaseUser | None) -> bytes:
    """The version's zip for a person, the download audited (the zip's SHA-256 names what left)."""
    data = version_zip(version)
    with transaction.atomic():
        audit.record(
            "catalog.version_downloaded",
            actor=actor,
            subject=version,
            data={
                "course": version.course.slug,
                "number": version.number,
                "zip_sha256": hashlib.sha256(data).hexdigest(),
            },
        )
    return data


def _safe_name(name: str) -> str | None:
    """Why a member name is refused, or None."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return "an absolute or Windows path"
    if any(part in ("..", ".") for part in name.split("/")):
        return "a path that climbs out of its folder ('..')"
    return None


def read_zip(data: bytes) -> tuple[str, Content]:
    """The slug and the content of an uploaded course zip; CatalogError naming the file and the problem."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CatalogError(f"the upload is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise CatalogError("the upload is not a zip file") from None
    if len(members) > MAX_MEMBERS:
        raise CatalogError(f"the zip holds {len(members)} members, more than {MAX_MEMBERS}")
    names = [m.filename for m in members]
    for member in members:
        problem = _safe_name(member.filename)
        if problem:
            raise CatalogError(f"{member.filename}: {problem} is not allowed in a course zip")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise CatalogError(f"{member.filename}: links are not allowed in a course zip")
        if member.flag_bits & 0x1:
            raise CatalogError(f"{member.filename}: encrypted files are not allowed")
    files_only = [m for m in members if not m.is_dir()]
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    at_top = [m.filename for m in files_only if "/" not in m.filename]
    if len(tops) != 1 or at_top:
        raise CatalogError("the zip must hold one folder, named for the course's slug, with the course's files in it")
    slug = tops.pop()
    if not _SLUG.match(slug):
        raise CatalogError(f"{slug}/: the folder's name must be a slug (lower-case letters, digits, hyphens)")
    if len(set(names)) != len(names):
        raise CatalogError("the zip names one file twice")
    files: dict[str, bytes] = {}
    total = 0
    for member in files_only:
        relative = member.filename[len(slug) + 1 :]
        if not _KNOWN.match(relative):
            raise CatalogError(
                f"{member.filename}: not a file of the course format (course.toml, questions.toml, lessons/*.md)"
            )
        try:
            with archive.open(member) as handle:
                content = handle.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError):
            raise CatalogError(f"{member.filename}: cannot be read from the zip") from None
        if len(content) > MAX_FILE_BYTES:
            raise CatalogError(f"{member.filename}: over {MAX_FILE_BYTES // 1024} KB once uncompressed")
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise CatalogError(f"{member.filename}: the zip is over {MAX_TOTAL_BYTES // (1024 * 1024)} MB uncompressed")
        files[relative] = content
    return slug, parse_files(files, where=f"{slug}/")
