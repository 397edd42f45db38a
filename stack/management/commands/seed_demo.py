"""`manage.py seed_demo`: the demo world of SPEC.md (Operations), built through the services.

alex@studio.co / password123 owns "Studio Co": three active projects (Finch, Orbit,
Merryfield) and three archived ones; Orbit's "Onboarding flow" has subtasks four levels deep
with Alex's timer running on the deepest active leaf; teammates have a week of entries, with
the app usage and per-minute activity their trackers would have sent meanwhile, and the
screenshots (on in Studio Co, lightly blurred): small generated screens, uploaded and processed
by the screenshot services the API and the worker use, so they are READY with a thumbnail.
Idempotent: each piece is looked up before it is made, so a second run changes nothing.
(The one command in ``common`` that imports the domain apps: it builds a world from all.)"""

from __future__ import annotations

import io
import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activity import partitions
from activity.appusage import Beat, appusage_merge
from activity.models import ActivitySample
from organizations import services as org
from organizations.models import Client, Company, Membership, Project, Role, Team, TeamMember, TeamRole
from screenshots import services as screenshots
from screenshots.models import Screenshot
from tracking import services as tracking
from tracking.models import Task, TaskStatus, TimeEntry

DEMO_PASSWORD = "password123"  # SPEC's demo login; below the 12-character rule on purpose (seeded, not typed)
OWNER = ("alex@studio.co", "Alex Morgan", "Europe/London")
TEAMMATES = [
    ("sam@studio.co", "Sam Rivera", Role.MANAGER, "Europe/Berlin"),
    ("jordan@studio.co", "Jordan Lee", Role.MEMBER, "America/New_York"),
    ("priya@studio.co", "Priya Shah", Role.MEMBER, "Asia/Kolkata"),
]
ACTIVE = [("Finch", "#F59E0B", "Northwind"), ("Orbit", "#6366F1", None), ("Merryfield", "#10B981", "Acme")]
ARCHIVED = ["Harbor", "Lumen", "Quarry"]
# Orbit's "Onboarding flow", four levels: (title, status, children)
TaskSpec = tuple[str, TaskStatus, list["TaskSpec"]]
ONBOARDING: TaskSpec = (
    "Onboarding flow",
    TaskStatus.IN_PROGRESS,
    [
        (
            "Sign-up",
            TaskStatus.IN_PROGRESS,
            [
                (
                    "Email verification",
                    TaskStatus.IN_PROGRESS,
                    [
                        ("Magic link", TaskStatus.IN_PROGRESS, []),
                        ("Code fallback", TaskStatus.DONE, []),
                    ],
                ),
                ("Password rules", TaskStatus.DONE, []),
            ],
        ),
        ("Welcome tour", TaskStatus.TODO, []),
    ],
)
SEED_APPS = [
    ("Code", "stint/sync/heartbeats.py", ""),
    ("Figma", "Onboarding flow v3", ""),
    ("Firefox", "Pull request #412", "https://github.com/studio-co/orbit/pull/412"),
    ("Firefox", "Django documentation", "https://docs.djangoproject.com/en/5.2/"),
    ("Slack", "#orbit", ""),
    ("Terminal", "make test", ""),
]
APP_COLOURS = {"Code": "#1E1E2E", "Figma": "#2C2C2C", "Firefox": "#F9F9FB", "Slack": "#4A154B", "Terminal": "#0B0F14"}
DESCRIPTIONS = ["Design review", "Standup", "Implementation", "Code review", "Client call", "Planning", "QA pass"]


