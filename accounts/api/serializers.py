from __future__ import annotations

from rest_framework import serializers

from accounts.models import DeviceSession, PersonalAccessToken, TokenScope, User, validate_timezone
from common.serializers import InputSerializer
from organizations.models import Company

# Input strings are bounded: a sign-in form never needs more.
EMAIL_MAX, PASSWORD_MAX, NAME_MAX = 254, 256, 150


class UserSerializer(serializers.ModelSerializer):
    settings = serializers.SerializerMethodField()
    default_company_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "email", "name", "timezone", "settings", "default_company_id"]
        read_only_fields = fields

    def get_settings(self, user: User) -> dict:
        return user.effective_settings


class CompanyBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "slug", "timezone", "subscription_status"]
        read_only_fields = fields


class RegisterInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    name = serializers.CharField(max_length=NAME_MAX)
    company_name = serializers.CharField(max_length=150, required=False, allow_blank=False)
    invitation_token = serializers.CharField(
        max_length=256, required=False, help_text="Join the inviting company instead of creating one."
    )
    device_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class RegisterOutputSerializer(serializers.Serializer):
    user = UserSerializer()
    company = CompanyBriefSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()
    session_id = serializers.UUIDField()


class LoginInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    device_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    stay_logged_in = serializers.BooleanField(required=False, default=False)
    # Browser apps: the refresh token goes into an HttpOnly cookie instead of the body.
    cookie = serializers.BooleanField(required=False, default=False)


class LoginOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(allow_null=True, help_text="null when it was set as a cookie (cookie: true)")
    session_id = serializers.UUIDField()
    user = UserSerializer()


class RefreshInputSerializer(InputSerializer):
    refresh = serializers.CharField(
        max_length=256, required=False, help_text="Omit to use the refresh cookie (with X-Stint-Refresh: cookie)."
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(allow_null=True, help_text="null when the rotated token was set as a cookie")


class DeviceSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = DeviceSession
        fields = [
            "id",
            "device_name",
            "user_agent",
            "ip",
            "created_at",
            "last_seen_at",
            "expires_at",
            "stay_logged_in",
            "current",
        ]
        read_only_fields = fields

    def get_current(self, session: DeviceSession) -> bool:
        return str(session.id) == self.context.get("session_id")


class PasswordForgotInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX)


class PasswordResetInputSerializer(InputSerializer):
    token = serializers.CharField(max_length=256)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class PasswordChangeInputSerializer(InputSerializer):
    current_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class MeUpdateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    default_company_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="A company you are an active member of; null clears it."
    )


class SettingsInputSerializer(InputSerializer):
    """The preferences a client may set; unknown keys are refused (InputSerializer) so typos do
    not linger."""

    week_start = serializers.ChoiceField(
        choices=["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], required=False
    )
    time_format = serializers.ChoiceField(choices=["12h", "24h"], required=False)
    date_format = serializers.ChoiceField(
        choices=["YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY"], required=False
    )
    duration_format = serializers.ChoiceField(choices=["hh:mm", "hh:mm:ss", "decimal"], required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one setting.", code="empty")
        return attrs


# --------------------------------------------------------------------------- personal tokens


class PersonalTokenSerializer(serializers.ModelSerializer):
    """A personal access token as its owner sees it in a list: never the token itself."""

    company_id = serializers.UUIDField(read_only=True, allow_null=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=TokenScope.choices), read_only=True)

    class Meta:
        model = PersonalAccessToken
        fields = ["id", "name", "scopes", "company_id", "prefix", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class PersonalTokenCreatedSerializer(PersonalTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself: shown this once, never again.")

    class Meta(PersonalTokenSerializer.Meta):
        fields = [*PersonalTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class PersonalTokenCreateInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100, help_text="What the token is for (a script, a machine).")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices),
        min_length=1,
        max_length=3,
        help_text="read: GET only; write: every call you may make; ingest: heartbeats, activity and the "
        "ActivityWatch and WakaTime intakes only.",
    )
    company_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Bind the token to one of your companies: it acts there only."
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="In the future; null: never.")
