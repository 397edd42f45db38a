"""Bulk inserts with PostgreSQL's COPY, for the hot batch paths (the sync batch).

``QuerySet.bulk_create`` builds one INSERT with a parameter per column per row and has psycopg
quote them all on the client: for 100 time entries that is 1,500 parameters, and compiling,
quoting and parsing them was about a third of a sync batch's time. ``COPY ... FROM STDIN``
streams the same rows with no SQL to build or parse. Constraints (unique, check, exclusion)
and indexes apply as for INSERT; a violation aborts the whole COPY, like a multi-row INSERT.

Only for plain rows: no signals are sent and nothing is returned, so primary keys must be
known up front (UUIDs from Python, or ``allocate_ids`` for a sequence), or left to the
database's identity column when nobody needs them back."""

from __future__ import annotations

from django.db import connection
from django.db.models import AutoField, BigAutoField, Field, Model


def copy_insert(objs: list[Model]) -> None:
    """Insert ``objs`` (instances of one model, primary keys set) in one COPY. Field defaults
    and ``auto_now``/``auto_now_add`` apply as in ``save()``."""
    if not objs:
        return
    opts = type(objs[0])._meta
    fields = [f for f in opts.concrete_fields if f.column]
    if isinstance(opts.pk, AutoField | BigAutoField) and all(obj.pk is None for obj in objs):
        fields.remove(opts.pk)  # the identity column numbers them
    else:
        for obj in objs:
            if obj.pk is None:
                raise ValueError(f"copy_insert needs primary keys: a {opts.label} has none")
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(opts.db_table)} ({columns}) FROM STDIN"
    # wrap_database_errors: psycopg's errors become Django's (IntegrityError for a violation).
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:  # a reverse relation, a generic key
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


def copy_rows(model: type[Model], columns: list[str], rows: list[tuple]) -> None:
    """COPY plain tuples into ``columns`` of ``model``'s table: for the hottest paths, where
    even building model instances costs (heartbeat intake). Values must already be what the
    database takes (no field preparation, defaults or ``auto_now`` here)."""
    if not rows:
        return
    names = ", ".join(connection.ops.quote_name(_column(model, c)) for c in columns)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def allocate_ids(model: type[Model], count: int) -> list[int]:
    """``count`` new values from the sequence of ``model``'s auto primary key, ascending."""
    pk = model._meta.pk
    if not isinstance(pk, AutoField | BigAutoField):
        raise TypeError(f"{model._meta.label} has no sequence-backed primary key")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [model._meta.db_table, pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]
