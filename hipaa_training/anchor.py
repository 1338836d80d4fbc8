"""Anchors: the chain's head (sequence number, hash, time) signed with a key the database never sees.

Someone with write access to the database can rewrite every hash from some point on and leave a chain that
checks out by itself. They cannot forge the signature over an earlier head without the key, so
verification against the anchor log (JSON lines, outside the database) catches the rewrite. Keep the key
(AUDIT_ANCHOR_KEY, or the file AUDIT_ANCHOR_KEY_FILE) and ideally a copy of the log away from the
database server.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

ALGORITHM = "HMAC-SHA256"


def _key() -> bytes:
    if settings.AUDIT_ANCHOR_KEY:
        return settings.AUDIT_ANCHOR_KEY.encode()
    path = Path(settings.AUDIT_ANCHOR_KEY_FILE)
    if not path.exists():
        if settings.PRODUCTION:
            raise ImproperlyConfigured(
                f"No audit anchor key: set AUDIT_ANCHOR_KEY or create {path} (kept away from the database)."
            )
        # Development: generate once, readable by this user only.
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def key_id() -> str:
    """Names the key without revealing it, so a rotated key's anchors can be told apart."""
    return hashlib.sha256(b"audit-anchor-key-id:" + _key()).hexdigest()[:16]


def _message(entry: dict[str, Any]) -> bytes:
    signed = {k: entry[k] for k in ("seq", "hash", "at", "algorithm")}
    return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()


def sign(entry: dict[str, Any]) -> str:
    return hmac.new(_key(), _message(entry), hashlib.sha256).hexdigest()


def signature_valid(entry: dict[str, Any]) -> bool:
    try:
        return entry["algorithm"] == ALGORITHM and hmac.compare_digest(sign(entry), str(entry["signature"]))
    except (KeyError, TypeError):
        return False


def _log_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_LOG)


def anchor_head(*, seq: int, hash: str) -> dict[str, Any] | None:  # noqa: A002 - the chain's own word
    """Sign (seq, hash, now) and append it to the anchor log. Nothing to anchor before the first event."""
    if seq <= 0:
        return None
    entry: dict[str, Any] = {
        "seq": seq,
        "hash": hash,
        "at": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
        "algorithm": ALGORITHM,
        "key_id": key_id(),
    }
    entry["signature"] = sign(entry)
    path = _log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two anchoring processes never interleave a line
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry


def read_anchors() -> list[dict[str, Any]]:
    """Every anchor in the log, oldest first; a line that is not JSON counts as a forged anchor."""
    path = _log_path()
    if not path.exists():
        return []
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = {"seq": 0, "at": f"line {number} of {path}", "signature": ""}
        anchors.append(entry if isinstance(entry, dict) else {"seq": 0, "at": f"line {number}", "signature": ""})
    return anchors


def latest_anchor() -> dict[str, Any] | None:
    """The newest anchor (seq, hash, at, signature, algorithm, key_id), or None before the first one."""
    anchors = read_anchors()
    return anchors[-1] if anchors else None
