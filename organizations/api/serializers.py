from __future__ import annotations

from rest_framework import serializers

from accounts.models import validate_timezone
from common.fields import ClientUUIDField
from common.serializers import InputSerializer
from organizations.api.scoping import CompanyScopedInput
from organizations.models import (
    Client,
    Company,
    Invitation,
    Membership,
    Project,
    Role,
    SubscriptionStatus,
    Team,
    TeamMember,
    TeamRole,
    WeekStart,
)

NAME_MAX = 150

# --------------------------------------------------------------------------- companies


class CompanySerializer(serializers.ModelSerializer):
    my_role = serializers.CharField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "subscription_status",
            "screenshots_enabled",
            "screenshot_interval_seconds",
            "screenshot_blur_level",
            "idle_timeout_seconds",
            "coding_timeout_seconds",
            "screenshot_retention_days",
            "week_start",
            "locked_until",
            "my_role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CompanyCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=NAME_MAX)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class CompanyUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    subscription_status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
    screenshots_enabled = serializers.BooleanField(required=False)
    screenshot_interval_seconds = serializers.IntegerField(min_value=60, max_value=24 * 3600, required=False)
    screenshot_blur_level = serializers.IntegerField(min_value=0, max_value=3, required=False)
    idle_timeout_seconds = serializers.IntegerField(min_value=60, max_value=24 * 3600, required=False)
    coding_timeout_seconds = serializers.IntegerField(min_value=60, max_value=4 * 3600, required=False)
    screenshot_retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    week_start = serializers.ChoiceField(choices=WeekStart.choices, required=False)
    locked_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Nothing on or before this local day (company time zone) may change; null unlocks.",
    )


# --------------------------------------------------------------------------- members


class MemberSerializer(serializers.ModelSerializer):
    """What every member sees of their colleagues."""

    user_id = serializers.UUIDField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "email", "name", "role", "joined_at"]
        read_only_fields = fields


class MemberDetailSerializer(MemberSerializer):
    """What OWNERs and ADMINs see: the per-member overrides too."""

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "hourly_rate_cents", "screenshot_blur_level", "screenshots_enabled"]
        read_only_fields = fields


class MemberUpdateSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    hourly_rate_cents = serializers.IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    screenshot_blur_level = serializers.IntegerField(min_value=0, max_value=3, required=False, allow_null=True)
    screenshots_enabled = serializers.BooleanField(required=False, allow_null=True)


# --------------------------------------------------------------------------- invitations


class InvitationSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "company_id", "email", "role", "expires_at", "created_at"]
        read_only_fields = fields


class InvitationCreatedSerializer(InvitationSerializer):
    """Shown once, at creation: the token and link are never readable again."""

    token = serializers.CharField(read_only=True)
    accept_url = serializers.URLField(read_only=True)

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token", "accept_url"]
        read_only_fields = fields


class InvitationCreateSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class InvitationAcceptedSerializer(serializers.Serializer):
    company = CompanySerializer()
    role = serializers.CharField()


# --------------------------------------------------------------------------- teams


class TeamSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)
    member_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Team
        fields = ["id", "company_id", "name", "member_count", "created_at", "updated_at"]
        read_only_fields = fields


class TeamWriteSerializer(InputSerializer):
    name = serializers.CharField(max_length=NAME_MAX)


class TeamCreateSerializer(CompanyScopedInput, TeamWriteSerializer):
    pass


class TeamMemberSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="user.id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    team_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = TeamMember
        fields = ["team_id", "user_id", "email", "name", "role", "created_at"]
        read_only_fields = fields


class TeamMemberAddSerializer(InputSerializer):
    user_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=TeamRole.choices, default=TeamRole.MEMBER)


class TeamMemberUpdateSerializer(InputSerializer):
    role = serializers.ChoiceField(choices=TeamRole.choices)


# --------------------------------------------------------------------------- clients


class ClientSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Client
        fields = ["id", "company_id", "name", "created_at", "updated_at"]
        read_only_fields = fields


class ClientWriteSerializer(InputSerializer):
    name = serializers.CharField(max_length=NAME_MAX)


class ClientCreateSerializer(CompanyScopedInput, ClientWriteSerializer):
    pass


# --------------------------------------------------------------------------- projects


class ProjectSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)
    client_id = serializers.UUIDField(read_only=True, allow_null=True)
    team_ids = serializers.SerializerMethodField()
    tracked_seconds = serializers.IntegerField(read_only=True, default=0)
    open_task_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Project
        fields = [
            "id",
            "company_id",
            "client_id",
            "name",
            "color",
            "billable",
            "hourly_rate_cents",
            "currency",
            "estimate_seconds",
            "archived_at",
            "team_ids",
            "tracked_seconds",
            "open_task_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_team_ids(self, project: Project) -> list[str]:
        return sorted(str(team.pk) for team in project.teams.all())


class ProjectWriteSerializer(CompanyScopedInput):
    id = ClientUUIDField(required=False)
    name = serializers.CharField(max_length=NAME_MAX)
    client_id = serializers.UUIDField(required=False, allow_null=True)
    color = serializers.RegexField(r"^#[0-9A-Fa-f]{6}$", required=False)
    billable = serializers.BooleanField(required=False)
    hourly_rate_cents = serializers.IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    estimate_seconds = serializers.IntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    team_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)


class ProjectUpdateSerializer(ProjectWriteSerializer):
    # A project keeps its id and company: naming either in a PATCH is a 400, not ignored.
    id = None  # type: ignore[assignment]  # DRF drops a declared field set to None
    company_id = None  # type: ignore[assignment]  # as above
    name = serializers.CharField(max_length=NAME_MAX, required=False)
