"""TimeEntry's foreign keys lose the index Django gave each of them: every one of those columns
leads an index of Meta.indexes (company and user: (column, -started_at); project and task: the
column alone, a duplicate), which serves the same lookups and the foreign keys' checks, and each
redundant index cost every entry written (a 1,000-item sync batch inserts 1,000 rows).

By hand, not as Django's AlterField: that drops and re-adds each foreign key constraint (a full
scan of the table under lock to validate it) and, for ``user``, also drops every other index on
``user_id`` alone, the partial unique ``tracking_entry_one_running_per_user`` included. Here only
the four named indexes go, CONCURRENTLY (entry writes go on meanwhile); the state is the models'."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (index, column): what 0001 created for each foreign key.
DROPPED = [
    ("tracking_timeentry_company_id_1cd23d31", "company_id"),
    ("tracking_timeentry_project_id_deaf842f", "project_id"),
    ("tracking_timeentry_task_id_c19af51a", "task_id"),
    ("tracking_timeentry_user_id_4960fdfd", "user_id"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("organizations", "0008_existing_companies_keep_everything"),
        ("tracking", "0008_paused_timer"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "tracking_timeentry" ("{column}")',
                )
                for name, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="timeentry",
                    name="company",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="organizations.company",
                    ),
                ),
                migrations.AlterField(
                    model_name="timeentry",
                    name="project",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="time_entries",
                        to="organizations.project",
                    ),
                ),
                migrations.AlterField(
                    model_name="timeentry",
                    name="task",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="time_entries",
                        to="tracking.task",
                    ),
                ),
                migrations.AlterField(
                    model_name="timeentry",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="time_entries",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
