"""The role table of SPEC.md, endpoint by endpoint: every role of company A, and an outsider
from company B, against A's objects. 404 for the outsider everywhere (never 403: another
company's objects do not exist for them); 403 for a role that sees but may not change."""

from __future__ import annotations

import pytest

from organizations.tests.world import ROLES

pytestmark = pytest.mark.django_db

OK = "ok"  # 200, 201 or 204 as the endpoint answers success
A_ALL = {"owner": OK, "admin": OK, "manager": OK, "lead": OK, "member": OK, "loner": OK, "outsider": 404}
ADMINS = {"owner": OK, "admin": OK, "manager": 403, "lead": 403, "member": 403, "loner": 403, "outsider": 404}
MANAGERS = {"owner": OK, "admin": OK, "manager": OK, "lead": 403, "member": 403, "loner": 403, "outsider": 404}
OWNER_ONLY = {**ADMINS, "admin": 403}

# (name, method, path, body, expected by role). Paths use {a}, {team}, {client}, {project},
# {project_team}, {invitation}, {member}, {loner} from the world.
MATRIX = [
    ("company read", "get", "/api/v1/companies/{a}", None, A_ALL),
    ("company settings", "patch", "/api/v1/companies/{a}", {"name": "Renamed", "idle_timeout_seconds": 600}, ADMINS),
    ("company billing", "patch", "/api/v1/companies/{a}", {"subscription_status": "PRO"}, OWNER_ONLY),
    ("members list", "get", "/api/v1/companies/{a}/members", None, A_ALL),
    ("member role", "patch", "/api/v1/companies/{a}/members/{member}", {"role": "MANAGER"}, ADMINS),
    ("member overrides", "patch", "/api/v1/companies/{a}/members/{member}", {"hourly_rate_cents": 5000}, ADMINS),
    ("member remove", "delete", "/api/v1/companies/{a}/members/{loner}", None, ADMINS),
    ("invitations list", "get", "/api/v1/companies/{a}/invitations", None, ADMINS),
    ("invite member", "post", "/api/v1/companies/{a}/invitations", {"email": "x@y.co", "role": "MEMBER"}, ADMINS),
    ("invite owner", "post", "/api/v1/companies/{a}/invitations", {"email": "x@y.co", "role": "OWNER"}, OWNER_ONLY),
    ("invitation revoke", "delete", "/api/v1/companies/{a}/invitations/{invitation}", None, ADMINS),
    ("teams list", "get", "/api/v1/teams?company={a}", None, A_ALL),
    ("team create", "post", "/api/v1/teams?company={a}", {"name": "Growth"}, ADMINS),
    ("team read", "get", "/api/v1/teams/{team}", None, A_ALL),
    ("team rename", "patch", "/api/v1/teams/{team}", {"name": "Brand"}, ADMINS),
    ("team delete", "delete", "/api/v1/teams/{team}", None, ADMINS),
    ("team members", "get", "/api/v1/teams/{team}/members", None, A_ALL),
    ("team member add", "post", "/api/v1/teams/{team}/members", {"user_id": "{loner}", "role": "MEMBER"}, ADMINS),
    ("team member role", "patch", "/api/v1/teams/{team}/members/{member}", {"role": "LEAD"}, ADMINS),
    ("team member remove", "delete", "/api/v1/teams/{team}/members/{member}", None, ADMINS),
    ("clients list", "get", "/api/v1/clients?company={a}", None, A_ALL),
    ("client create", "post", "/api/v1/clients?company={a}", {"name": "Zeta"}, MANAGERS),
    ("client read", "get", "/api/v1/clients/{client}", None, A_ALL),
    ("client rename", "patch", "/api/v1/clients/{client}", {"name": "Acme Ltd"}, MANAGERS),
    ("client delete", "delete", "/api/v1/clients/{client}", None, MANAGERS),
    ("projects list", "get", "/api/v1/projects?company={a}", None, A_ALL),
    ("project create", "post", "/api/v1/projects?company={a}", {"name": "New", "billable": False}, MANAGERS),
    ("project read", "get", "/api/v1/projects/{project}", None, A_ALL),
    # a project with teams: its team's members see it, a member outside the team does not
    ("team project read", "get", "/api/v1/projects/{project_team}", None, {**A_ALL, "loner": 404}),
    ("project edit", "patch", "/api/v1/projects/{project}", {"color": "#00FF00"}, MANAGERS),
    ("project archive", "post", "/api/v1/projects/{project}/archive", None, MANAGERS),
    ("project unarchive", "post", "/api/v1/projects/{project}/unarchive", None, MANAGERS),
]


def _fill(template, world):
    ids = {
        "a": world.a.id,
        "team": world.team.id,
        "client": world.client_a.id,
        "project": world.project_open.id,
        "project_team": world.project_team.id,
        "invitation": world.invitation_a.id,
        "member": world.users["member"].id,
        "loner": world.users["loner"].id,
    }
    if isinstance(template, dict):
        return {k: _fill(v, world) for k, v in template.items()}
    if isinstance(template, str):
        return template.format(**ids)
    return template


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_role_matrix(world, role, name, method, path, body, expected):
    response = getattr(world.api(role), method)(_fill(path, world), _fill(body, world))
    want = expected[role]
    if want == OK:
        assert response.status_code in {200, 201, 204}, (role, name, response.content)
    else:
        assert response.status_code == want, (role, name, response.status_code, response.content)
        assert response.json()["type"] == "client_error"


def test_matrix_covers_every_organizations_route():
    """A new organizations route must get a row in the matrix."""
    from django.urls import get_resolver

    from organizations.api import urls

    routes = {str(p.pattern) for p in urls.urlpatterns} - {"invitations/<str:token>/accept"}
    covered_prefixes = {row[2].split("?")[0].removeprefix("/api/v1/") for row in MATRIX}
    assert get_resolver()  # the project URLconf loads
    for route in routes:
        # router patterns look like ^projects/(?P<pk>[^/.]+)/archive$
        base = route.strip("^$").split("/(?P")[0]
        assert any(prefix.startswith(base) for prefix in covered_prefixes), route
