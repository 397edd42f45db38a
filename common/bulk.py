"""Bulk inserts with PostgreSQL's COPY, for the hot batch paths (the sync batch).

``QuerySet.bulk_create`` builds one INSERT with a parameter per column per row and has psycopg
quote them all on the client: for 100 time entries that is 1,500 parameters, and compiling,
quoting and parsing them was about a third of a sync batch's time. ``COPY ... FROM STDIN``
streams the same rows with no SQL to build or parse. Constraints (unique, check, exclusion)
and indexes apply as for INSERT; a violation aborts the whole COPY, like a multi-row INSERT.

Only for plain rows: no signals are sent and nothing is returned, so primary keys must be
known up front (UUIDs from Python, or ``allocate_ids`` for a sequence), or left to the
database's identity column when nobody needs them back.

``AnyOf`` is the lookup of many values by one array parameter, for the same paths."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    Lookup,
    Model,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    SmallIntegerField,
    TextField,
    UUIDField,
)
from django.utils import timezone


def copy_insert(objs: Sequence[Model]) -> None:
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
    # The connection itself, not the proxy: every attribute read through ``django.db.connection``
    # is a context-local lookup, and a 1,000-row batch prepares ten thousand values.
    db = connections[DEFAULT_DB_ALIAS]
    plain = [_PLAIN_TYPES.get(type(getattr(f, "target_field", f)), ()) for f in fields]  # a foreign key: its target
    reads = [_read(f) for f in fields]
    now = timezone.now()  # auto_now/auto_now_add: one moment for the statement, as PostgreSQL's now()
    rows = []
    for obj in objs:
        row = []
        for f, kinds, read in zip(fields, plain, reads, strict=True):
            if read is _ATTRIBUTE:
                value = getattr(obj, f.attname)
            elif read is _NOW:
                value = now
                setattr(obj, f.attname, now)
            else:
                value = f.pre_save(obj, True)
            if not (kinds and (value is None or type(value) in kinds and _aware(value))):
                value = f.get_db_prep_save(value, db)
            row.append(value)
        rows.append(row)
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {db.ops.quote_name(opts.db_table)} ({columns}) FROM STDIN"
    # wrap_database_errors: psycopg's errors become Django's (IntegrityError for a violation).
    with db.cursor() as cursor, db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias


_ATTRIBUTE, _NOW, _PRE_SAVE = object(), object(), object()


def _read(field: Field) -> object:
    """How ``copy_insert`` takes a field's value for an insert, as its ``pre_save(obj, True)``
    would: ``_NOW`` for a date-time set at insert, ``_ATTRIBUTE`` where ``pre_save`` only reads
    the attribute (Field's own, and a date-time that is neither), else ``_PRE_SAVE``."""
    kind = type(field).pre_save
    if kind is DateTimeField.pre_save and isinstance(field, DateTimeField):
        return _NOW if field.auto_now or field.auto_now_add else _ATTRIBUTE
    return _ATTRIBUTE if kind is Field.pre_save else _PRE_SAVE


def _aware(value: object) -> bool:
    return type(value) is not datetime or value.utcoffset() is not None


# Exact field classes whose get_db_prep_save hands PostgreSQL a value of these exact types (or
# None) unchanged: copy_insert passes such values straight on. Anything else (a subclass, a
# JSONField, a naive datetime, a str for a UUID) takes the field's own preparation.
_PLAIN_TYPES: dict[type, tuple[type, ...]] = {
    DateTimeField: (datetime,),
    UUIDField: (UUID,),
    CharField: (str,),
    TextField: (str,),
    BooleanField: (bool,),
    IntegerField: (int,),
    BigIntegerField: (int,),
    SmallIntegerField: (int,),
    PositiveIntegerField: (int,),
    PositiveSmallIntegerField: (int,),
}


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


class AnyOf(Lookup):
    """``column = ANY(%s)`` with the values as ONE array parameter: ``filter(AnyOf(F("pk"), ids))``
    selects what ``pk__in=ids`` does. ``__in`` writes a placeholder per value, and for a
    1,000-item sync batch psycopg splitting and quoting that SQL on the client (too long for its
    statement cache) was ~5 % of the batch, five lookups of 1,000 values each."""

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        field = self.lhs.output_field
        return "%s", [[field.get_db_prep_value(v, connection, prepared=False) for v in value]]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        array_type = self.lhs.output_field.cast_db_type(connection)  # typed even when empty
        return f"{lhs} = ANY({rhs}::{array_type}[])", [*lhs_params, *rhs_params]
