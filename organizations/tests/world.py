"""The world every app's tests share (ARCHITECTURE: 13), registered in the root conftest:
company A with one user per role, company B with an outsider,
each with a team, a client, projects and an invitation. Tokens are real access tokens of real
device sessions, checked by the real authentication class."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import DeviceInfo, session_create
from accounts.tests.factories import MembershipFactory, UserFactory
from organizations import services
from organizations.models import Client, Company, Project, Role, Team, TeamRole

ROLES = ["owner", "admin", "manager", "lead", "member", "loner", "outsider"]


@dataclass
class World:
    a: Company
    b: Company
    users: dict = field(default_factory=dict)
    team: Team | None = None
    team_b: Team | None = None
    client_a: Client | None = None
    client_b: Client | None = None
    project_open: Project | None = None
    project_team: Project | None = None
    project_archived: Project | None = None
    project_b: Project | None = None
    invitation_a: object = None
    invitation_b: object = None

    def api(self, role: str) -> APIClient:
        return api_as(self.users[role])


def api_as(user) -> APIClient:
    tokens = session_create(user=user, device=DeviceInfo(device_name="test"), stay_logged_in=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    return client


@pytest.fixture
def world(db) -> World:
    owner = UserFactory.create(name="Olive Owner")
    a = services.company_create(owner=owner, name="Company A")
    outsider = UserFactory.create(name="Oscar Outsider")
    b = services.company_create(owner=outsider, name="Company B")
    w = World(a=a, b=b, users={"owner": owner, "outsider": outsider})
    for role, company_role in [
        ("admin", Role.ADMIN),
        ("manager", Role.MANAGER),
        ("lead", Role.MEMBER),
        ("member", Role.MEMBER),
        ("loner", Role.MEMBER),
    ]:
        w.users[role] = MembershipFactory(company=a, role=company_role, user__name=role.title()).user
    w.team = services.team_create(company=a, name="Design")
    services.team_member_add(team=w.team, user_id=w.users["lead"].id, role=TeamRole.LEAD)
    services.team_member_add(team=w.team, user_id=w.users["member"].id, role=TeamRole.MEMBER)
    w.team_b = services.team_create(company=b, name="Design")
    w.client_a = services.client_create(company=a, name="Acme")
    w.client_b = services.client_create(company=b, name="Bolt")
    w.project_open = services.project_create(company=a, data={"name": "Open", "client_id": w.client_a.id})
    w.project_team = services.project_create(company=a, data={"name": "Team only", "team_ids": [w.team.id]})
    w.project_archived = services.project_archive(project=services.project_create(company=a, data={"name": "Old"}))
    w.project_b = services.project_create(company=b, data={"name": "Theirs", "client_id": w.client_b.id})
    w.invitation_a, _ = services.invitation_create(company=a, email="new@a.co", role=Role.MEMBER, invited_by=owner)
    w.invitation_b, _ = services.invitation_create(company=b, email="new@b.co", role=Role.MEMBER, invited_by=outsider)
    return w


@pytest.fixture
def expired(world):
    def _expire(invitation):
        invitation.expires_at = timezone.now() - timedelta(seconds=1)
        invitation.save(update_fields=["expires_at"])

    return _expire
