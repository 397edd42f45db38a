"""Heartbeats, app usage, activity samples and privacy rules moved to the activity app: tables,
partitions and rows stay."""

from django.db import migrations

from common.migration_ops import move_content_types

# (from app, to app, model): their content types follow, so admin history and permissions do.
MOVED = [
    ('tracking', 'activity', 'heartbeat'),
    ('tracking', 'activity', 'appusage'),
    ('tracking', 'activity', 'activitysample'),
    ('tracking', 'activity', 'privacyrule'),
]


class Migration(migrations.Migration):
    dependencies = [
        ('tracking', '0004_entry_time_range_and_31_day_cap'),
        ('activity', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay, now owned by another app (its 0001 names them): state only.
            state_operations=[
            migrations.RemoveField(
                model_name='appusage',
                name='company',
            ),
            migrations.RemoveField(
                model_name='appusage',
                name='user',
            ),
            migrations.RemoveField(
                model_name='heartbeat',
                name='company',
            ),
            migrations.RemoveField(
                model_name='heartbeat',
                name='user',
            ),
            migrations.RemoveField(
                model_name='privacyrule',
                name='company',
            ),
            migrations.DeleteModel(
                name='ActivitySample',
            ),
            migrations.DeleteModel(
                name='AppUsage',
            ),
            migrations.DeleteModel(
                name='Heartbeat',
            ),
            migrations.DeleteModel(
                name='PrivacyRule',
            ),
            ],
            database_operations=[],
        ),
        move_content_types(MOVED),
    ]
