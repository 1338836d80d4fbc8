"""The organisation's policies and procedures (45 CFR 164.530(i)): written by the compliance officer, published
as immutable versions (Markdown, or an uploaded PDF), each with the SHA-256 of exactly what people acknowledge.

Who must acknowledge a policy is the workforce's business (roles); this module only publishes, and says so with
the `policy_version_published` signal after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from hipaa_training import audit

from .markdown import render_markdown
from .models import Policy, PolicyVersion
from .signals import policy_retired, policy_version_published

MAX_ACK_WITHIN_DAYS = 365
TEMPLATES_DIR = Path(__file__).resolve().parent / "policy_templates"
TEMPLATE_MARK = "Template — adapt before publishing"
RETIRED_MESSAGE = "This policy is retired: it cannot be published again. Add a new policy instead."


@dataclass(frozen=True)
class PolicyTemplate:
    slug: str
    title: str
    body_markdown: str


def policy_templates(folder: Path = TEMPLATES_DIR) -> list[PolicyTemplate]:
    """The starter policies shipped with the product (`policy_templates/*.md`: a `# Title` line, then the text),
    each marked as a template to adapt before publishing."""
    templates = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        first, _, rest = text.partition("\n")
        if not first.startswith("# ") or TEMPLATE_MARK not in rest:
            raise ValueError(f"{path.name}: starts with a '# Title' line and carries the template mark")
        templates.append(PolicyTemplate(path.stem, first[2:].strip(), rest.strip()))
    return templates


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pdf_max_bytes() -> int:
    return int(getattr(settings, "POLICY_PDF_MAX_BYTES", 10 * 1024 * 1024))


def pdf_check(data: bytes) -> None:
    """A real, readable PDF within the size limit, or a ValidationError saying what is wrong."""
    limit = pdf_max_bytes()
    if len(data) > limit:
        raise ValidationError(f"The PDF is larger than {limit // (1024 * 1024)} MB.")
    if not data.startswith(b"%PDF-"):
        raise ValidationError("This file is not a PDF.")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValidationError("The PDF is password-protected: upload it without a password.")
        if len(reader.pages) == 0:
            raise ValidationError("The PDF has no pages.")
    except ValidationError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise ValidationError("The PDF could not be read: it is damaged or not a PDF.") from exc


def policy_create(*, title: str, owner: str, actor: AbstractBaseUser | None) -> Policy:
    """A new policy, not yet published (its first version asks its audience to acknowledge it)."""
    title, owner = " ".join(title.split()), " ".join(owner.split())
    base = slugify(title)[:40] or "policy"
    slug, n = base, 1
    while Policy.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    with transaction.atomic():
        policy = Policy(slug=slug, title=title, owner=owner)
        policy.full_clean()
        policy.save()
        audit.record("policy.created", actor=actor, subject=policy, data={"title": title, "owner": owner})
    return policy


def policy_version_publish(
    *,
    policy: Policy,
    body_markdown: str = "",
    pdf: bytes | None = None,
    pdf_name: str = "",
    effective_on: dt.date,
    review_on: dt.date,
    change_note: str,
    material: bool,
    ack_within_days: int = 30,
    actor: AbstractBaseUser | None,
) -> PolicyVersion:
    """Publish the next immutable version of a policy. The first version, and a material change, ask everyone in
    the audience to acknowledge it (45 CFR 164.530(b)(2)(i)(C), 164.530(i)(4))."""
    errors: dict[str, list[str]] = {}
    body_markdown = body_markdown.strip().replace("\r\n", "\n")
    if pdf and body_markdown:
        errors.setdefault("body_markdown", []).append("Write the text or upload a PDF, not both.")
    elif not pdf and not body_markdown:
        errors.setdefault("body_markdown", []).append("Write the policy's text or upload it as a PDF.")
    if pdf:
        try:
            pdf_check(pdf)
        except ValidationError as exc:
            errors.setdefault("pdf", []).extend(exc.messages)
    if not change_note.strip():
        errors.setdefault("change_note", []).append("Say what changed (for the first version: why it is published).")
    if review_on <= effective_on:
        errors.setdefault("review_on", []).append("The review date comes after the effective date.")
    if not 1 <= ack_within_days <= MAX_ACK_WITHIN_DAYS:
        errors.setdefault("ack_within_days", []).append(f"Between 1 and {MAX_ACK_WITHIN_DAYS} days.")
    if policy.is_retired:
        errors.setdefault("__all__", []).append(RETIRED_MESSAGE)
    if errors:
        raise ValidationError(errors)
    content = pdf if pdf else body_markdown.encode("utf-8")
    with transaction.atomic():
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        if locked.is_retired:  # retired since the caller read it
            raise ValidationError({"__all__": [RETIRED_MESSAGE]})
        last = PolicyVersion.objects.current_for(locked)
        number = (last.number if last else 0) + 1
        version = PolicyVersion.objects.create(
            policy=locked,
            number=number,
            body_markdown="" if pdf else body_markdown,
            body_html="" if pdf else render_markdown(body_markdown),
            pdf=pdf or b"",
            pdf_name=(pdf_name or f"{locked.slug}-v{number}.pdf")[:200] if pdf else "",
            pdf_sha256=sha256_hex(pdf) if pdf else "",
            content_sha256=sha256_hex(content),
            effective_on=effective_on,
            review_on=review_on,
            change_note=change_note.strip(),
            material=material or number == 1,
            ack_within_days=ack_within_days,
            published_at=timezone.now(),
            published_by_id=actor.pk if actor is not None else None,
        )
        audit.record(
            "policy.version_published",
            actor=actor,
            subject=version,
            data={
                "policy": locked.slug,
                "number": number,
                "material": version.material,
                "content_sha256": version.content_sha256,
                "kind": "pdf" if pdf else "markdown",
                "effective_on": effective_on.isoformat(),
                "review_on": review_on.isoformat(),
                "change_note": version.change_note,
            },
        )
        transaction.on_commit(lambda: policy_version_published.send(sender=PolicyVersion, version=version))
    return version


def policy_retire(*, policy: Policy, actor: AbstractBaseUser | None) -> Policy:
    """Retire a policy: nobody is newly asked to acknowledge it and the open requests are cancelled (by roles, in
    this transaction); its versions and acknowledgements are kept, six years from when it was last in effect
    (45 CFR 164.316(b)(2)(i))."""
    with transaction.atomic():
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        if locked.is_retired:
            since = timezone.localdate(locked.retired_at).isoformat()
            raise ValidationError(f"{locked.title} is retired already (since {since}): nothing was changed.")
        locked.retired_at = timezone.now()
        locked.save(update_fields=["retired_at"])
        last = PolicyVersion.objects.filter(policy=locked).order_by("-number").values_list("number", flat=True).first()
        audit.record(
            "policy.retired",
            actor=actor,
            subject=locked,
            data={"policy": locked.slug, "title": locked.title, "last_version": last},
        )
        policy_retired.send(sender=Policy, policy=locked, actor=actor)
    policy.retired_at = locked.retired_at
    return locked
