"""`flush` for the test suite only: lifts the append-only triggers, empties every table, puts them back.

pytest-django flushes the database after each transactional test. This app is installed by tests/settings.py
alone, so the product's own `flush` (hipaa_training) refuses, and no product command can empty the evidence.
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
