"""Reads of the change log, filtered by the same role rules as the REST reads."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, router
from django.db.models import BooleanField, Func, Model, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from accounts.models import User
from changelog import audience
from changelog import selectors as changelog_selectors
from changelog.models import Change, Tombstone
from organizations import permissions
from organizations.models import Membership
from sync.models import SyncItemKey
from tracking.models import TimeEntry


def visible_changes_q(m: Membership) -> Q:
    """Entries by whose they are (readable_users_q), tasks and projects by project visibility."""
    own = Q(company_id=m.company_id, entity__in=audience.PRIVATE_ENTITIES, user_id=m.user_id)
    if m.role in permissions.COMPANY_MANAGERS:
        # They read every entry and see every project of the company: the same rows as below,
        # without compiling and running the project subquery on every pull.
        return (
            Q(company_id=m.company_id) & (Q(entity__in=audience.USER_DATA_ENTITIES) | Q(project_id__isnull=False)) | own
        )
    entries = Q(entity__in=audience.USER_DATA_ENTITIES) & permissions.readable_users_q(m)
    structure = (
        Q(company_id=m.company_id)
        & ~Q(entity__in=audience.USER_DATA_ENTITIES)
        & Q(project_id__in=permissions.visible_projects(m).values("pk"))
    )
    return entries | structure | own


def change_list(*, memberships: list[Membership], after: int, upto: int | None = None) -> QuerySet[Change]:
    """Numbered changes after ``after`` (and up to ``upto``) the caller may see, in order."""
    if not memberships:
        return Change.objects.none()
    qs = Change.objects.filter(reduce(or_, [visible_changes_q(m) for m in memberships]), cursor__gt=after)
    if upto is not None:
        qs = qs.filter(cursor__lte=upto)
    companies = {m.company_id for m in memberships}
    if len(companies) == 1:
        # One company (most callers): the same rows, bounded as a range of its (company_id,
        # cursor) index, so PostgreSQL walks that index in order and stops at the page's end.
        # With ``cursor > after`` alone, once statistics said the company held a large share of
        # the log, it walked the cursor index instead, skipping every other company's changes:
        # 106 ms instead of 0.5 ms for a page of a 100k-change company (EXPLAIN ANALYZE).
        company = companies.pop()
        bounds = f'("{Change._meta.db_table}"."company_id", "{Change._meta.db_table}"."cursor")'
        qs = qs.filter(RawSQL(f"{bounds} > (%s, %s)", [company, after], output_field=BooleanField()))
        if upto is not None:
            qs = qs.filter(RawSQL(f"{bounds} <= (%s, %s)", [company, upto], output_field=BooleanField()))
    return qs.order_by("cursor")


class IsoUtc(Func):
    """A timestamptz as the API writes it: ``datetime.isoformat()`` in UTC with ``Z`` (no
    fraction for whole seconds, else six digits), rendered by PostgreSQL."""

    template = (
        "CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s "
        """THEN to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        """ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )
    output_field = TextField()


def membership_shape(memberships: list[Membership]) -> tuple:
    """What the role filter's SQL depends on: each membership's company, user and role."""
    return shape_of((m.company_id, m.user_id, m.role) for m in memberships)


def shape_of(triples: Iterable) -> tuple:
    """``membership_shape`` from (company, user, role) triples, as ``pull_start_statement``'s
    JSON gives them."""
    return tuple(sorted((str(company), str(user), role) for company, user, role in triples))


def change_rows_statement(*, shape: tuple, after: int, upto: int, limit: int) -> tuple[str, list]:
    """``change_rows``' statement and parameters for memberships of this ``membership_shape``
    (the lean pull runs it inside its own statement)."""

    def build() -> QuerySet:
        memberships = [Membership(company_id=uuid.UUID(c), user_id=uuid.UUID(u), role=r) for c, u, r in shape]
        return (
            change_list(memberships=memberships, after=_AFTER, upto=_UPTO)
            .annotate(
                id_text=Cast("entity_id", TextField()),
                payload_text=Cast("payload", TextField()),
                at_text=IsoUtc("at"),
            )
            .values_list("cursor", "entity", "id_text", "action", "payload_text", "at_text")
        )

    sql, params = _compiled(("changes", shape), build, {_AFTER: after, _UPTO: upto})
    return sql + " LIMIT %s", [*params, limit]


def change_rows(*, memberships: list[Membership], after: int, upto: int, limit: int) -> list[tuple]:
    """``change_list`` as plain text rows ``(cursor, entity, entity_id, action, payload, at)``:
    the payload as the JSON text PostgreSQL holds and the rest already formatted, so a pull
    hands them on without building and re-encoding objects (most of a pull's cost otherwise).
    The statement is compiled once per process for the same memberships (``_compiled``)."""
    if not memberships:
        return []
    shape = membership_shape(memberships)
    sql, params = change_rows_statement(shape=shape, after=after, upto=upto, limit=limit)
    with connections[_db_for(Change)].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass(frozen=True)
class PullStart:
    head: int
    pruned_below: int
    unnumbered: bool
    memberships: list[Membership]  # the caller's active ones: company, user and role only


def pull_start_statement(user_id: uuid.UUID | str, acting_company_id: uuid.UUID | None = None) -> tuple[str, list]:
    """``pull_start``'s statement and parameters: one row (head, pruned_below, unnumbered,
    memberships as a JSON array of [company, user, role]). ``acting_company_id``: a token
    bound to one company (``User.acting_company_id``)."""

    def build() -> QuerySet:
        stand_in = User(pk=_USER)
        stand_in.acting_company_id = _COMPANY if acting_company_id is not None else None
        return permissions.active_memberships(stand_in).order_by().values_list("company_id", "user_id", "role")

    values = {_USER: user_id} if acting_company_id is None else {_USER: user_id, _COMPANY: acting_company_id}
    sql, params = _compiled(("memberships", len(values)), build, values)
    statement = (
        "SELECT ps.head, ps.pruned_below, ps.unnumbered, "
        "(SELECT coalesce(json_agg(json_build_array(m.company_id, m.user_id, m.role)), '[]') "
        f"FROM ({sql}) m) AS memberships FROM ({changelog_selectors.PULL_STATE_SQL}) ps"
    )
    return statement, params


def pull_start(user: User) -> PullStart:
    """What a pull reads first, in one round trip: the log's state (``changelog.selectors``'
    ``PULL_STATE_SQL``) and the caller's active memberships (``permissions.active_memberships``,
    the rows the role rules read)."""
    statement, params = pull_start_statement(user.pk, user.acting_company_id)
    with connections[_db_for(Membership)].cursor() as cursor:
        cursor.execute(statement, params)
        head, pruned_below, unnumbered, found = cursor.fetchone()
    memberships = [Membership(company_id=uuid.UUID(c), user_id=uuid.UUID(u), role=r) for c, u, r in found]
    return PullStart(head or 0, pruned_below or 0, unnumbered, memberships)


# Compiling the role filter through the ORM cost more than running it (~0.8 ms of a ~2.2 ms
# pull, in-process). Its SQL depends only on the memberships (company, user, role) and the
# memberships' SQL only on whether a token binds the caller to one company: each is compiled
# once per process, with stand-ins for the values that change between calls.
_AFTER, _UPTO = -7_000_001, -7_000_002  # cursors are never negative
_USER, _COMPANY = uuid.UUID(int=0xF100_0001), uuid.UUID(int=0xF100_0002)
_compiled_sql: dict[tuple, tuple[str, tuple]] = {}
_MAX_COMPILED = 2_000


def _compiled(key: tuple, build: Callable[[], QuerySet], values: dict) -> tuple[str, list]:
    """``build()``'s SQL and parameters, compiled once per ``key``; each parameter that is one
    of ``values``' stand-ins replaced by the value given for it on this call."""
    found = _compiled_sql.get(key)
    if found is None:
        qs = build()
        sql, params = qs.query.get_compiler(using=qs.db).as_sql()
        if not all(stand_in in params for stand_in in values):  # one written into the SQL text would stay
            raise ImproperlyConfigured(f"Stand-ins not passed as parameters in {key!r}")
        if len(_compiled_sql) >= _MAX_COMPILED:  # bounded memory: the oldest goes (one per user)
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # another thread's eviction
                del _compiled_sql[next(iter(_compiled_sql))]
        found = _compiled_sql[key] = (sql, tuple(params))
    sql, params = found
    return sql, [values[p] if isinstance(p, (int, uuid.UUID)) and p in values else p for p in params]


