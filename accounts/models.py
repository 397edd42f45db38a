from __future__ import annotations

import functools
import uuid
import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from common.models import BaseModel

# What `settings` holds when a user never changed anything (SPEC: Domain, User).
DEFAULT_USER_SETTINGS = {
    "week_start": "monday",
    "time_format": "24h",
    "date_format": "YYYY-MM-DD",
    "duration_format": "hh:mm",
}


def normalize_email(email: str) -> str:
    """The one spelling of an email we store and look up: trimmed and lower-cased in Python.
    Lookups are exact matches on it, never the database's case-insensitive comparison, whose
    Unicode folding differs (PostgreSQL's upper('ı') is 'I'): a look-alike address must not
    sign in to, or share a throttle counter with, another account."""
    return email.strip().lower()


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the time zone database on disk (about 10 ms): once per
    # process, not on every request that names a zone (?tz= on every report).
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(f"{value!r} is not an IANA time zone.", code="invalid_timezone")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    """Signs in with an email address, unique case-insensitively (stored lower-cased too)."""

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=150)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    settings = models.JSONField(default=dict, blank=True)
    # The company a request acts in when it names none (SPEC: Conventions, "Which company a
    # request acts in"). Set by PATCH /me to a company the user is an active member of, and at
    # registration; it can go stale when they leave, so scoping still checks the membership.
    # A string reference: organizations depends on accounts, not the other way round.
    default_company = models.ForeignKey(
        "organizations.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = UserManager()

    # Not a column: set on the request's user by PersonalTokenAuthentication when the token is
    # bound to one company, and read by organizations.permissions.active_memberships, so every
    # way a request finds its companies (?company=, the default, "your only one", the lists)
    # sees that company alone.
    acting_company_id: uuid.UUID | None = None

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta(BaseModel.Meta):
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def effective_settings(self) -> dict:
        return {**DEFAULT_USER_SETTINGS, **self.settings}


class DeviceSession(BaseModel):
    """One signed-in device. It is the refresh-token family: every rotated token points here,
    and revoking it kills its refresh tokens and (via the auth cache) its access tokens."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="device_sessions")
    device_name = models.CharField(max_length=150, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    stay_logged_in = models.BooleanField(default=False)
    # Absolute: refreshing never extends it (90 days with stay_logged_in, else 1 day).
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta(BaseModel.Meta):
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_session_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.device_name or 'device'}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class RefreshToken(BaseModel):
    """A refresh token, stored only as its SHA-256. ``rotated_at`` set = already used once;
    presenting it again is token theft or a replay, and revokes all the user's sessions."""

    session = models.ForeignKey(DeviceSession, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta(BaseModel.Meta):
        constraints = [
            # At most one live (unrotated) token per session: the database, not the code,
            # guarantees a refresh race cannot leave two live successors.
            models.UniqueConstraint(
                fields=["session"],
                condition=models.Q(rotated_at__isnull=True),
                name="accounts_refresh_one_live_per_session",
            ),
        ]


class PasswordResetToken(BaseModel):
    """Single use, one hour, stored only as its SHA-256."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_reset_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class TokenScope(models.TextChoices):
    """What a personal access token may do (SPEC: Accounts, "Personal access tokens")."""

    READ = "read", "Read (GET)"
    WRITE = "write", "Write (every call the user may make)"
    INGEST = "ingest", "Ingest (heartbeats, activity, tracker intakes)"


class PersonalAccessToken(BaseModel):
    """A long-lived token for scripts and trackers. The raw token (a UUIDv4: WakaTime clients
    refuse any other shape) is shown once and stored only as its SHA-256; ``prefix`` (its
    first 8 characters) lets the owner tell tokens apart in a list. ``user`` created it (the
    audit log of a later issue reads who created and who revoked from here)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="personal_tokens")
    name = models.CharField(max_length=100)
    scopes = ArrayField(models.CharField(max_length=8, choices=TokenScope.choices), size=3)
    # Bound to one company: the token acts there only. Null: wherever its user may.
    company = models.ForeignKey(
        "organizations.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta(BaseModel.Meta):
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_pat_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scopes__len__gt=0) & models.Q(scopes__contained_by=[s.value for s in TokenScope]),
                name="accounts_pat_scopes_known_nonempty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
