"""Append-only evidence at the database level.

Every model that inherits AppendOnlyModel gets triggers that refuse UPDATE and DELETE (and TRUNCATE
on PostgreSQL). They are (re)installed after every migrate, so a new evidence table cannot be
forgotten. The only code path that lifts them is the test suite's `flush` (tests/testapp); the product's
`flush` refuses.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an evidence row."""


class AppendOnlyModel(models.Model):
    """A row that, once written, is never updated or deleted (evidence)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} is evidence: it is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{type(self).__name__} is evidence: it is never deleted.")


def append_only_tables() -> list[str]:
    return sorted(
        m._meta.db_table
        for m in apps.get_models()
        if issubclass(m, AppendOnlyModel) and not m._meta.proxy and m._meta.managed
    )


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION hipaa_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'append-only: % on % is refused (evidence is never changed or deleted)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def _install_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION hipaa_append_only()",
            f'CREATE OR REPLACE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION hipaa_append_only()",
        ]
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER IF NOT EXISTS "{table}_no_update" BEFORE UPDATE ON "{table}" BEGIN '
            f"SELECT RAISE(ABORT, 'append-only: UPDATE on {table} is refused'); END",
            f'CREATE TRIGGER IF NOT EXISTS "{table}_no_delete" BEFORE DELETE ON "{table}" BEGIN '
            f"SELECT RAISE(ABORT, 'append-only: DELETE on {table} is refused'); END",
        ]
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def _drop_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}"',
            f'DROP TRIGGER IF EXISTS "{table}_no_truncate" ON "{table}"',
        ]
    return [f'DROP TRIGGER IF EXISTS "{table}_no_update"', f'DROP TRIGGER IF EXISTS "{table}_no_delete"']


def _existing_tables(connection: BaseDatabaseWrapper) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def install_triggers(connection: BaseDatabaseWrapper) -> None:
    existing = _existing_tables(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION)
        for table in append_only_tables():
            if table in existing:
                for sql in _install_sql(connection.vendor, table):
                    cursor.execute(sql)


def drop_triggers(connection: BaseDatabaseWrapper) -> None:
    existing = _existing_tables(connection)
    with connection.cursor() as cursor:
        for table in append_only_tables():
            if table in existing:
                for sql in _drop_sql(connection.vendor, table):
                    cursor.execute(sql)


def install_append_only_triggers(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    install_triggers(connections[using])
