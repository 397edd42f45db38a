"""#15 items 6 and 11: what the database can hold of an entry's time rules
(tracking.services._check_times): a live entry starts in [2000-01-01, 2100-01-01) and lasts at
most 31 days, by its stored duration and by its span alike.

Added NOT VALID: enforced for every new or changed row from now on, without failing the
migration on a database that already holds such rows (they were possible before this). Live
entries only, so an old out-of-range row can still be deleted (a tombstone). Once none is left,
``ALTER TABLE tracking_timeentry VALIDATE CONSTRAINT ...`` makes them hold for every row
(docs/tracking.md). The 31 days are written as 744 hours: ``timestamptz + '31 days'`` counts
calendar days in the session's time zone, hours are absolute time, like the duration."""

import datetime

import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models

RANGE_SQL = """
ALTER TABLE tracking_timeentry ADD CONSTRAINT tracking_entry_started_in_range CHECK (
    deleted_at IS NOT NULL
    OR (started_at >= '2000-01-01 00:00:00+00:00'::timestamptz AND started_at < '2100-01-01 00:00:00+00:00'::timestamptz)
) NOT VALID;
ALTER TABLE tracking_timeentry ADD CONSTRAINT tracking_entry_at_most_31_days CHECK (
    deleted_at IS NOT NULL
    OR ended_at IS NULL
    OR (duration_seconds <= 2678400 AND ended_at <= started_at + interval '744 hours')
) NOT VALID;
"""
REVERSE_SQL = """
ALTER TABLE tracking_timeentry DROP CONSTRAINT tracking_entry_started_in_range;
ALTER TABLE tracking_timeentry DROP CONSTRAINT tracking_entry_at_most_31_days;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0004_company_privacy_rules_version"),
        ("tracking", "0003_activity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(RANGE_SQL, REVERSE_SQL)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="timeentry",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("deleted_at__isnull", False),
                            models.Q(
                                ("started_at__gte", datetime.datetime(2000, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                                ("started_at__lt", datetime.datetime(2100, 1, 1, 0, 0, tzinfo=datetime.UTC)),
                            ),
                            _connector="OR",
                        ),
                        name="tracking_entry_started_in_range",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="timeentry",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("deleted_at__isnull", False),
                            ("ended_at__isnull", True),
                            models.Q(
                                ("duration_seconds__lte", 2678400),
                                (
                                    "ended_at__lte",
                                    django.db.models.expressions.CombinedExpression(
                                        models.F("started_at"), "+", models.Value(datetime.timedelta(days=31))
                                    ),
                                ),
                            ),
                            _connector="OR",
                        ),
                        name="tracking_entry_at_most_31_days",
                    ),
                ),
            ],
        ),
    ]