class Command(BaseCommand):
    help = "Create the demo company Studio Co with alex@studio.co / password123, projects, tasks and a week of time."

    @transaction.atomic
    def handle(self, *args, **options):
        alex = self._user(*OWNER)
        company = Company.objects.filter(memberships__user=alex, name="Studio Co").first()
        if company is None:
            company = org.company_create(owner=alex, name="Studio Co", timezone="Europe/London")
        members = {alex.email: Membership.objects.get(company=company, user=alex)}
        for email, name, role, tz in TEAMMATES:
            user = self._user(email, name, tz)
            members[email], _ = Membership.objects.get_or_create(company=company, user=user, defaults={"role": role})

        team = Team.objects.filter(company=company, name="Mobile").first() or org.team_create(
            company=company, name="Mobile"
        )
        for email, team_role in [("jordan@studio.co", TeamRole.LEAD), ("priya@studio.co", TeamRole.MEMBER)]:
            if not TeamMember.objects.filter(team=team, user=members[email].user).exists():
                org.team_member_add(team=team, user_id=members[email].user_id, role=team_role)

        projects = {}
        for name, color, client_name in ACTIVE:
            projects[name] = self._project(company, name, color=color, client_name=client_name)
        for name in ARCHIVED:
            org.project_archive(project=self._project(company, name, color="#9CA3AF"))

        if not company.screenshots_enabled:
            company = org.company_update(
                company=company, changes={"screenshots_enabled": True, "screenshot_blur_level": 1}
            )
            for membership in members.values():  # the memberships' cached company
                membership.company = company

        leaf = self._tree(projects["Orbit"], ONBOARDING, parent=None)
        for email, membership in members.items():
            if not TimeEntry.objects.filter(user=membership.user, company=company).exists():
                self._week_of_entries(membership, list(projects.values()), seed=email)
        for email, *_ in TEAMMATES:
            if not Screenshot.objects.filter(user=members[email].user, company=company).exists():
                self._screenshots(members[email], rng=random.Random(f"screens-{email}"))
        if not TimeEntry.objects.filter(user=alex, ended_at__isnull=True, deleted_at__isnull=True).exists():
            tracking.timer_start(
                membership=members[alex.email],
                project_id=projects["Orbit"].pk,
                task_id=leaf.pk,
                description="Magic link emails",
                started_at=timezone.now() - timedelta(minutes=25),
            )

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {OWNER[0]} / {DEMO_PASSWORD} in {company.name}: {len(members)} members, "
                f"{Project.objects.filter(company=company).count()} projects, "
                f"{TimeEntry.objects.filter(company=company).count()} time entries, "
                f"{Screenshot.objects.filter(company=company).count()} screenshots."
            )
        )

    # ------------------------------------------------------------------ pieces

    def _user(self, email: str, name: str, tz: str) -> User:
        return User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=DEMO_PASSWORD, name=name, timezone=tz
        )

    def _project(self, company: Company, name: str, *, color: str, client_name: str | None = None) -> Project:
        project = Project.objects.filter(company=company, name=name).first()
        if project is not None:
            return project
        client_id = None
        if client_name:
            client = Client.objects.filter(company=company, name=client_name).first()
            client_id = (client or org.client_create(company=company, name=client_name)).pk
        return org.project_create(
            company=company,
            data={"name": name, "color": color, "client_id": client_id, "hourly_rate_cents": 9500, "currency": "EUR"},
        )

    def _tree(self, project: Project, node: TaskSpec, parent: Task | None) -> Task:
        """Create the subtree; return its deepest IN_PROGRESS leaf."""
        title, status, children = node
        task = Task.objects.filter(project=project, parent=parent, title=title).first() or tracking.task_create(
            project=project,
            data={
                "title": title,
                "status": status,
                "parent_id": parent.pk if parent else None,
                "estimate_seconds": 4 * 3600,
            },
        )
        deepest = task if status == TaskStatus.IN_PROGRESS and not children else None
        best_depth = -1
        for child in children:
            leaf = self._tree(project, child, task)
            depth = self._depth(leaf)
            if leaf.status == TaskStatus.IN_PROGRESS and depth > best_depth:
                deepest, best_depth = leaf, depth
        return deepest or task

    @staticmethod
    def _depth(task: Task) -> int:
        depth, parent = 0, task.parent
        while parent is not None:
            parent, depth = parent.parent, depth + 1
        return depth

    @staticmethod
    def _activity(membership: Membership, start: datetime, end: datetime, rng: random.Random) -> None:
        """What the member's tracker would have sent during an entry: a heartbeat every 30 s
        (merged into app usage by the real merge) and a sample per minute."""
        key = str(membership.company_id)
        beats, moment, left, app = [], start, 0, None
        while moment < end:
            if left <= 0:
                app, title, url = rng.choice(SEED_APPS)
                left = rng.randint(4, 40)
            beats.append(Beat(moment, 30.0, (key, app, title, url), 60.0))
            moment += timedelta(seconds=30)
            left -= 1
        partitions.ensure(partitions.APP_USAGE, partitions.months_between(start, end))
        appusage_merge(user_id=membership.user_id, device_id="laptop", beats=beats)
        minutes = int((end - start).total_seconds() // 60)
        ActivitySample.objects.bulk_create(
            [
                ActivitySample(
                    company_id=membership.company_id,
                    user_id=membership.user_id,
                    device_id="laptop",
                    minute=start + timedelta(minutes=n),
                    keyboard=rng.randint(0, 180),
                    mouse=rng.randint(0, 400),
                    active_seconds=rng.choice([60, 60, 55, 48, 40, 30, 12, 0]),
                )
                for n in range(minutes)
            ],
            ignore_conflicts=True,
        )

    def _week_of_entries(self, membership: Membership, projects: list[Project], *, seed: str) -> None:
        """Two to four entries on each of the last seven local days, inside working hours."""
        rng = random.Random(seed)
        tz = ZoneInfo(membership.user.timezone)
        today = timezone.now().astimezone(tz).date()
        tasks = {
            p.pk: list(Task.objects.filter(project=p, status__in=[TaskStatus.TODO, TaskStatus.IN_PROGRESS]))
            for p in projects
        }
        for days_ago in range(7, 0, -1):
            day = today - timedelta(days=days_ago)
            cursor = datetime.combine(day, time(9, rng.choice([0, 15, 30])), tzinfo=tz)
            for _ in range(rng.randint(2, 4)):
                length = timedelta(minutes=rng.choice([30, 45, 60, 90, 120]))
                project = rng.choice(projects)
                task = rng.choice(tasks[project.pk]) if tasks[project.pk] and rng.random() < 0.6 else None
                tracking.entry_create(
                    membership=membership,
                    data={
                        "project_id": project.pk,
                        "task_id": task.pk if task else None,
                        "started_at": cursor,
                        "ended_at": cursor + length,
                        "description": rng.choice(DESCRIPTIONS),
                        "timezone": str(tz),
                    },
                )
                self._activity(membership, cursor, cursor + length, rng)
                cursor += length + timedelta(minutes=rng.choice([0, 15, 30]))

    def _screenshots(self, membership: Membership, *, rng: random.Random) -> None:
        """One screenshot in the middle of each day's first entry, and two from the last hour
        (the dashboard's Team panel shows today's). Each goes through screenshot_upload and
        screenshot_process, the API's and the worker's path: decoded, stripped, blurred at the
        company's level, thumbnailed, stored (local files or S3), READY with screenshot.ready.
        (The task the upload queues finds it READY and does nothing.)"""
        tz = ZoneInfo(membership.user.timezone)
        now = timezone.now()
        first_of_day: dict = {}
        for entry in TimeEntry.objects.filter(
            user_id=membership.user_id, company_id=membership.company_id, ended_at__isnull=False
        ).order_by("started_at"):
            first_of_day.setdefault(entry.started_at.astimezone(tz).date(), entry)
        captures = [(e.started_at + (e.ended_at - e.started_at) / 2, e.pk) for e in first_of_day.values()]
        company_tz = ZoneInfo(membership.company.timezone)
        midnight = datetime.combine(now.astimezone(company_tz).date(), time(0), tzinfo=company_tz)
        captures += [(max(now - timedelta(minutes=minutes), midnight), None) for minutes in (40, 10)]
        for captured_at, entry_id in captures:
            app = rng.choice(SEED_APPS)
            shot = screenshots.screenshot_upload(
                membership=membership,
                fileobj=ContentFile(self._screen(app, rng), name="screen.png"),
                captured_at=captured_at,
                time_entry_id=entry_id,
                metadata={"app": app[0], "title": app[1], "seeded": True},
            )
            screenshots.screenshot_process(screenshot_id=shot.pk)

    @staticmethod
    def _screen(app: tuple, rng: random.Random) -> bytes:
        """A small PNG that looks like a desktop: a menu bar, the app's window with a title bar
        and lines of "text", a dock."""
        from PIL import Image, ImageDraw

        name, title, _ = app
        width, height = 640, 400
        image = Image.new("RGB", (width, height), "#5B6C8F")
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 18), fill="#EDEEF2")
        draw.text((8, 3), f"{name}   File  Edit  View", fill="#222222")
        left, top = rng.randint(20, 60), rng.randint(30, 50)
        right, bottom = width - rng.randint(20, 60), height - rng.randint(50, 70)
        background = APP_COLOURS.get(name, "#FFFFFF")
        dark = background.lower() not in {"#f9f9fb", "#ffffff"}
        draw.rectangle((left, top, right, bottom), fill=background, outline="#333333")
        draw.rectangle((left, top, right, top + 22), fill="#D9DBE3")
        draw.text((left + 10, top + 6), f"{title} - {name}", fill="#111111")
        ink = ["#A6ADC8", "#89B4FA", "#F5C2E7", "#A6E3A1"] if dark else ["#3B3F4A", "#6B7280", "#2563EB"]
        y = top + 34
        while y < bottom - 14:
            indent = rng.choice([0, 0, 16, 32])
            draw.rectangle((left + 14 + indent, y, left + 14 + indent + rng.randint(60, right - left - 80), y + 6),
                           fill=rng.choice(ink))  # fmt: skip
            y += 14
        draw.rectangle((width // 2 - 120, height - 36, width // 2 + 120, height - 8), fill="#E5E7EB")
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
