from __future__ import annotations

from rest_framework import serializers

from common import parsers
from organizations.api.scoping import CompanyScopedInput
from screenshots.models import Screenshot
from screenshots.storage import on_s3


class ScreenshotSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)
    user_id = serializers.UUIDField(read_only=True)
    time_entry_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Screenshot
        fields = [
            "id", "company_id", "user_id", "time_entry_id", "captured_at", "blur_level", "status", "error", "width",
            "height", "bytes", "sha256", "metadata", "created_at", "processed_at",
        ]  # fmt: skip
        read_only_fields = fields


class ScreenshotLinksSerializer(ScreenshotSerializer):
    """With ``image_url`` and ``thumbnail_url``: absolute, signed, valid SCREENSHOT_LINK_SECONDS."""

    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta(ScreenshotSerializer.Meta):
        fields = [*ScreenshotSerializer.Meta.fields, "image_url", "thumbnail_url"]
        read_only_fields = fields

    def _link(self, screenshot, variant: str) -> str | None:
        from django.urls import reverse

        from common.signed_links import link_token

        if screenshot.status != "READY":
            return None
        if on_s3():  # the bucket's own presigned GET, 5 minutes
            from django.core.files.storage import default_storage

            return default_storage.url(screenshot.image_key if variant == "image" else screenshot.thumbnail_key)
        token = link_token(salt="screenshot", value=f"{screenshot.pk}:{variant}")
        path = reverse("screenshot-file", args=[screenshot.pk, variant]) + f"?token={token}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_image_url(self, screenshot) -> str | None:
        return self._link(screenshot, "image")

    def get_thumbnail_url(self, screenshot) -> str | None:
        return self._link(screenshot, "thumbnail")


class ScreenshotUploadSerializer(CompanyScopedInput):
    file = serializers.FileField(allow_empty_file=False)
    captured_at = serializers.DateTimeField()
    time_entry_id = serializers.UUIDField(required=False, allow_null=True)
    metadata = serializers.CharField(
        required=False, max_length=64 * 1024, help_text="A JSON object (os, resolution, displays, ...)."
    )

    def validate_metadata(self, value: str) -> dict:
        # Decoded here (the form carries it as text); its size and depth are the service's rule.
        try:
            data = parsers.loads(value)  # as a JSON body is decoded (common.parsers)
        except ValueError:
            raise serializers.ValidationError("Must be a JSON object, not nested too deeply.") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data


class ScreenshotQuerySerializer(serializers.Serializer):
    user = serializers.UUIDField(required=False)
    to = serializers.DateTimeField(required=False)

    def get_fields(self):
        return {"from": serializers.DateTimeField(required=False), **super().get_fields()}


class ScreenshotPresignSerializer(CompanyScopedInput):
    captured_at = serializers.DateTimeField()
    content_type = serializers.ChoiceField(choices=["image/png", "image/jpeg", "image/webp"])
    size = serializers.IntegerField(min_value=1)
    time_entry_id = serializers.UUIDField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False, help_text="At most 4,096 bytes as JSON, 4 levels deep.")


class UploadSerializer(serializers.Serializer):
    url = serializers.URLField()
    method = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())


class PresignedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    upload = UploadSerializer()
    expires_at = serializers.DateTimeField()
