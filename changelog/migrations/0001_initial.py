"""The change log's models, moved from the sync app with their tables and rows (sync 0006 lets go of them)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('sync', '0005_heartbeat_inbox'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist (db_table names them): only Django's idea of which app owns them moves.
            state_operations=[
            migrations.CreateModel(
                name='SyncState',
                fields=[
                    ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                    ('head', models.BigIntegerField(default=0)),
                    ('published_upto', models.BigIntegerField(default=0)),
                    ('pruned_below', models.BigIntegerField(default=0)),
                ],
                options={
                    'db_table': 'sync_syncstate',
                },
            ),
            migrations.CreateModel(
                name='Tombstone',
                fields=[
                    ('entity', models.CharField(max_length=32)),
                    ('entity_id', models.UUIDField(primary_key=True, serialize=False)),
                    ('company_id', models.UUIDField(null=True)),
                    ('deleted_at', models.DateTimeField()),
                ],
                options={
                    'db_table': 'sync_tombstone',
                },
            ),
            migrations.CreateModel(
                name='Change',
                fields=[
                    ('id', models.BigAutoField(primary_key=True, serialize=False)),
                    ('cursor', models.BigIntegerField(null=True, unique=True)),
                    ('company_id', models.UUIDField()),
                    ('user_id', models.UUIDField(null=True)),
                    ('project_id', models.UUIDField(null=True)),
                    ('entity', models.CharField(max_length=32)),
                    ('entity_id', models.UUIDField()),
                    ('action', models.CharField(max_length=8)),
                    ('event', models.CharField(max_length=40)),
                    ('payload', models.JSONField()),
                    ('at', models.DateTimeField()),
                ],
                options={
                    'db_table': 'sync_change',
                    'ordering': ('cursor',),
                    'indexes': [models.Index(condition=models.Q(('cursor__isnull', True)), fields=['id'], name='sync_change_unsequenced'), models.Index(fields=['company_id', 'cursor'], name='sync_change_company_cursor')],
                },
            ),
            ],
            database_operations=[],
        ),
    ]
