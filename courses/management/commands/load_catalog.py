from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from courses.loader import CatalogError, load_catalog


class Command(BaseCommand):
    help = "Publish the course catalogue from its files; changed courses get a new version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=None, help="Catalogue folder (default: courses/catalog).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = load_catalog(options["dir"])
        except CatalogError as exc:
            raise CommandError(f"The catalogue was not loaded:\n{exc}") from None
        for result in results:
            for warning in result.warnings:
                self.stderr.write(f"warning: {warning}")
            if options["verbosity"] < 1:
                continue
            state = "published" if result.published else "unchanged"
            self.stdout.write(f"{result.slug}: version {result.number} {state}")
