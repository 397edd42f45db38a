from __future__ import annotations

from rest_framework import serializers

from accounts.models import DeviceSession, User, validate_timezone
from organizations.models import Company

# Input strings are bounded: a sign-in form never needs more.
EMAIL_MAX, PASSWORD_MAX, NAME_MAX = 254, 256, 150


class UserSerializer(serializers.ModelSerializer):
    settings = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "timezone", "settings"]
        read_only_fields = fields

    def get_settings(self, user: User) -> dict:
        return user.effective_settings


class CompanyBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "slug", "timezone", "subscription_status"]
        read_only_fields = fields


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    name = serializers.CharField(max_length=NAME_MAX)
    company_name = serializers.CharField(max_length=150, required=False, allow_blank=False)
    device_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class RegisterOutputSerializer(serializers.Serializer):
    user = UserSerializer()
    company = CompanyBriefSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()
    session_id = serializers.UUIDField()


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    device_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    stay_logged_in = serializers.BooleanField(required=False, default=False)


class LoginOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    session_id = serializers.UUIDField()
    user = UserSerializer()


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=256)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


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


class PasswordForgotInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX)


class PasswordResetInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=256)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class MeUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class SettingsInputSerializer(serializers.Serializer):
    """The preferences a client may set; unknown keys are refused so typos do not linger."""

    week_start = serializers.ChoiceField(
        choices=["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], required=False
    )
    time_format = serializers.ChoiceField(choices=["12h", "24h"], required=False)
    date_format = serializers.ChoiceField(
        choices=["YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY"], required=False
    )
    duration_format = serializers.ChoiceField(choices=["hh:mm", "hh:mm:ss", "decimal"], required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) if isinstance(self.initial_data, dict) else set()
        if unknown:
            raise serializers.ValidationError(
                dict.fromkeys(sorted(unknown), "Unknown setting."), code="unknown_setting"
            )
        if not attrs:
            raise serializers.ValidationError("Send at least one setting.", code="empty")
        return attrs
