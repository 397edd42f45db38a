"""Companies and memberships. The foundation keeps them minimal (what register needs); the
organizations issue adds teams, clients, projects, invitations and the permission layer."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

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


class Company(BaseModel):
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    subscription_status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.FREE
    )
    screenshots_enabled = models.BooleanField(default=False)
    screenshot_interval_seconds = models.PositiveIntegerField(default=600)
    screenshot_blur_level = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(3)]
    )
    idle_timeout_seconds = models.PositiveIntegerField(default=300)

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
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.company_id} as {self.role}"
