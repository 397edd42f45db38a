"""Reads of timesheets: the sheets the caller may read, the list of every member's weeks in one
query (docs/timesheets.md, "The list"), and the weeks' statuses reports and exports carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.db.models import QuerySet

from organizations import permissions
from organizations.models import Membership
from tracking.models import Timesheet, TimesheetStatus


def approval_statuses(
    *, company_id: UUID, user_ids: list[UUID], first: date, last: date
) -> dict[tuple[UUID, date], str]:
    """``{(user_id, period_start): status}`` of the timesheets whose weeks overlap the local
    days ``first``..``last`` (reports and exports carry each row's status; a week with no row
    is OPEN). One query."""
    rows = Timesheet.objects.filter(
        company_id=company_id, user_id__in=user_ids, period_start__lte=last, period_end__gte=first
    ).values_list("user_id", "period_start", "status")
    return {(user_id, start): status for user_id, start, status in rows}


def approval_status_of(statuses: dict[tuple[UUID, date], str], *, user_id: UUID, period_start: date) -> str:
    return statuses.get((user_id, period_start), TimesheetStatus.OPEN)


def _person(user_id: UUID | None, name: str | None, email: str | None = None) -> dict | None:
    if user_id is None:
        return None
    person = {"id": user_id, "name": name or ""}
    if email is not None:
        person["email"] = email
    return person


def timesheet_row(sheet: Timesheet) -> dict:
    """One sheet as a row of ``timesheet_list`` (the API's and the events' shape)."""
    decided = sheet.decided_by
    return {
        "id": sheet.pk,
        "user_id": sheet.user_id,
        "user": _person(sheet.user_id, sheet.user.name, sheet.user.email),
        "period_start": sheet.period_start,
        "period_end": sheet.period_end,
        "status": sheet.status,
        "total_seconds": sheet.total_seconds,
        "billable_seconds": sheet.billable_seconds,
        "submitted_at": sheet.submitted_at,
        "decided_at": sheet.decided_at,
        "decided_by": _person(decided.pk, decided.name) if decided is not None else None,
        "comment": sheet.comment,
    }


def readable_timesheets(*, memberships: list[Membership]) -> QuerySet[Timesheet]:
    """The sheets the caller may read: those of the people whose data they read."""
    if not memberships:
        return Timesheet.objects.none()
    return Timesheet.objects.filter(permissions.readable_users_in_any_q(memberships)).select_related(
        "user", "decided_by"
    )


@dataclass(frozen=True, kw_only=True)
class TimesheetFilters:
    """``first``..``last``: the local days whose weeks are listed (a week is listed when its
    first day falls in the weeks overlapping them)."""

    first: date
    last: date
    user: UUID | None = None
    status: str | None = None


@dataclass(frozen=True)
class TimesheetKey:
    """Where a page starts: the list's order is period_start descending, then the member's
    name and id ascending."""

    period_start: date
    name: str
    user_id: UUID


@dataclass(frozen=True)
class TimesheetPage:
    rows: list[dict]
    more: bool  # rows beyond these in the direction asked


def _sql_of(qs: QuerySet) -> tuple[str, tuple]:
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params)


def timesheet_list(
    *,
    membership: Membership,
    filters: TimesheetFilters,
    after: TimesheetKey | None = None,
    before: TimesheetKey | None = None,
    limit: int = 50,
) -> TimesheetPage:
    """One row per member the caller reads and week (the company's ``week_start``, the
    member's local days) that has a sheet or live entries, newest week first, in
    ``timesheet_row``'s shape. A week without a sheet is OPEN with ``id`` None; totals are
    live (clipped to the week, a running entry up to now) unless the week is SUBMITTED or
    APPROVED, whose totals were fixed when submitted and cannot change since.

    One query (docs/timesheets.md, "The list"): the members and weeks are generated in SQL;
    the page is cut first (a week is listed when it has a sheet or an index probe finds an
    entry in it), then each of its weeks' entries are one range scan of the covering
    ``tracking_entry_user_week`` index, plus one backwards probe for the entry that may run
    into the week from before it.
    Keyset paging: ``after`` (the next page) or
    ``before`` (the previous one, returned in list order); at most ``limit`` + 1 rows, the
    extra one telling whether there is more in that direction."""
    from tracking.weeks import week_containing

    company = membership.company
    first = week_containing(filters.first, week_start=company.week_start, timezone="UTC").period_start
    readable = permissions.readable_users_q(membership)
    members_sql, members_params = _sql_of(
        Membership.objects.filter(readable, is_active=True).order_by().values("user_id")
    )
    sheets_sql, sheets_params = _sql_of(
        Timesheet.objects.filter(readable, period_start__gte=first, period_start__lte=filters.last)
        .order_by()
        .values("user_id")
    )
    where: list[str] = []
    params: list[object] = []
    if filters.user is not None:
        where.append("p.id = %s")
        params.append(filters.user)
    people_filter = (" AND " + " AND ".join(where)) if where else ""

    row_where: list[str] = []
    row_params: list[object] = []
    if filters.status == TimesheetStatus.OPEN:
        row_where.append("coalesce(w.status, 'OPEN') = 'OPEN'")
    elif filters.status is not None:
        row_where.append("w.status = %s")
        row_params.append(filters.status)
    order = "w.period_start DESC, w.name, w.user_id"
    if after is not None:
        row_where.append("(w.period_start < %s OR (w.period_start = %s AND (w.name, w.user_id) > (%s, %s)))")
        row_params += [after.period_start, after.period_start, after.name, after.user_id]
    elif before is not None:
        row_where.append("(w.period_start > %s OR (w.period_start = %s AND (w.name, w.user_id) < (%s, %s)))")
        row_params += [before.period_start, before.period_start, before.name, before.user_id]
        order = "w.period_start, w.name DESC, w.user_id DESC"
    extra_where = "".join(f" AND {clause}" for clause in row_where)

    sql = f"""
        WITH people AS MATERIALIZED (
            SELECT p.id, p.name, p.email, p.timezone
              FROM accounts_user p
             WHERE (p.id IN ({members_sql}) OR p.id IN ({sheets_sql})){people_filter}
        ),
        weeks AS MATERIALIZED (
            -- an OPEN or REJECTED week is read in the member's time zone today; a SUBMITTED or
            -- APPROVED one keeps the totals it was submitted with (its entries cannot change)
            SELECT p.id AS user_id, p.name, p.email, d::date AS period_start,
                   t.id AS sheet_id, t.status, t.total_seconds, t.billable_seconds, t.submitted_at,
                   t.decided_at, t.decided_by_id, t.comment,
                   coalesce(t.status IN ('SUBMITTED', 'APPROVED'), false) AS locked,
                   (d::date)::timestamp AT TIME ZONE p.timezone AS starts_at,
                   (d::date + 7)::timestamp AT TIME ZONE p.timezone AS ends_at
              FROM people p
             CROSS JOIN generate_series(%s::date, %s::date, interval '7 days') d
              LEFT JOIN tracking_timesheet t
                ON t.company_id = %s AND t.user_id = p.id AND t.period_start = d::date
        ),
        page AS MATERIALIZED (
            -- the page first, then its sums: whether a week has time at all takes two index
            -- probes, its totals a range scan, so only the page's weeks are summed
            SELECT w.*
              FROM weeks w
             WHERE (w.sheet_id IS NOT NULL
                    OR EXISTS (SELECT 1 FROM tracking_timeentry e
                                WHERE e.user_id = w.user_id AND e.started_at >= w.starts_at
                                  AND e.started_at < w.ends_at AND e.deleted_at IS NULL AND e.company_id = %s)
                    OR EXISTS (SELECT 1
                                 FROM (SELECT e.ended_at, e.company_id
                                         FROM tracking_timeentry e
                                        WHERE e.user_id = w.user_id AND e.started_at < w.starts_at
                                          AND e.deleted_at IS NULL
                                        ORDER BY e.started_at DESC
                                        LIMIT 1) x
                                WHERE x.company_id = %s AND (x.ended_at IS NULL OR x.ended_at > w.starts_at))
                   ){extra_where}
             ORDER BY {order}
             LIMIT %s
        )
        SELECT w.sheet_id, w.user_id, w.name, w.email, w.period_start, coalesce(w.status, 'OPEN'),
               CASE WHEN w.locked THEN w.total_seconds
                    ELSE coalesce(inside.total, 0) + coalesce(before.secs, 0) END,
               CASE WHEN w.locked THEN w.billable_seconds
                    ELSE coalesce(inside.billable, 0) + CASE WHEN before.billable THEN before.secs ELSE 0 END END,
               w.submitted_at, w.decided_at, w.decided_by_id, d.name, coalesce(w.comment, '')
          FROM page w
          LEFT JOIN LATERAL (
                -- the entries that start in the week: one range scan of (user, started_at),
                -- each clipped at the week's end (a running one counts up to now)
                SELECT sum(c.secs) AS total, sum(c.secs) FILTER (WHERE c.billable) AS billable
                  FROM (SELECT e.billable,
                               greatest(0, floor(date_part('epoch',
                                   least(coalesce(e.ended_at, greatest(now(), e.started_at)), w.ends_at) - e.started_at
                               )))::bigint AS secs
                          FROM tracking_timeentry e
                         WHERE e.user_id = w.user_id AND e.started_at >= w.starts_at AND e.started_at < w.ends_at
                           AND e.deleted_at IS NULL AND e.company_id = %s AND NOT w.locked
                       ) c
          ) inside ON true
          LEFT JOIN LATERAL (
                -- and the one that may run into it from before: a user's live entries never
                -- overlap (tracking_entry_no_overlap), so only their last one starting before can
                SELECT x.billable,
                       greatest(0, floor(date_part('epoch',
                           least(coalesce(x.ended_at, now()), w.ends_at) - w.starts_at
                       )))::bigint AS secs
                  FROM (SELECT e.ended_at, e.billable, e.company_id
                          FROM tracking_timeentry e
                         WHERE e.user_id = w.user_id AND e.started_at < w.starts_at AND e.deleted_at IS NULL
                           AND NOT w.locked
                         ORDER BY e.started_at DESC
                         LIMIT 1) x
                 WHERE x.company_id = %s AND (x.ended_at IS NULL OR x.ended_at > w.starts_at)
          ) before ON true
          LEFT JOIN accounts_user d ON d.id = w.decided_by_id
         ORDER BY {order}
    """
    all_params = [
        *members_params,
        *sheets_params,
        *params,
        first,
        filters.last,
        company.pk,
        company.pk,
        company.pk,
        *row_params,
        limit + 1,
        company.pk,
        company.pk,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner cannot know how many weeks each generate_series yields and guesses a
        # thousand: the inflated cost would switch on JIT compilation, which costs seconds
        # for a query that runs in milliseconds.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, all_params)
        rows = cursor.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()  # fetched backwards from the cursor; handed back in list order
    return TimesheetPage(
        more=more,
        rows=[
            {
                "id": sheet_id,
                "user_id": user_id,
                "user": _person(user_id, name, email),
                "period_start": period_start,
                "period_end": period_start + timedelta(days=6),
                "status": status,
                "total_seconds": int(total or 0),
                "billable_seconds": int(billable or 0),
                "submitted_at": submitted_at,
                "decided_at": decided_at,
                "decided_by": _person(decided_by_id, decided_by_name),
                "comment": comment,
            }
            for (
                sheet_id,
                user_id,
                name,
                email,
                period_start,
                status,
                total,
                billable,
                submitted_at,
                decided_at,
                decided_by_id,
                decided_by_name,
                comment,
            ) in rows
        ],
    )
