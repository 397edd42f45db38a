"""Tasks (a tree under a project) and time entries, with their invariants in the database:
billing XOR on tasks; one running entry per user, ``ended_at > started_at`` and no overlap
between a user's live entries on time entries. Services turn violations into 409s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Func, Q

from common.models import BaseModel
from organizations.models import Company, Project


class TaskStatus(models.TextChoices):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"


class BillingType(models.TextChoices):
    NONE = "NONE"
    HOURLY_RATE = "HOURLY_RATE"
    TASK_PRICE = "TASK_PRICE"


class Task(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    # Unlimited depth; moving under one's own descendant is refused by the service, which
    # locks the project's tree while it checks.
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    title = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    position = models.IntegerField(default=0)
    estimate_seconds = models.PositiveIntegerField(null=True, blank=True)
    billing_type = models.CharField(max_length=16, choices=BillingType.choices, default=BillingType.NONE)
    hourly_rate_cents = models.PositiveIntegerField(null=True, blank=True)
    task_price_cents = models.PositiveIntegerField(null=True, blank=True)
    # Last-writer-wins clock for sync (the server's clock for REST writes).
    client_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta(BaseModel.Meta):
        ordering = ("position", "created_at", "id")
        indexes = [models.Index(fields=["project", "parent"], name="tracking_task_tree")]
        constraints = [
            # HOURLY_RATE needs a rate and no price; TASK_PRICE the reverse; NONE neither.
            models.CheckConstraint(
                name="tracking_task_billing_xor",
                condition=(
                    Q(billing_type=BillingType.NONE, hourly_rate_cents__isnull=True, task_price_cents__isnull=True)
                    | Q(
                        billing_type=BillingType.HOURLY_RATE,
                        hourly_rate_cents__isnull=False,
                        task_price_cents__isnull=True,
                    )
                    | Q(
                        billing_type=BillingType.TASK_PRICE,
                        hourly_rate_cents__isnull=True,
                        task_price_cents__isnull=False,
                    )
                ),
            ),
            models.CheckConstraint(name="tracking_task_not_own_parent", condition=~Q(parent=models.F("id"))),
        ]

    def __str__(self) -> str:
        return self.title


class Source(models.TextChoices):
    TIMER = "TIMER"
    MANUAL = "MANUAL"
    SYNC = "SYNC"
    IMPORT = "IMPORT"


class TsTzRange(Func):
    """tstzrange(start, end, '[)'); a NULL end is an unbounded upper end: a running entry
    occupies all time from its start on."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


# What the database can hold of the service's time rules (tracking.services._check_times): it
# cannot know "now", so the upper bound here is a fixed sanity bound, not "a day ahead". Live
# entries only: a tombstone is out of the invariants, so a legacy out-of-range row can still be
# deleted (the constraints were added NOT VALID: rows from before them stay; docs/tracking.md).
ENTRY_TIME_RANGE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
ENTRY_MAX_DURATION = timedelta(days=31)


class TimeEntry(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_entries")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="time_entries")
    task = models.ForeignKey(Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="time_entries")
    description = models.CharField(max_length=1000, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)  # null while running
    # Whole seconds, set when the entry ends (null while running): reports sum it directly.
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    billable = models.BooleanField(default=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.TIMER)
    # Last-writer-wins clock for sync: the client's for synced writes, the server's for REST.
    client_updated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)  # tombstone: hidden, frees the slot

    class Meta(BaseModel.Meta):
        ordering = ("-started_at", "-id")
        verbose_name_plural = "time entries"
        indexes = [
            models.Index(fields=["user", "-started_at"], name="tracking_entry_user_start"),
            models.Index(fields=["company", "-started_at"], name="tracking_entry_company_start"),
            models.Index(fields=["project"], name="tracking_entry_project"),
            models.Index(fields=["task"], name="tracking_entry_task"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(ended_at__isnull=True, deleted_at__isnull=True),
                name="tracking_entry_one_running_per_user",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=models.F("started_at")),
                name="tracking_entry_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=False)
                | Q(started_at__gte=ENTRY_TIME_RANGE[0], started_at__lt=ENTRY_TIME_RANGE[1]),
                name="tracking_entry_started_in_range",
            ),
            # Both the stored duration and the span itself: an ended_at that disagrees with
            # duration_seconds cannot sneak a longer entry past the cap.
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=False)
                | Q(ended_at__isnull=True)
                | Q(
                    duration_seconds__lte=int(ENTRY_MAX_DURATION.total_seconds()),
                    ended_at__lte=models.F("started_at") + ENTRY_MAX_DURATION,
                ),
                name="tracking_entry_at_most_31_days",
            ),
            ExclusionConstraint(
                name="tracking_entry_no_overlap",
                expressions=[
                    ("user", RangeOperators.EQUAL),
                    (TsTzRange("started_at", "ended_at", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.started_at:%Y-%m-%d %H:%M} {self.description[:30]}"

    @property
    def is_running(self) -> bool:
        return self.ended_at is None


# --------------------------------------------------------------------------- activity
#
# Heartbeats (raw pings) and AppUsage (the intervals merged from them) are range-partitioned
# by month in PostgreSQL (tracking/partitions.py creates the partitions; the migration creates
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
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.action} {self.field} ~ {self.pattern}"
