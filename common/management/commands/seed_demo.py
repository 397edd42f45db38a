"""`manage.py seed_demo`: the demo world of SPEC.md (Operations), built through the services.

alex@studio.co / password123 owns "Studio Co": three active projects (Finch, Orbit,
Merryfield) and three archived ones; Orbit's "Onboarding flow" has subtasks four levels deep
with Alex's timer running on the deepest active leaf; teammates have a week of entries, with
the app usage and per-minute activity their trackers would have sent meanwhile.
Idempotent: each piece is looked up before it is made, so a second run changes nothing.
(The one command in ``common`` that imports the domain apps: it builds a world from all.)"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from organizations import services as org
from organizations.models import Client, Company, Membership, Project, Role, Team, TeamMember, TeamRole
from tracking import partitions
from tracking import services as tracking
from tracking.activity import Beat, appusage_merge
from tracking.models import ActivitySample, Task, TaskStatus, TimeEntry

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
ONBOARDING = (
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
        for email, role in [("jordan@studio.co", TeamRole.LEAD), ("priya@studio.co", TeamRole.MEMBER)]:
            if not TeamMember.objects.filter(team=team, user=members[email].user).exists():
                org.team_member_add(team=team, user_id=members[email].user_id, role=role)

        projects = {}
        for name, color, client_name in ACTIVE:
            projects[name] = self._project(company, name, color=color, client_name=client_name)
        for name in ARCHIVED:
            org.project_archive(project=self._project(company, name, color="#9CA3AF"))

        leaf = self._tree(projects["Orbit"], ONBOARDING, parent=None)
        for email, membership in members.items():
            if not TimeEntry.objects.filter(user=membership.user, company=company).exists():
                self._week_of_entries(membership, list(projects.values()), seed=email)
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
                f"{TimeEntry.objects.filter(company=company).count()} time entries."
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

    def _tree(self, project: Project, node: tuple, parent: Task | None) -> Task:
        """Create the subtree; return its deepest IN_PROGRESS leaf."""
        title, status, children = node
        task = Task.objects.filter(project=project, parent=parent, title=title).first() or tracking.task_create(
            project=project,
            data={"title": title, "status": status, "parent_id": parent and parent.pk, "estimate_seconds": 4 * 3600},
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
        depth = 0
        while task.parent_id:
            task, depth = task.parent, depth + 1
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
                        "task_id": task and task.pk,
                        "started_at": cursor,
                        "ended_at": cursor + length,
                        "description": rng.choice(DESCRIPTIONS),
                        "timezone": str(tz),
                    },
                )
                self._activity(membership, cursor, cursor + length, rng)
                cursor += length + timedelta(minutes=rng.choice([0, 15, 30]))
