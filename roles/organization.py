"""The organisation's name and logo, as certificates, reports, e-mails and pages show them: data the
compliance officer changes at /dashboard/settings/ (ORGANIZATION_NAME is only the default)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from hipaa_training import audit

from .models import Organization, User

LOGO_FORMATS = {"PNG": "PNG", "JPEG": "JPEG"}
LOGO_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
MIN_SIDE, MAX_SIDE = 16, 4000
MAX_OUTPUT_SIDE = 800  # what a certificate needs; larger logos are scaled down


def logo_max_bytes() -> int:
    return int(getattr(settings, "ORGANIZATION_LOGO_MAX_BYTES", 1024 * 1024))


def organization_name() -> str:
    """The name on certificates and reports: the officer's, or the ORGANIZATION_NAME setting."""
    name = Organization.objects.filter(pk=1).values_list("name", flat=True).first()
    return name or settings.ORGANIZATION_NAME


def organization_logo_uri() -> str:
    """The logo as a data: URI for the PDF renderer, or "" when there is none."""
    org = Organization.objects.filter(pk=1).only("logo", "logo_type").first()
    return org.logo_data_uri() if org else ""


@dataclass(frozen=True)
class Logo:
    png: bytes
    width: int
    height: int


def logo_read(content: bytes, filename: str) -> Logo:
    """Check an uploaded logo (type, size, a real image) and re-encode it as a clean PNG: what is stored was
    drawn by Pillow, so no metadata, script or trailing payload of the upload survives."""
    from PIL import Image, UnidentifiedImageError

    limit = logo_max_bytes()
    if len(content) > limit:
        raise ValidationError(f"The logo is {len(content):,} bytes; the limit is {limit:,} bytes.")
    if not content:
        raise ValidationError("The file is empty.")
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in LOGO_EXTENSIONS:
        raise ValidationError("Upload a PNG or JPEG image (.png, .jpg or .jpeg).")
    try:
        with Image.open(io.BytesIO(content)) as probe:
            kind = probe.format
            probe.verify()  # a truncated or corrupt file fails here
        with Image.open(io.BytesIO(content)) as image:
            if kind not in LOGO_FORMATS:
                raise ValidationError(f"The file is a {kind} image; upload a PNG or JPEG.")
            if LOGO_EXTENSIONS[extension] != kind:
                raise ValidationError(f"The file is named {extension} but is a {kind} image; rename or re-save it.")
            width, height = image.size
            if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
                raise ValidationError(
                    f"The image is {width}×{height} pixels; use one from {MIN_SIDE} to {MAX_SIDE} pixels a side."
                )
            image.load()
            clean = image.convert("RGBA")
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError("The file is not a readable image; upload a PNG or JPEG.") from None
    clean.thumbnail((MAX_OUTPUT_SIDE, MAX_OUTPUT_SIDE))
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return Logo(png=out.getvalue(), width=clean.width, height=clean.height)


def organization_update(
    *, actor: User | None, name: str | None = None, logo: Logo | None = None, remove_logo: bool = False
) -> Organization:
    """Change the name or logo on certificates and reports (a settings change: audited, before and after)."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().get_or_create(pk=1)[0]
        changed: dict[str, object] = {}
        if name is not None:
            name = " ".join(name.split())
            if not name:
                raise ValidationError({"name": "Give the organisation's name."})
            if name != org.display_name:
                changed["name"] = {"from": org.display_name, "to": name}
                org.name = name
        if logo is not None:
            digest = hashlib.sha256(logo.png).hexdigest()
            if digest != org.logo_sha256:
                changed["logo"] = {"from": org.logo_sha256 or None, "to": digest}
                org.logo, org.logo_type, org.logo_sha256 = logo.png, "image/png", digest
        elif remove_logo and org.logo_sha256:
            changed["logo"] = {"from": org.logo_sha256, "to": None}
            org.logo, org.logo_type, org.logo_sha256 = b"", "", ""
        if changed:
            org.updated_at, org.updated_by = timezone.now(), actor
            org.full_clean()
            org.save()
            audit.record("organization.changed", actor=actor, subject=org, data=changed)
    return org
