"""``manage.py import_data FILE --source toggl_csv --company SLUG_OR_ID --user EMAIL``: the
API's import, run here and now through the same job and pipeline (docs/imports.md)."""

from __future__ import annotations

import sys
import uuid

from django.core.management.base import BaseCommand, CommandError

from imports import services, sources
from imports.models import ImportJob
from organizations.models import Membership


class Command(BaseCommand):
    help = "Import a file of another time tracker (or a Stint full export) into a company."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", required=True, choices=sorted(sources.SOURCES))
        parser.add_argument("--company", required=True, help="The company's slug or id.")
        parser.add_argument("--user", required=True, help="The importing member's email (their role applies).")
        parser.add_argument("--dry-run", action="store_true", help="Print the summary; write nothing.")
        parser.add_argument("--timezone", help="IANA zone of times written without an offset; default: the user's.")
        parser.add_argument("--date-format", help="Clockify's profile date format; default: detected.")
        parser.add_argument(
            "--invite-unknown",
            action="store_true",
            help="Invite the file's unknown emails as members (--user must be OWNER or ADMIN).",
        )

    def handle(self, *args, **options):
        company = options["company"]
        try:
            by_company = {"company_id": uuid.UUID(company)}
        except ValueError:
            by_company = {"company__slug": company}
        membership = (
            Membership.objects.filter(user__email__iexact=options["user"], is_active=True, **by_company)
            .select_related("company", "user")
            .first()
        )
        if membership is None:
            raise CommandError(f"{options['user']} is not an active member of {company}.")
        bar = _Bar(self.stderr if options.get("verbosity", 1) else None)
        try:
            job = services.import_file(
                membership=membership,
                path=options["file"],
                source=options["source"],
                dry_run=options["dry_run"],
                tz=options.get("timezone"),
                date_format=options.get("date_format"),
                invite_unknown=options.get("invite_unknown", False),
                on_progress=bar.update,
            )
        except Exception as exc:  # a refusal before any row (unknown source, unreadable file)
            raise CommandError(str(exc)) from exc
        bar.close()
        summary = job.summary
        names: tuple[str, ...] = ("clients", "projects", "tasks", "entries", "app_usage", "coding_heartbeats")
        names += ("members",) if job.invite_unknown else ()
        created = ", ".join(f"{summary['created'].get(name, 0)} {name}" for name in names)
        counts = f"{summary['duplicates']} duplicates; {summary.get('error_count', 0)} error rows"
        self.stdout.write(f"{job.status}{' (dry run)' if job.dry_run else ''}: created {created}; {counts}.")
        for error in summary["errors"][:20]:
            self.stdout.write(f"  row {error['row']} {error['field']}: {error['detail']}")
        if job.error:
            self.stdout.write(f"error: {job.error}")
        if job.status != "READY":
            raise CommandError(f"The import ended {job.status}.")


class _Bar:
    """A one-line progress bar on stderr (no dependency for one line)."""

    def __init__(self, out) -> None:
        self.out = out

    def update(self, job: ImportJob) -> None:
        if self.out is None:
            return
        total = job.progress_total or 0
        done = job.progress_done
        width = 30
        filled = int(width * min(done / total, 1)) if total else 0
        self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total or '?'} rows", ending="")
        if hasattr(sys.stderr, "flush"):
            self.out.flush()

    def close(self) -> None:
        if self.out is not None:
            self.out.write("")
