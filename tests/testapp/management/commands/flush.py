"""`flush`, made to work with append-only tables: lifts the triggers, empties, puts them back.

Django's test runner flushes between transactional tests; nothing in the product calls this.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from hipaa_training.db import drop_triggers, install_triggers


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        drop_triggers(connection)
        try:
            super().handle(**options)
        finally:
            install_triggers(connection)
