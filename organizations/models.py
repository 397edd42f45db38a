"""Companies, memberships and roles, teams, clients, projects and invitations. Every table
but Company carries a direct ``company`` foreign key (ARCHITECTURE: 2), so scoping a query to
a tenant is one indexed filter. Who may see or change what lives in ``permissions.py``."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

from accounts.models import validate_timezone
from common.models import BaseModel


class SubscriptionStatus(models.TextChoices):
    FREE = "FREE"
    TRIAL = "TRIAL"
    PRO = "PRO"
    ENTERPRISE = "ENTERPRISE"


class Role(models.TextChoices):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    MEMBER = "MEMBER"


class TeamRole(models.TextChoices):
    LEAD = "LEAD"
    MEMBER = "MEMBER"


class WeekStart(models.TextChoices):
    # Python's weekday numbers (Monday 0): tracking.timesheets counts weeks from them.
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class Company(BaseModel):
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # The plan (organizations.plans, settings.PLAN_LIMITS). A new company starts on TRIAL (PRO's
    # limits); billing moves it to FREE or a paid plan (company_change_plan).
    subscription_status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.TRIAL
    )
    screenshots_enabled = models.BooleanField(default=False)
    screenshot_interval_seconds = models.PositiveIntegerField(default=600)
    screenshot_blur_level = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    idle_timeout_seconds = models.PositiveIntegerField(default=300)
    # Coding time (WakaTime, editor watchers): a gap between two heartbeats of one project
    # shorter than this counts as coding, a longer one ends the stretch (activity.coding_time).
    # db_default too: rows inserted with raw SQL (bench/) get it without naming the column.
    coding_timeout_seconds = models.PositiveIntegerField(
        default=900, db_default=900, validators=[MinValueValidator(60), MaxValueValidator(4 * 3600)]
    )
    # Screenshots older than this many days are deleted, files and all (beat, hourly).
    screenshot_retention_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    # Moves (in the same transaction) whenever the company's heartbeat privacy rules change:
    # web processes cache the compiled rules and the intake's insert checks this version.
    privacy_rules_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Timesheets run from this day (the member's local days); db_default for raw-SQL inserts.
    week_start = models.CharField(
        max_length=9, choices=WeekStart.choices, default=WeekStart.MONDAY, db_default=WeekStart.MONDAY
    )
    # Nothing that starts on or before the end of this local day (the company's time zone) may
    # change: the database refuses it (tracking migration 0006, tracking_entry_period_locked).
    locked_until = models.DateField(null=True, blank=True)

    class Meta(BaseModel.Meta):
        verbose_name_plural = "companies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(screenshot_blur_level__lte=3), name="organizations_company_blur_0_3"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Per-member overrides; null = use the company's setting.
    hourly_rate_cents = models.PositiveIntegerField(null=True, blank=True)
    screenshot_blur_level = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    screenshots_enabled = models.BooleanField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta(BaseModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="organizations_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(screenshot_blur_level__isnull=True) | models.Q(screenshot_blur_level__lte=3),
                name="organizations_membership_blur_0_3",
            ),
        ]
        indexes = [models.Index(fields=["user", "is_active"], name="organizations_membership_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.company} as {self.role}"


class Team(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=150)

    class Meta(BaseModel.Meta):
        constraints = [
            models.UniqueConstraint(Lower("name"), "company", name="organizations_team_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER)

    class Meta(BaseModel.Meta):
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="organizations_teammember_unique")]
        indexes = [models.Index(fields=["user", "company"], name="organizations_teammember_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"


class Client(BaseModel):
    """A billing customer of the company."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="clients")
    name = models.CharField(max_length=150)

    class Meta(BaseModel.Meta):
        constraints = [
            models.UniqueConstraint(Lower("name"), "company", name="organizations_client_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="projects")
    client = models.ForeignKey(Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="projects")
    name = models.CharField(max_length=150)
    color = models.CharField(
        max_length=7, default="#4F46E5", validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Use #RRGGBB.")]
    )
    billable = models.BooleanField(default=True)
    hourly_rate_cents = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD", validators=[RegexValidator(r"^[A-Z]{3}$")])
    estimate_seconds = models.PositiveIntegerField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # A project with teams is visible to those teams' members; one with none to every member.
    teams: models.ManyToManyField[Team, ProjectTeam] = models.ManyToManyField(
        Team, through="ProjectTeam", related_name="projects", blank=True
    )

    class Meta(BaseModel.Meta):
        indexes = [models.Index(fields=["company", "archived_at"], name="organizations_project_company")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ProjectTeam(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="project_teams")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="project_teams")

    class Meta(BaseModel.Meta):
        constraints = [models.UniqueConstraint(fields=["project", "team"], name="organizations_projectteam_unique")]


class Invitation(BaseModel):
    """Single use, seven days; the token is stored only as its SHA-256."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} → {self.company} ({self.role})"
