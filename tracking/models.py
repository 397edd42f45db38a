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


# What the database can hold of the service's time rules (tracking.services.rules.check_times): it
# cannot know "now", so the upper bound here is a fixed sanity bound, not "a day ahead". Live
# entries only: a tombstone is out of the invariants, so a legacy out-of-range row can still be
# deleted (the constraints were added NOT VALID: rows from before them stay; docs/tracking.md).
ENTRY_TIME_RANGE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
ENTRY_MAX_DURATION = timedelta(days=31)


class TimeEntry(BaseModel):
    # No index of their own (db_index=False): each column leads one in Meta.indexes, which serves
    # the same lookups; a second index on it only cost every entry written (a sync batch's COPY).
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_entries", db_index=False
    )
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="time_entries", db_index=False)
    task = models.ForeignKey(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="time_entries", db_index=False
    )
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
            # GET /timesheets reads a month of a whole company's live entries week by week:
            # covering, so those range scans never visit the table (tracking.selectors).
            models.Index(
                fields=["user", "started_at"],
                include=["ended_at", "billable", "company"],
                condition=Q(deleted_at__isnull=True),
                name="tracking_entry_user_week",
            ),
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


class PausedTimer(BaseModel):
    """A user's paused timer (``POST /time-entries/pause``): the stopped entry whose project,
    task, description and billable flag ``/resume`` copies into a new one. At most one per user,
    as there is at most one running timer per user; a resume or any new start clears it
    (docs/tracking.md). A row, not a flag on the entry: clearing it never writes the entry, which
    may lie in a week locked since."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paused_timer")
    entry = models.OneToOneField(TimeEntry, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.user_id} paused {self.entry_id}"


class TimesheetStatus(models.TextChoices):
    OPEN = "OPEN"  # reopened (a week never submitted has no row: it is OPEN too)
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


# The statuses that lock a week's entries (the database's tracking_entry_period_locked reads
# the same list: migration 0006).
LOCKING_STATUSES = (TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED)


class Timesheet(BaseModel):
    """One member's week in one company, once it was submitted (SPEC "Timesheets").

    ``starts_at``/``ends_at`` are the week's bounds in absolute time, from the member's time
    zone when the sheet was submitted: the database's lock check compares entries with them
    (tracking migration 0006), so a later change of time zone never moves a locked week."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="timesheets")
    period_start = models.DateField()
    period_end = models.DateField()  # the week's last local day (period_start + 6)
    timezone = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=TimesheetStatus.choices, default=TimesheetStatus.OPEN)
    # The totals when submitted (a locked week cannot change; an OPEN one is summed on read).
    total_seconds = models.PositiveIntegerField(default=0)
    billable_seconds = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comment = models.CharField(max_length=2000, blank=True)

    class Meta(BaseModel.Meta):
        ordering = ("-period_start", "user_id")
        constraints = [
            models.UniqueConstraint(fields=["company", "user", "period_start"], name="tracking_timesheet_one_per_week"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="tracking_timesheet_span"),
        ]
        indexes = [
            models.Index(fields=["company", "period_start"], name="tracking_timesheet_company"),
            # The lock check's probe: a user's locking weeks by time.
            models.Index(
                fields=["user", "starts_at"],
                condition=Q(status__in=["SUBMITTED", "APPROVED"]),
                name="tracking_timesheet_locking",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} week of {self.period_start} {self.status}"

    @property
    def locks_entries(self) -> bool:
        return self.status in LOCKING_STATUSES
