"""Imports in the company-scoped admin: OWNER and ADMIN see their company's (who, which
source, status, progress, summary) and upload a file ("Add import job": the upload form),
which goes through ``imports.services.import_request`` like the API's and runs on the
worker; the job's page then shows its summary. Jobs are never edited or deleted here."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.models import validate_timezone
from common.exceptions import ServiceError
from imports import services, sources
from imports.models import ImportJob, empty_summary
from organizations import permissions
from organizations.admin_mixins import CompanyScopedAdminMixin
from organizations.admin_site import admin_memberships
from organizations.models import Membership

# Error rows shown on a job's page; the API and the command give the rest.
ERRORS_SHOWN = 50


class ImportUploadForm(forms.Form):
    company = forms.ChoiceField(help_text="The company the rows go into.")
    file = forms.FileField(allow_empty_file=False, help_text="The other tool's export (docs/imports.md).")
    source = forms.ChoiceField()
    dry_run = forms.BooleanField(
        required=False, initial=True, help_text="Compute the exact summary a real run would give; write nothing."
    )
    invite_unknown = forms.BooleanField(
        required=False, help_text="Invite the file's unknown emails as members (their rows import), not error rows."
    )
    timezone = forms.CharField(
        required=False, max_length=64, help_text="IANA zone of times written without an offset; default: yours."
    )
    date_format = forms.CharField(
        required=False, max_length=16, help_text="Clockify's profile date format (DD/MM/YYYY, ...); default: detected."
    )

    def __init__(self, *args, memberships: list[Membership], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.memberships = {str(m.company_id): m for m in memberships}
        cast(forms.ChoiceField, self.fields["company"]).choices = [
            (key, m.company.name) for key, m in self.memberships.items()
        ]
        if len(memberships) == 1:
            self.fields["company"].initial = str(memberships[0].company_id)
            self.fields["company"].widget = forms.HiddenInput()
        cast(forms.ChoiceField, self.fields["source"]).choices = [
            (name, name) for name in sorted(sources.SOURCES) if sources.supported(name)
        ]

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value:
            try:
                validate_timezone(value)
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from exc
        return value

    def membership(self) -> Membership:
        return self.memberships[self.cleaned_data["company"]]


@admin.register(ImportJob)
class ImportJobAdmin(CompanyScopedAdminMixin, admin.ModelAdmin):
    manage_permission = permissions.can_see_others_imports
    list_display = ("source", "file_name", "dry_run", "requested_by", "status", "progress_done", "created_at")
    list_filter = ("source", "dry_run", "status")
    list_select_related = ("requested_by",)
    readonly_fields = (
        "requested_by", "source", "file_name", "size_bytes", "dry_run", "invite_unknown", "timezone", "date_format",
        "status", "attempts", "error", "progress_done", "progress_total", "summary_table", "created_at", "started_at",
        "finished_at",
    )  # fmt: skip
    exclude = ("company", "file_key", "committed_row", "summary")

    def has_add_permission(self, request) -> bool:
        # Adding is uploading, which needs a membership to import as: a superuser who
        # administers no company has none.
        return bool(self._upload_memberships(request))

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _upload_memberships(self, request: HttpRequest) -> list[Membership]:
        """The caller's OWNER/ADMIN memberships (for a superuser too: imports act as a member)."""
        found = admin_memberships(request).values()
        return sorted(
            (m for m in found if permissions.can_see_others_imports(m)), key=lambda m: (m.company.name, m.company_id)
        )

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        """The upload form in place of a model form: the job is the service's to create."""
        memberships = self._upload_memberships(request)
        if not memberships:
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None, memberships=memberships)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = services.import_request(
                    membership=form.membership(),
                    fileobj=data["file"],
                    source=data["source"],
                    dry_run=data["dry_run"],
                    tz=data["timezone"] or None,
                    date_format=data["date_format"] or None,
                    invite_unknown=data["invite_unknown"],
                )
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                what = "Dry run" if job.dry_run else "Import"
                self.message_user(
                    request, f"{what} of {job.file_name} queued: this page shows its summary when it ends."
                )
                return HttpResponseRedirect(reverse("admin:imports_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload an import",
            "form": form,
            "opts": self.model._meta,
            "has_view_permission": self.has_view_permission(request),
            **(extra_context or {}),
        }
        if form.errors:
            messages.error(request, "Please correct the errors below.")
        return TemplateResponse(request, "admin/imports/importjob/upload.html", context)

    @admin.display(description="Summary")
    def summary_table(self, job: ImportJob) -> str:
        summary = job.summary or {}
        counts = summary.get("created") or {}
        names = [
            *empty_summary()["created"],
            *sorted(set(counts) - set(empty_summary()["created"])),
        ]  # jsonb sorts keys
        created = ", ".join(f"{counts[name]} {name}" for name in names if name in counts)
        errors = summary.get("errors") or []
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.get("row"), e.get("field"), e.get("detail")) for e in errors[:ERRORS_SHOWN]),
        )  # fmt: skip
        table = format_html(
            "<table><thead><tr><th>Row</th><th>Field</th><th>Why</th></tr></thead><tbody>{}</tbody></table>", rows
        )
        return format_html(
            "<p>{}: {}. Duplicates skipped: {}. Error rows: {}.</p>{}",
            "Would create" if job.dry_run else "Created",
            created or "nothing",
            summary.get("duplicates", 0),
            summary.get("error_count", 0),
            table if errors else "",
        )
