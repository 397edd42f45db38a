"""Retention (AUDIT_RETENTION_DAYS): unset keeps the log forever; set, the daily purge deletes
only the rows older than it, through the one DELETE the append-only trigger lets pass."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit import services, tasks
from audit.models import AuditEntry
from config.celery import app
from tests.support.settings_import import import_settings

NOW = timezone.now()  # the task reads the real clock: rows are aged from it


@pytest.fixture
def rows(db):
    made = {}
    for name, age in [("ancient", timedelta(days=400)), ("edge", timedelta(days=30)), ("fresh", timedelta(days=29))]:
        made[name] = AuditEntry.objects.create(
            action="time_entry.updated", target_type="time_entry", target_id=name, at=NOW - age - timedelta(seconds=1)
        )
    return made


def left() -> set[str]:
    return set(AuditEntry.objects.values_list("target_id", flat=True))


def test_unset_retention_keeps_everything(settings, rows):
    settings.AUDIT_RETENTION_DAYS = None

    assert services.audit_purge(now=NOW) == 0
    assert left() >= {"ancient", "edge", "fresh"}


def test_the_purge_deletes_only_rows_older_than_the_retention(settings, rows):
    settings.AUDIT_RETENTION_DAYS = 30

    assert services.audit_purge(now=NOW) == 2
    assert left() == {"fresh"}
    assert services.audit_purge(now=NOW) == 0  # a second run: nothing older left


def test_the_purge_permission_ends_with_its_transaction(settings, rows):
    settings.AUDIT_RETENTION_DAYS = 30
    services.audit_purge(now=NOW)

    # The purge's SET LOCAL ended with its transaction: a delete after it is refused again.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(target_id="fresh").delete()


def test_the_task_runs_the_purge_and_is_idempotent(settings, rows):
    settings.AUDIT_RETENTION_DAYS = 30

    assert tasks.purge_audit_log() == 2
    assert tasks.purge_audit_log() == 0


def test_the_beat_runs_the_purge_daily():
    entry = app.conf.beat_schedule["purge-audit-log"]
    assert (entry["task"], entry["schedule"]) == ("audit.tasks.purge_audit_log", 24 * 3600)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "30d", "1.5"])
def test_a_bad_retention_stops_the_process_naming_it(value):
    result = import_settings(AUDIT_RETENTION_DAYS=value)

    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("", "None"), ("365", "365")])
def test_empty_is_forever_and_a_number_is_days(value, expected):
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.AUDIT_RETENTION_DAYS)"],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "AUDIT_RETENTION_DAYS": value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
