"""`audit_anchor`: verify the chain, then sign its head with the key kept outside the database."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hipaa_training import anchor, verify


class Command(BaseCommand):
    help = "Sign the audit trail's head (sequence, hash, time) and append it to the anchor log."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify.verify()
        if result.problem is not None:
            # Signing a broken chain would vouch for the tampering.
            problem = result.problem
            raise CommandError(f"Not anchored: the audit trail is BROKEN at seq {problem.seq}: {problem.kind}.")
        entry = anchor.anchor_head(seq=result.head_seq, hash=result.head_hash)
        if entry is None:
            self.stdout.write("Nothing to anchor: the audit trail is empty.")
            return
        self.stdout.write(f"Anchored #{entry['seq']} {entry['hash']} at {entry['at']} in {settings.AUDIT_ANCHOR_LOG}.")
