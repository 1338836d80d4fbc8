from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from roles.assignments import sync_assignments


class Command(BaseCommand):
    help = "Bring every assignment in step with roles, requirements, course versions and the recurring cycle."

    def handle(self, *args: Any, **options: Any) -> None:
        result = sync_assignments()
        self.stdout.write(f"assignments created: {len(result.created)}, cancelled: {result.cancelled}")