def _db_for(model: type[Model]) -> str:
    return router.db_for_read(model)


# The batch's two fixed lookups as plain statements: the ORM compiled each anew per request
# (about 1.5 ms of a 100-item batch's CPU), for SQL that never changes.
_SEEN_KEYS_SQL = f"SELECT key FROM {SyncItemKey._meta.db_table} WHERE user_id = %s AND key = ANY(%s::text[])"
_ANY_KNOWN_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {TimeEntry._meta.db_table} WHERE id = ANY(%s::uuid[]))"
    f" OR EXISTS (SELECT 1 FROM {Tombstone._meta.db_table} WHERE entity_id = ANY(%s::uuid[]))"
)


def seen_item_keys(user_id: uuid.UUID, keys: list[str]) -> set[str]:
    """The keys among ``keys`` this user's batch items were applied under before (read in the
    batch's own transaction, on the primary, as both lookups are)."""
    with connection.cursor() as cursor:
        cursor.execute(_SEEN_KEYS_SQL, [user_id, keys])
        return {row[0] for row in cursor.fetchall()}


def any_entry_known(ids: list) -> bool:
    """Whether any of ``ids`` is an existing time entry or a deleted (tombstoned) id."""
    with connection.cursor() as cursor:
        cursor.execute(_ANY_KNOWN_SQL, [ids, ids])
        return cursor.fetchone()[0]
