"""The change log moved to the changelog app, the heartbeat inbox to activity: tables and rows stay."""

from django.db import migrations

from common.migration_ops import move_content_types

# (from app, to app, model): their content types follow, so admin history and permissions do.
MOVED = [
    ('sync', 'changelog', 'change'),
    ('sync', 'changelog', 'syncstate'),
    ('sync', 'changelog', 'tombstone'),
    ('sync', 'activity', 'heartbeatinbox'),
]


class Migration(migrations.Migration):
    dependencies = [
        ('sync', '0005_heartbeat_inbox'),
        ('changelog', '0001_initial'),
        ('activity', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay, now owned by another app (its 0001 names them): state only.
            state_operations=[
            migrations.DeleteModel(
                name='Change',
            ),
            migrations.DeleteModel(
                name='HeartbeatInbox',
            ),
            migrations.DeleteModel(
                name='SyncState',
            ),
            migrations.DeleteModel(
                name='Tombstone',
            ),
            ],
            database_operations=[],
        ),
        move_content_types(MOVED),
    ]
