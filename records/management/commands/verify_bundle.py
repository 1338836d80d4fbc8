"""python manage.py verify_bundle <zip>: check an evidence bundle offline, naming each file that does not match."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.documents.bundle import verify_bundle


class Command(BaseCommand):
    help = "Check an evidence bundle: each file's SHA-256 against manifest.json, the manifest against manifest.sha256."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bundle", help="path to the evidence bundle (.zip)")

    def handle(self, *args: Any, bundle: str, **options: Any) -> None:
        result = verify_bundle(bundle)
        if result.chain_head:
            self.stdout.write(f"audit chain head: #{result.chain_head.get('seq')} {result.chain_head.get('hash')}")
            anchor = result.chain_head.get("anchor")
            self.stdout.write(f"anchor: {anchor if anchor else 'none in this bundle'}")
        if result.manifest_sha256:
            self.stdout.write(f"manifest.json SHA-256: {result.manifest_sha256}")
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(f"MISMATCH {problem}")
            raise CommandError(f"{bundle}: {len(result.problems)} problem(s); the bundle does not match its manifest.")
        self.stdout.write(self.style.SUCCESS(f"OK: {result.checked} files match the manifest."))
