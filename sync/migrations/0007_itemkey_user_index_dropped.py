"""SyncItemKey's ``user`` loses the index Django gave the foreign key: the (user, key) unique
constraint's index leads with the column, and serves its lookups and the key's check. By hand
(CONCURRENTLY, the constraint left alone), for the reasons tracking 0009 gives."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("sync", "0006_move_to_changelog_and_activity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX CONCURRENTLY IF EXISTS "sync_syncitemkey_user_id_52a02520"',
                    reverse_sql='CREATE INDEX CONCURRENTLY IF NOT EXISTS "sync_syncitemkey_user_id_52a02520"'
                    ' ON "sync_syncitemkey" ("user_id")',
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="syncitemkey",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
