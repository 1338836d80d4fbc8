"""The demo company for browser tests, built once per test session.

`seed_demo` lives a whole year of the demo company and takes about a minute; every browser test needs that
company on a fresh database. On PostgreSQL the first test builds it and keeps a copy of the data (pg_dump),
and each later test empties the tables and restores that copy (a second or two): the same rows, ids, audit
chain and anchor as a fresh `seed_demo` the same day. On SQLite, or without pg_dump, each test seeds.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from hipaa_training.db import drop_triggers, install_triggers

# Tables that are not models: kept as they are (the migrations run, the cache table exists).
EXCLUDED = ["--exclude-table-data=django_migrations", "--exclude-table-data=django_cache"]
_copy: dict[str, object] = {}  # the dump's path, its day, and the anchor log written while seeding


def _pg_args() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres"]
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    return [*args, "-d", db["NAME"]], env


def _empty_tables() -> None:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    drop_triggers(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE")
    finally:
        install_triggers(connection)


def seed_demo() -> None:
    """The demo company on this test's database, in place of whatever it held."""
    usable = connection.vendor == "postgresql" and shutil.which("pg_dump") and shutil.which("pg_restore")
    today = timezone.localdate()
    if not usable or _copy.get("day") not in (None, today):
        _copy.clear()  # the demo's year is relative to today: a copy from yesterday is not today's demo
    anchor_log = Path(settings.AUDIT_ANCHOR_LOG)
    if usable and "dump" in _copy:
        args, env = _pg_args()
        _empty_tables()
        subprocess.run(
            ["pg_restore", "--data-only", "--disable-triggers", "--single-transaction", *args, str(_copy["dump"])],
            check=True,
            env=env,
            capture_output=True,
        )
        ContentType.objects.clear_cache()
        anchor_log.parent.mkdir(parents=True, exist_ok=True)
        anchor_log.write_bytes(_copy["anchors"])  # type: ignore[arg-type]
        return
    # From an empty database, as a new installation: the session's catalogue would spare the demo its year's
    # material change (seed_demo does not invent one on a catalogue that was loaded already).
    call_command("flush", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    if usable:
        args, env = _pg_args()
        dump = Path(tempfile.mkdtemp(prefix="demo-")) / "demo.dump"
        command = ["pg_dump", "--data-only", "--format=custom", *EXCLUDED, "-f", str(dump), *args]
        subprocess.run(command, check=True, env=env)
        _copy.update(dump=dump, day=today, anchors=anchor_log.read_bytes() if anchor_log.exists() else b"")
