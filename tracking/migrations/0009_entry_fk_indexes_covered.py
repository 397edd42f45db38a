"""Drop the four single-column foreign-key indexes of tracking_timeentry: each column leads an
index of Meta.indexes (company/user: *_start, project/task: tracking_entry_project/_task), so they
only cost a write per entry. State only for Django; the database drops just the indexes, because
AlterField would drop and re-add the foreign keys (a full-table validation) and, for user, drop
the partial unique index of one running timer per user without creating it again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0008_existing_companies_keep_everything"),
        ("tracking", "0008_paused_timer"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
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
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "tracking_timeentry" ("{column}")',
                )
                for name, column in (
                    ("tracking_timeentry_company_id_1cd23d31", "company_id"),
                    ("tracking_timeentry_project_id_deaf842f", "project_id"),
                    ("tracking_timeentry_task_id_c19af51a", "task_id"),
                    ("tracking_timeentry_user_id_4960fdfd", "user_id"),
                )
            ],
        ),
    ]
