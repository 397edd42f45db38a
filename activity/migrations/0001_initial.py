"""Activity's models, moved from tracking (heartbeats, app usage, samples, privacy rules) and sync (the
heartbeat inbox) with their tables, partitions and rows (tracking 0005 and sync 0006 let go of them)."""

import common.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('organizations', '0004_company_privacy_rules_version'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('tracking', '0004_entry_time_range_and_31_day_cap'),
        ('sync', '0005_heartbeat_inbox'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables exist (db_table names them): only Django's idea of which app owns them moves.
            state_operations=[
            migrations.CreateModel(
                name='AppUsage',
                fields=[
                    ('id', models.BigAutoField(primary_key=True, serialize=False)),
                    ('device_id', models.CharField(max_length=100)),
                    ('app', models.CharField(max_length=255)),
                    ('title', models.CharField(blank=True, max_length=1000)),
                    ('url', models.CharField(blank=True, max_length=2048)),
                    ('domain', models.CharField(blank=True, max_length=255)),
                    ('started_at', models.DateTimeField()),
                    ('ended_at', models.DateTimeField()),
                    ('company', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organizations.company')),
                    ('user', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name_plural': 'app usage',
                    'db_table': 'tracking_appusage',
                    'ordering': ('started_at', 'id'),
                },
            ),
            migrations.CreateModel(
                name='Heartbeat',
                fields=[
                    ('id', models.BigAutoField(primary_key=True, serialize=False)),
                    ('device_id', models.CharField(max_length=100)),
                    ('timestamp', models.DateTimeField()),
                    ('duration', models.FloatField()),
                    ('app', models.CharField(max_length=255)),
                    ('title', models.CharField(blank=True, max_length=1000)),
                    ('url', models.CharField(blank=True, max_length=2048)),
                    ('domain', models.CharField(blank=True, max_length=255)),
                    ('project_id', models.UUIDField(blank=True, null=True)),
                    ('received_at', models.DateTimeField()),
                    ('company', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organizations.company')),
                    ('user', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'tracking_heartbeat',
                    'ordering': ('timestamp', 'id'),
                },
            ),
            migrations.CreateModel(
                name='HeartbeatInbox',
                fields=[
                    ('id', models.BigAutoField(primary_key=True, serialize=False)),
                    ('company_id', models.UUIDField()),
                    ('user_id', models.UUIDField()),
                    ('device_id', models.CharField(max_length=100)),
                    ('timestamp', models.DateTimeField()),
                    ('duration', models.FloatField()),
                    ('app', models.CharField(max_length=255)),
                    ('title', models.CharField(blank=True, max_length=1000)),
                    ('url', models.CharField(blank=True, max_length=2048)),
                    ('domain', models.CharField(blank=True, max_length=255)),
                    ('project_id', models.UUIDField(blank=True, null=True)),
                    ('pulsetime', models.FloatField()),
                    ('received_at', models.DateTimeField()),
                ],
                options={
                    'db_table': 'sync_heartbeatinbox',
                    'ordering': ('id',),
                    'indexes': [models.Index(fields=['user_id', 'device_id', 'id'], name='sync_hbinbox_device')],
                },
            ),
            migrations.CreateModel(
                name='PrivacyRule',
                fields=[
                    ('id', models.UUIDField(default=common.models.uuid7, editable=False, primary_key=True, serialize=False)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('field', models.CharField(choices=[('app', 'App'), ('title', 'Title'), ('url', 'Url')], max_length=8)),
                    ('pattern', models.CharField(max_length=500)),
                    ('action', models.CharField(choices=[('drop', 'Drop'), ('redact', 'Redact')], max_length=8)),
                    ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='privacy_rules', to='organizations.company')),
                ],
                options={
                    'db_table': 'tracking_privacyrule',
                    'ordering': ('created_at', 'id'),
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='ActivitySample',
                fields=[
                    ('id', models.UUIDField(default=common.models.uuid7, editable=False, primary_key=True, serialize=False)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('device_id', models.CharField(max_length=100)),
                    ('minute', models.DateTimeField()),
                    ('keyboard', models.PositiveIntegerField(default=0)),
                    ('mouse', models.PositiveIntegerField(default=0)),
                    ('active_seconds', models.PositiveSmallIntegerField(default=0)),
                    ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.company')),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'tracking_activitysample',
                    'ordering': ('minute', 'id'),
                    'abstract': False,
                    'indexes': [models.Index(fields=['company', 'user', 'minute'], name='tracking_activity_lookup')],
                    'constraints': [models.UniqueConstraint(fields=('user', 'device_id', 'minute'), name='tracking_activity_one_per_minute'), models.CheckConstraint(condition=models.Q(('active_seconds__lte', 60)), name='tracking_activity_at_most_a_minute')],
                },
            ),
            ],
            database_operations=[],
        ),
    ]
