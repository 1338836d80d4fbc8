from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from roles.defaults import load_default_roles


class Command(BaseCommand):
    help = "Create the six default workforce roles and their required modules (load the catalogue first)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = load_default_roles()
        self.stdout.write(f"created roles: {', '.join(created)}" if created else "default roles already present")
