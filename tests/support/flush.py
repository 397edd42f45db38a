"""Emptying the test database after a transactional test (``django_db(transaction=True)``,
``transactional_db``, ``live_server``), installed by conftest.py's ``pytest_configure``.

Django's flush TRUNCATEs every model table (a new file for each of ~45 tables and ~200 indexes)
and then runs ``post_migrate`` to create the content types and permissions again: 1.3 s per
test on the shared 2-core machine, half of such a test's time (docs/testing.md, "Suite time").
A test leaves a few rows, and a DELETE of a few rows costs next to nothing, so this deletes
every row of the same tables in one transaction instead. The result is the same empty database:

- the foreign keys are all DEFERRABLE INITIALLY DEFERRED (Django creates them so; the
  ``_check_foreign_keys_deferrable`` assertion below fails the run should one not be), so the
  order of the DELETEs does not matter and PostgreSQL still checks, once they have all run,
  that no row points at a deleted one;
- user triggers (the audit log's append-only guard, the locked-period guard on time entries)
  refuse DELETEs of their rows by design; they are disabled for this one transaction and enabled
  again before it commits (ALTER TABLE is transactional; TRUNCATE fired neither);
- sequences are not reset, as Django's flush here (``reset_sequences=False``) does not;
- the content types and permissions that migrate created are kept rather than deleted and
  created again, so ``post_migrate`` is not needed. No test writes them.

A test that asks for ``reset_sequences``, ``serialized_rollback`` or ``available_apps`` gets
Django's own flush."""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction
from django.test import TransactionTestCase

_django_fixture_teardown = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]  # private to Django
KEPT = {"django_content_type", "auth_permission"}
_statements: dict[str, tuple[str, ...]] = {}  # per database alias: its SQL, built once


def install() -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[attr-defined]


def _fixture_teardown(self: Any) -> None:  # a TransactionTestCase; its stubs lack the private API
    if self.reset_sequences or self.serialized_rollback or self.available_apps is not None:
        _django_fixture_teardown(self)
        return
    for alias in self._databases_names(include_mirrors=False):
        empty_database(alias)


def empty_database(alias: str) -> None:
    connection = connections[alias]
    if alias not in _statements:
        _statements[alias] = _build(alias)
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(";\n".join(_statements[alias]))


def _build(alias: str) -> tuple[str, ...]:
    connection = connections[alias]
    tables = sorted(set(connection.introspection.django_table_names(only_existing=True, include_views=False)) - KEPT)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        _check_foreign_keys_deferrable(cursor, tables)
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relname = ANY(%s) ORDER BY 1",
            [tables],
        )
        triggered = [row[0] for row in cursor.fetchall()]
    return (
        *(f"ALTER TABLE {quote(t)} DISABLE TRIGGER USER" for t in triggered),
        *(f"DELETE FROM {quote(t)}" for t in tables),
        # the deferred foreign-key checks now (they pass: every row is gone), since a table
        # with pending trigger events cannot be altered
        "SET CONSTRAINTS ALL IMMEDIATE",
        *(f"ALTER TABLE {quote(t)} ENABLE TRIGGER USER" for t in triggered),
    )


def _check_foreign_keys_deferrable(cursor, tables: list[str]) -> None:
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'f' AND NOT condeferrable AND conrelid::regclass::text = ANY(%s)",
        [tables],
    )
    immediate = cursor.fetchall()
    assert not immediate, f"flush.py deletes in any order; these foreign keys are not deferrable: {immediate}"
