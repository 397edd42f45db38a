"""Heartbeats, app usage, activity samples and privacy rules moved to the activity app: tables,
partitions and rows stay."""

from django.db import migrations

# (from app, to app, model): their content types follow, so admin history and permissions do.
MOVED = [
    ('tracking', 'activity', 'heartbeat'),
    ('tracking', 'activity', 'appusage'),
    ('tracking', 'activity', 'activitysample'),
    ('tracking', 'activity', 'privacyrule'),
]


def move_content_types(apps, schema_editor, reverse=False):
    content_type = apps.get_model("contenttypes", "ContentType")
    for old, new, model in MOVED:
        old, new = (new, old) if reverse else (old, new)
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, reverse=True)


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
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
