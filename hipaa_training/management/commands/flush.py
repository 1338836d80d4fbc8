"""`flush` refused: it would empty the evidence (audit trail, completions, signatures, certificates), which
must be kept at least six years (45 CFR 164.316(b)(2)). The test suite has its own (tests/testapp)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Refused: the evidence tables are append-only and are never emptied."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        raise CommandError(
            "flush is refused: it would empty the evidence (the audit trail, completions, attestations, "
            "certificates), which is kept at least six years. To start over, create a new database."
        )
