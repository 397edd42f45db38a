from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import validate_timezone
from imports import sources
from imports.models import ImportJob
from organizations.api.scoping import CompanyScopedInput


class ImportCreateSerializer(CompanyScopedInput):
    file = serializers.FileField(allow_empty_file=False, help_text="The other tool's export (docs/imports.md).")
    source = serializers.ChoiceField(choices=sorted(sources.SOURCES))  # type: ignore[assignment]  # a field, not Field.source
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Compute the exact summary a real run would give; write nothing."
    )
    invite_unknown = serializers.BooleanField(
        required=False,
        default=False,
        help_text="OWNER/ADMIN: invite the file's unknown emails as members (their rows import) instead of "
        "error rows; a dry run only counts them.",
    )
    timezone = serializers.CharField(
        required=False,
        validators=[validate_timezone],
        help_text="IANA zone of times written without an offset; default: yours.",
    )
    date_format = serializers.CharField(
        required=False,
        max_length=16,
        help_text="Clockify's profile date format (MM/DD/YYYY, DD/MM/YYYY, YYYY-MM-DD, DD.MM.YYYY, ...); "
        "default: detected.",
    )


class ImportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Rows read so far.")
    total = serializers.IntegerField(
        allow_null=True, help_text="The file's rows (estimated from its lines until the end; null for JSON until then)."
    )


class ImportCreatedSerializer(serializers.Serializer):
    clients = serializers.IntegerField()
    projects = serializers.IntegerField()
    tasks = serializers.IntegerField()
    entries = serializers.IntegerField()
    app_usage = serializers.IntegerField(help_text="ActivityWatch events stored (activitywatch_json).")
    coding_heartbeats = serializers.IntegerField(
        required=False, default=0, help_text="WakaTime heartbeats stored (wakatime_json)."
    )
    members = serializers.IntegerField(
        required=False, help_text="People invited (with invite_unknown only; a dry run: would invite)."
    )


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="As a spreadsheet numbers it (a CSV's header is row 1); a JSON file's items from 1."
    )
    field = serializers.CharField(help_text="The column or key to look at; empty for the whole row.")
    detail = serializers.CharField()


class ImportSummarySerializer(serializers.Serializer):
    created = ImportCreatedSerializer()
    duplicates = serializers.IntegerField(help_text="Rows already imported (this file or an earlier one): skipped.")
    errors = ImportErrorSerializer(many=True, help_text="The first 1,000 error rows, by row.")  # type: ignore[assignment]
    error_count = serializers.IntegerField(help_text="Every error row, kept or not.")
    invited = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        help_text="With invite_unknown only: the emails invited (a dry run: would invite), the first 1,000.",
    )


class ImportSerializer(serializers.ModelSerializer):
    company_id = serializers.UUIDField(read_only=True)
    requested_by_id = serializers.UUIDField(read_only=True)
    progress = serializers.SerializerMethodField()
    summary = ImportSummarySerializer(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "company_id", "requested_by_id", "source", "file_name", "dry_run", "invite_unknown", "status",
            "error", "progress",
            "summary", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, job: ImportJob) -> dict:
        return {"done": job.progress_done, "total": job.progress_total}


class ImportPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ImportSerializer(many=True)
