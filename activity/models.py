"""Activity from trackers: raw heartbeats and the app-usage intervals merged from them, per-minute
activity samples, the company's privacy rules applied at intake, and the inbox heartbeats wait
in between their 202 and their merge. The tables kept their names from the apps these models
lived in before (tracking, sync): a move of state, not of data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import MD5, Now

from common.models import BaseModel
from organizations.models import Company

# --------------------------------------------------------------------------- activity
#
# Heartbeats (raw pings) and AppUsage (the intervals merged from them) are range-partitioned
# by month in PostgreSQL (activity/partitions.py creates the partitions; tracking's migration 0003 created
# the partitioned parents, which Django cannot express). Django sees ``id`` as the primary key;
# in the database the key is (id, <partition column>), as PostgreSQL requires, and ``id`` comes
# from an identity sequence, so it is unique on its own. Intervals never cross a UTC month
# boundary (the merge splits them there), so the per-partition exclusion constraint is enough
# to keep a device's intervals from overlapping, on PostgreSQL 15 as on 18.


class Heartbeat(models.Model):
    """A raw heartbeat as received (after the company's privacy rules), kept for
    ``HEARTBEAT_RETENTION_DAYS``; partitioned by month of ``timestamp``."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(Company, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    device_id = models.CharField(max_length=100)
    timestamp = models.DateTimeField()
    duration = models.FloatField()  # seconds
    app = models.CharField(max_length=255)
    title = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    project_id = models.UUIDField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "tracking_heartbeat"  # its name from before the move to this app (docs/architecture.md)
        ordering = ("timestamp", "id")

    def __str__(self) -> str:
        return f"{self.device_id} {self.timestamp:%Y-%m-%d %H:%M:%S} {self.app}"


class AppUsage(models.Model):
    """A merged interval of one app/title/url on one device; partitioned by month of
    ``started_at``. Intervals of one user and device never overlap (an exclusion constraint
    on every partition)."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(Company, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    device_id = models.CharField(max_length=100)
    app = models.CharField(max_length=255)
    title = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()

    class Meta:
        db_table = "tracking_appusage"  # its name from before the move to this app (docs/architecture.md)
        ordering = ("started_at", "id")
        verbose_name_plural = "app usage"

    def __str__(self) -> str:
        return f"{self.app} {self.started_at:%Y-%m-%d %H:%M:%S}-{self.ended_at:%H:%M:%S}"


class ActivitySample(BaseModel):
    """Keyboard and mouse counts and active seconds for one user, device and minute (upserted).
    Activity % of a span = active seconds / tracked seconds (SPEC, Hubstaff's definition)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    device_id = models.CharField(max_length=100)
    minute = models.DateTimeField()  # the minute's start, UTC
    keyboard = models.PositiveIntegerField(default=0)
    mouse = models.PositiveIntegerField(default=0)
    active_seconds = models.PositiveSmallIntegerField(default=0)

    class Meta(BaseModel.Meta):
        db_table = "tracking_activitysample"  # its name from before the move to this app (docs/architecture.md)
        ordering = ("minute", "id")
        constraints = [
            models.UniqueConstraint(fields=["user", "device_id", "minute"], name="tracking_activity_one_per_minute"),
            models.CheckConstraint(condition=Q(active_seconds__lte=60), name="tracking_activity_at_most_a_minute"),
        ]
        indexes = [models.Index(fields=["company", "user", "minute"], name="tracking_activity_lookup")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.minute:%Y-%m-%d %H:%M} {self.active_seconds}s"


class PrivacyField(models.TextChoices):
    APP = "app"
    TITLE = "title"
    URL = "url"


class PrivacyAction(models.TextChoices):
    DROP = "drop"  # the whole heartbeat is never stored
    REDACT = "redact"  # the matching field is replaced before storing


class PrivacyRule(BaseModel):
    """A company's rule applied to heartbeats at intake, before anything is stored (what
    ActivityWatch's server offers per user, per company here): when ``pattern`` (an RE2
    regular expression, searched case-insensitively) matches ``field``, drop the heartbeat or
    redact the field. Managed by OWNER and ADMIN, in the admin and the API."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="privacy_rules")
    field = models.CharField(max_length=8, choices=PrivacyField.choices)
    pattern = models.CharField(max_length=500)
    action = models.CharField(max_length=8, choices=PrivacyAction.choices)

    class Meta(BaseModel.Meta):
        db_table = "tracking_privacyrule"  # its name from before the move to this app (docs/architecture.md)
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.action} {self.field} ~ {self.pattern}"


class HeartbeatInbox(models.Model):
    """Heartbeats accepted (202) and not merged yet. The intake COPYs them here before it
    answers, so a 202 survives any crash after it; the merge moves them, in the transaction
    that merges them, into ``Heartbeat`` (raw, partitioned) and ``AppUsage``.
    Not partitioned and normally small: rows live here for seconds."""

    id = models.BigAutoField(primary_key=True)
    company_id = models.UUIDField()
    user_id = models.UUIDField()
    device_id = models.CharField(max_length=100)
    timestamp = models.DateTimeField()
    duration = models.FloatField()
    app = models.CharField(max_length=255)
    title = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    project_id = models.UUIDField(null=True, blank=True)
    pulsetime = models.FloatField()
    received_at = models.DateTimeField()

    class Meta:
        db_table = "sync_heartbeatinbox"  # its name from before the move to this app (docs/architecture.md)
        ordering = ("id",)
        indexes = [models.Index(fields=["user_id", "device_id", "id"], name="sync_hbinbox_device")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.timestamp:%Y-%m-%d %H:%M:%S} {self.app}"


# ---- activitywatch
#
# The aw-server data model behind Stint's ``/api/0/`` (activity/activitywatch/): a bucket per
# watcher and device, owned by one user in one company, and its events as aw-server stores
# them (timestamp, duration, free-form data). What a bucket of a known type says also feeds
# Stint's own pipeline (app usage, away time); the events here are what aw-client reads back.


class AwBucket(BaseModel):
    """An ActivityWatch bucket: ``bucket_id`` is the watcher's name for it (unique per user and
    company, as on one aw-server), ``hostname`` the device it reports from."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    bucket_id = models.CharField(max_length=255)
    type = models.CharField(max_length=255)
    client = models.CharField(max_length=255)
    hostname = models.CharField(max_length=255)
    name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  (aw-server's null name)
    data = models.JSONField(default=dict, blank=True)

    class Meta(BaseModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["company", "user", "bucket_id"], name="activity_awbucket_unique_id"),
        ]

    def __str__(self) -> str:
        return self.bucket_id


class AwEvent(models.Model):
    """An event of a bucket. Integer ids (aw-core's ``Event`` and aw-client expect them), and
    no created/updated columns: a heartbeat rewrites the bucket's last row several times a
    minute, and the row's own timestamp and duration are all aw-server keeps."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    bucket = models.ForeignKey(AwBucket, on_delete=models.CASCADE, related_name="events")
    timestamp = models.DateTimeField()
    duration = models.FloatField()  # seconds, as aw-server answers them
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ("-timestamp", "-id")  # newest first, as aw-server lists them
        indexes = [models.Index(fields=["bucket", "-timestamp", "-id"], name="activity_awevent_recent")]

    def __str__(self) -> str:
        return f"{self.bucket_id} {self.timestamp:%Y-%m-%d %H:%M:%S}"


# --------------------------------------------------------------------------- coding
#
# Editor heartbeats (WakaTime's protocol; ActivityWatch's ``app.editor.activity`` events):
# one row per heartbeat, as sent, after the company's privacy rules. Coding time is computed
# from them when read (activity.coding_time), so a change of ``coding_timeout_seconds``
# applies to the past too. A plain table with an identity key, like ``Heartbeat``: rows are
# written in bulk and never updated, and a UUIDv7 per row would cost the intake for nothing.


class CodingHeartbeat(models.Model):
    """One editor heartbeat. A client resends what it is not sure was stored (WakaTime's
    offline queue): the same user, moment, entity and type is one row (``coding_heartbeats_store``
    inserts with ON CONFLICT DO NOTHING on that constraint)."""

    id = models.BigAutoField(primary_key=True)
    # No index of their own: the lookup index starts with company, the unique one with user
    # (fewer indexes to write on the hot insert).
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    device_id = models.CharField(max_length=100)  # the machine (WakaTime's X-Machine-Name)
    editor = models.CharField(max_length=100, blank=True)
    time = models.DateTimeField()
    entity = models.TextField()  # a file path, a domain, an app: up to 2,048 characters
    type = models.CharField(max_length=32)  # file, domain, url, app, ...
    category = models.CharField(max_length=50, blank=True)
    project = models.CharField(max_length=255, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=100, blank=True)
    lines = models.PositiveIntegerField(null=True, blank=True)
    lineno = models.PositiveIntegerField(null=True, blank=True)
    cursorpos = models.PositiveIntegerField(null=True, blank=True)
    is_write = models.BooleanField(default=False)
    dependencies = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ("time", "id")
        constraints = [
            # md5 of the entity, not the entity: a btree entry holds at most ~2,700 bytes, and a
            # 2,048-character path of multi-byte characters would not fit.
            models.UniqueConstraint("user", "time", MD5("entity"), "type", name="activity_coding_heartbeat_once"),
        ]
        indexes = [models.Index(fields=["company", "user", "time"], name="activity_coding_lookup")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.time:%Y-%m-%d %H:%M:%S} {self.project} {self.entity}"
