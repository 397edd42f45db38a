"""No path updates or deletes an audit row: the ORM's, an instance's save, raw SQL. The database
refuses them (audit/migrations/0001's trigger), so a forgetful service or a shell cannot either.
The one DELETE it lets through is the retention purge's (test_retention.py)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEntry
from audit.recording import record


@pytest.fixture
def row(db):
    return record(
        action="membership.role_changed",
        target_type="membership",
        target_id="m1",
        changes={"role": ["MEMBER", "ADMIN"]},
    )


def refused(write) -> str:
    """Run ``write`` in a savepoint; return the database's refusal."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        write()
    return str(caught.value)


def unchanged(row: AuditEntry) -> bool:
    stored = AuditEntry.objects.get(pk=row.pk)
    return (stored.action, stored.changes) == ("membership.role_changed", {"role": ["MEMBER", "ADMIN"]})


def test_an_orm_update_is_refused(row):
    message = refused(lambda: AuditEntry.objects.filter(pk=row.pk).update(action="membership.removed"))

    assert "append-only" in message
    assert unchanged(row)


def test_an_orm_delete_is_refused(row):
    assert "append-only" in refused(lambda: AuditEntry.objects.filter(pk=row.pk).delete())
    assert "append-only" in refused(row.delete)
    assert unchanged(row)


def test_saving_an_existing_row_is_refused(row):
    row.changes = {"role": ["MEMBER", "MEMBER"]}

    assert "append-only" in refused(row.save)
    assert unchanged(row)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET actor_id = NULL WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_raw_sql_is_refused(row, sql):
    def write():
        with connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])

    assert "append-only" in refused(write)
    assert unchanged(row)


def test_the_purge_switch_lets_a_delete_through_but_never_an_update(row):
    def update_while_purging():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL stint.audit_purge = 'on'")
            cursor.execute("UPDATE audit_auditentry SET action = 'x' WHERE id = %s", [row.pk])

    assert "append-only" in refused(update_while_purging)
    assert unchanged(row)


def test_new_rows_are_still_appended(row):
    record(action="privacy_rule.created", target_type="privacy_rule", target_id="r1")

    assert AuditEntry.objects.count() == 2
