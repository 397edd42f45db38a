"""Organizations endpoints: tenant isolation, invitations, the last OWNER, projects."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from organizations.models import Client, Company, Invitation, Membership, Project, ProjectTeam, Role, Team, TeamMember
from organizations.tests.world import api_as
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db


def _snapshot_of(company: Company) -> dict:
    """Everything company B owns, to prove a request changed none of it."""
    return {
        "company": list(Company.objects.filter(pk=company.pk).values()),
        "members": list(Membership.objects.filter(company=company).order_by("id").values()),
        "teams": list(Team.objects.filter(company=company).order_by("id").values()),
        "team_members": list(TeamMember.objects.filter(company=company).order_by("id").values()),
        "clients": list(Client.objects.filter(company=company).order_by("id").values()),
        "projects": list(Project.objects.filter(company=company).order_by("id").values()),
        "project_teams": list(ProjectTeam.objects.filter(company=company).order_by("id").values()),
        "invitations": list(Invitation.objects.filter(company=company).order_by("id").values()),
    }


# --------------------------------------------------------------------------- isolation


def _b_requests(w):
    b, outsider = w.b.id, w.users["outsider"].id
    return [
        ("get", f"/api/v1/companies/{b}", None),
        ("patch", f"/api/v1/companies/{b}", {"name": "Pwned", "subscription_status": "ENTERPRISE"}),
        ("get", f"/api/v1/companies/{b}/members", None),
        ("patch", f"/api/v1/companies/{b}/members/{outsider}", {"role": "MEMBER"}),
        ("delete", f"/api/v1/companies/{b}/members/{outsider}", None),
        ("get", f"/api/v1/companies/{b}/invitations", None),
        ("post", f"/api/v1/companies/{b}/invitations", {"email": "spy@a.co", "role": "OWNER"}),
        ("delete", f"/api/v1/companies/{b}/invitations/{w.invitation_b.id}", None),
        ("get", f"/api/v1/teams?company={b}", None),
        ("post", f"/api/v1/teams?company={b}", {"name": "Spies"}),
        ("get", f"/api/v1/teams/{w.team_b.id}", None),
        ("patch", f"/api/v1/teams/{w.team_b.id}", {"name": "Pwned"}),
        ("delete", f"/api/v1/teams/{w.team_b.id}", None),
        ("get", f"/api/v1/teams/{w.team_b.id}/members", None),
        ("post", f"/api/v1/teams/{w.team_b.id}/members", {"user_id": str(w.users["owner"].id)}),
        ("patch", f"/api/v1/teams/{w.team_b.id}/members/{outsider}", {"role": "LEAD"}),
        ("delete", f"/api/v1/teams/{w.team_b.id}/members/{outsider}", None),
        ("get", f"/api/v1/clients?company={b}", None),
        ("post", f"/api/v1/clients?company={b}", {"name": "Spy"}),
        ("get", f"/api/v1/clients/{w.client_b.id}", None),
        ("patch", f"/api/v1/clients/{w.client_b.id}", {"name": "Pwned"}),
        ("delete", f"/api/v1/clients/{w.client_b.id}", None),
        ("get", f"/api/v1/projects?company={b}", None),
        ("post", f"/api/v1/projects?company={b}", {"name": "Spy"}),
        ("get", f"/api/v1/projects/{w.project_b.id}", None),
        ("patch", f"/api/v1/projects/{w.project_b.id}", {"name": "Pwned"}),
        ("post", f"/api/v1/projects/{w.project_b.id}/archive", None),
        ("post", f"/api/v1/projects/{w.project_b.id}/unarchive", None),
    ]


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_another_companys_ids_are_404_and_change_nothing(world, role):
    api = world.api(role)
    before = _snapshot_of(world.b)
    for method, path, body in _b_requests(world):
        response = getattr(api, method)(path, body)
        assert response.status_code == 404, (method, path, response.status_code, response.content)
        assert response.json()["errors"][0]["code"] == "not_found"
    assert _snapshot_of(world.b) == before


def test_lists_never_leak_another_companys_rows(world):
    api = world.api("owner")
    b_ids = {str(x) for x in [world.b.id, world.team_b.id, world.client_b.id, world.project_b.id]}
    for path in ["/api/v1/companies", "/api/v1/teams", "/api/v1/clients", "/api/v1/projects?archived=all"]:
        body = api.get(path).json()
        seen = {row["id"] for row in body["results"]}
        assert seen, path
        assert not seen & b_ids, path


@pytest.mark.parametrize(
    ("path", "body", "attr"),
    [
        ("/api/v1/projects?company={a}", {"name": "X", "client_id": "{client_b}"}, "client_id"),
        ("/api/v1/projects?company={a}", {"name": "X", "team_ids": ["{team_b}"]}, "team_ids"),
        ("/api/v1/teams/{team}/members", {"user_id": "{outsider}"}, "user_id"),
    ],
)
def test_writes_cannot_reference_another_companys_rows(world, path, body, attr):
    ids = {
        "a": world.a.id,
        "team": world.team.id,
        "client_b": world.client_b.id,
        "team_b": world.team_b.id,
        "outsider": world.users["outsider"].id,
    }
    fill = lambda v: [fill(x) for x in v] if isinstance(v, list) else v.format(**ids)  # noqa: E731
    projects_before = Project.objects.count()
    team_members_before = TeamMember.objects.count()
    response = world.api("owner").post(path.format(**ids), {k: fill(v) for k, v in body.items()})
    assert_error(response, 400, attr=attr)
    assert Project.objects.count() == projects_before
    assert TeamMember.objects.count() == team_members_before


def test_patch_project_cannot_move_it_to_another_companys_client(world):
    response = world.api("owner").patch(
        f"/api/v1/projects/{world.project_open.id}", {"client_id": str(world.client_b.id)}
    )
    assert_error(response, 400, attr="client_id")
    world.project_open.refresh_from_db()
    assert world.project_open.client_id == world.client_a.id


def test_a_removed_member_loses_access_on_the_next_request(world):
    member_api = world.api("member")
    assert member_api.get(f"/api/v1/projects/{world.project_open.id}").status_code == 200
    assert (
        world.api("owner").delete(f"/api/v1/companies/{world.a.id}/members/{world.users['member'].id}").status_code
        == 204
    )
    # same unexpired token
    assert member_api.get(f"/api/v1/projects/{world.project_open.id}").status_code == 404
    assert member_api.get("/api/v1/companies").json()["results"] == []
    assert not TeamMember.objects.filter(user=world.users["member"]).exists()


def test_invalid_company_param_is_404_and_ambiguous_create_is_400(world):
    api = world.api("owner")
    assert_error(api.get("/api/v1/projects?company=not-a-uuid"), 404)
    # the owner joins company B too: creating now needs ?company=
    Membership.objects.create(company=world.b, user=world.users["owner"], role=Role.MEMBER)
    assert_error(api.post("/api/v1/clients", {"name": "Which?"}), 400, attr="company")
    assert api.post(f"/api/v1/clients?company={world.a.id}", {"name": "This one"}).status_code == 201


# --------------------------------------------------------------------------- companies


def test_create_company_makes_me_owner_and_lists_it(world):
    api = world.api("member")
    response = api.post("/api/v1/companies", {"name": "Side Gig", "timezone": "Europe/Berlin"})
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["timezone"], body["my_role"], body["subscription_status"]) == (
        "Side Gig",
        "Europe/Berlin",
        "OWNER",
        "TRIAL",  # a new company's plan (docs/organizations.md, "Plans and limits")
    )
    listed = {(c["name"], c["my_role"]) for c in api.get("/api/v1/companies").json()["results"]}
    assert listed == {("Company A", "MEMBER"), ("Side Gig", "OWNER")}


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"screenshot_blur_level": 4}, "screenshot_blur_level"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"subscription_status": "GOLD"}, "subscription_status"),
        ({"screenshot_interval_seconds": 1}, "screenshot_interval_seconds"),
    ],
)
def test_company_settings_are_validated(world, payload, attr):
    assert_error(world.api("owner").patch(f"/api/v1/companies/{world.a.id}", payload), 400, attr=attr)


def test_company_settings_change(world):
    body = (
        world.api("admin")
        .patch(f"/api/v1/companies/{world.a.id}", {"screenshots_enabled": True, "screenshot_blur_level": 2})
        .json()
    )
    assert (body["screenshots_enabled"], body["screenshot_blur_level"]) == (True, 2)


# --------------------------------------------------------------------------- members, last owner


def test_the_last_owner_cannot_be_demoted_or_removed(world):
    api = world.api("owner")
    me = world.users["owner"].id
    body = assert_error(api.patch(f"/api/v1/companies/{world.a.id}/members/{me}", {"role": "ADMIN"}), 409)
    assert body["errors"][0]["code"] == "last_owner"
    assert_error(api.delete(f"/api/v1/companies/{world.a.id}/members/{me}"), 409)
    assert Membership.objects.get(company=world.a, user_id=me).role == Role.OWNER
    # with a second OWNER, the first may step down
    api.patch(f"/api/v1/companies/{world.a.id}/members/{world.users['admin'].id}", {"role": "OWNER"})
    assert api.patch(f"/api/v1/companies/{world.a.id}/members/{me}", {"role": "ADMIN"}).status_code == 200


def test_an_admin_cannot_touch_an_owner(world):
    api = world.api("admin")
    path = f"/api/v1/companies/{world.a.id}/members/{world.users['owner'].id}"
    assert_error(api.patch(path, {"role": "MEMBER"}), 403)
    assert_error(api.delete(path), 403)
    assert_error(
        api.patch(f"/api/v1/companies/{world.a.id}/members/{world.users['member'].id}", {"role": "OWNER"}), 403
    )


def test_member_list_hides_overrides_from_non_admins(world):
    Membership.objects.filter(user=world.users["member"]).update(hourly_rate_cents=9000)
    rows = world.api("member").get(f"/api/v1/companies/{world.a.id}/members").json()["results"]
    assert len(rows) == 6
    assert all("hourly_rate_cents" not in r for r in rows)
    rows = world.api("admin").get(f"/api/v1/companies/{world.a.id}/members").json()["results"]
    assert {r["email"]: r["hourly_rate_cents"] for r in rows}[world.users["member"].email] == 9000


# --------------------------------------------------------------------------- invitations


def test_invitation_round_trip(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.api("admin").post(
            f"/api/v1/companies/{world.a.id}/invitations", {"email": "Newbie@Example.com", "role": "MANAGER"}
        )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "company_id", "email", "role", "expires_at", "created_at", "token", "accept_url"}
    assert body["email"] == "newbie@example.com"
    assert body["accept_url"].endswith(f"/invitations/{body['token']}/accept")
    # emailed, with the link; stored hashed
    assert mail.outbox[-1].to == ["newbie@example.com"]
    assert body["accept_url"] in mail.outbox[-1].body
    assert not Invitation.objects.filter(token_hash=body["token"]).exists()
    # the list shows it without the token
    listed = world.api("owner").get(f"/api/v1/companies/{world.a.id}/invitations").json()["results"]
    assert body["id"] in [i["id"] for i in listed]
    assert all("token" not in i for i in listed)

    # any signed-in account accepts (the email need not match)
    newcomer = UserFactory(email="someone-else@example.com")
    accepted = api_as(newcomer).post(f"/api/v1/invitations/{body['token']}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["company"]["id"] == str(world.a.id)
    assert accepted.json()["role"] == "MANAGER"
    assert Membership.objects.get(company=world.a, user=newcomer).role == Role.MANAGER
    # single use
    body2 = assert_error(api_as(UserFactory()).post(f"/api/v1/invitations/{body['token']}/accept"), 410)
    assert body2["errors"][0]["code"] == "invitation_used"


def _invite(world, email="late@example.com"):
    response = world.api("owner").post(f"/api/v1/companies/{world.a.id}/invitations", {"email": email})
    return response.json()


def test_expired_invitation_is_410(world, expired):
    invite = _invite(world)
    expired(Invitation.objects.get(pk=invite["id"]))
    body = assert_error(api_as(UserFactory()).post(f"/api/v1/invitations/{invite['token']}/accept"), 410)
    assert body["errors"][0]["code"] == "invitation_expired"
    assert invite["id"] not in [
        i["id"] for i in world.api("owner").get(f"/api/v1/companies/{world.a.id}/invitations").json()["results"]
    ]


def test_revoked_invitation_is_410(world):
    invite = _invite(world)
    assert world.api("admin").delete(f"/api/v1/companies/{world.a.id}/invitations/{invite['id']}").status_code == 204
    body = assert_error(api_as(UserFactory()).post(f"/api/v1/invitations/{invite['token']}/accept"), 410)
    assert body["errors"][0]["code"] == "invitation_revoked"


def test_unknown_invitation_is_404(world):
    assert_error(api_as(UserFactory()).post("/api/v1/invitations/not-a-real-token/accept"), 404)


def test_accepting_when_already_a_member_is_409_and_keeps_the_invitation(world):
    invite = _invite(world)
    assert_error(world.api("member").post(f"/api/v1/invitations/{invite['token']}/accept"), 409)
    assert Invitation.objects.get(pk=invite["id"]).accepted_at is None


def test_a_removed_member_can_come_back_through_an_invitation(world):
    member = world.users["member"]
    world.api("owner").delete(f"/api/v1/companies/{world.a.id}/members/{member.id}")
    invite = _invite(world, member.email)
    assert api_as(member).post(f"/api/v1/invitations/{invite['token']}/accept").status_code == 200
    assert Membership.objects.get(company=world.a, user=member).is_active


def test_invitation_accept_needs_a_signed_in_account(world, api):
    invite = _invite(world)
    assert_error(api.post(f"/api/v1/invitations/{invite['token']}/accept"), 401)


def test_inviting_an_existing_member_is_409(world):
    response = world.api("owner").post(
        f"/api/v1/companies/{world.a.id}/invitations", {"email": world.users["member"].email.upper()}
    )
    assert_error(response, 409)


# --------------------------------------------------------------------------- teams, clients


def test_team_and_client_names_are_unique_per_company(world):
    api = world.api("owner")
    assert_error(api.post(f"/api/v1/teams?company={world.a.id}", {"name": "design"}), 409)
    assert_error(api.post(f"/api/v1/clients?company={world.a.id}", {"name": "ACME"}), 409)
    # company B has a "Design" team too: names are per company
    assert world.api("outsider").post(f"/api/v1/teams?company={world.b.id}", {"name": "Research"}).status_code == 201


def test_team_members_add_change_remove(world):
    api = world.api("owner")
    path = f"/api/v1/teams/{world.team.id}/members"
    added = api.post(path, {"user_id": str(world.users["loner"].id), "role": "LEAD"})
    assert added.status_code == 201
    assert added.json()["role"] == "LEAD"
    assert_error(api.post(path, {"user_id": str(world.users["loner"].id)}), 409)
    assert api.patch(f"{path}/{world.users['loner'].id}", {"role": "MEMBER"}).json()["role"] == "MEMBER"
    assert api.delete(f"{path}/{world.users['loner'].id}").status_code == 204
    emails = {m["email"] for m in api.get(path).json()["results"]}
    assert emails == {world.users["lead"].email, world.users["member"].email}


# --------------------------------------------------------------------------- projects


def test_project_create_and_read_shape(world):
    api = world.api("manager")
    response = api.post(
        f"/api/v1/projects?company={world.a.id}",
        {
            "name": "Website",
            "client_id": str(world.client_a.id),
            "color": "#112233",
            "billable": True,
            "hourly_rate_cents": 12000,
            "currency": "EUR",
            "estimate_seconds": 36000,
            "team_ids": [str(world.team.id)],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["company_id"] == str(world.a.id)
    assert body["client_id"] == str(world.client_a.id)
    assert body["team_ids"] == [str(world.team.id)]
    assert (body["tracked_seconds"], body["open_task_count"], body["archived_at"]) == (0, 0, None)
    assert api.get(f"/api/v1/projects/{body['id']}").json() == body


def test_project_accepts_a_client_supplied_uuid_once(world):
    api = world.api("owner")
    pid = "0190c9b4-7f1e-7abc-8000-00000000abcd"
    assert api.post(f"/api/v1/projects?company={world.a.id}", {"id": pid, "name": "Offline"}).json()["id"] == pid
    assert_error(api.post(f"/api/v1/projects?company={world.a.id}", {"id": pid, "name": "Again"}), 409)


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "color": "red"}, "color"),
        ({"name": "x", "currency": "euro"}, "currency"),
        ({"name": "x", "hourly_rate_cents": -1}, "hourly_rate_cents"),
        ({"name": "x", "team_ids": "nope"}, "team_ids"),
    ],
)
def test_project_input_is_validated(world, payload, attr):
    assert_error(world.api("owner").post(f"/api/v1/projects?company={world.a.id}", payload), 400, attr=attr)


def test_archived_filter_and_archive_round_trip(world):
    api = world.api("owner")
    names = lambda q: sorted(p["name"] for p in api.get(f"/api/v1/projects?company={world.a.id}{q}").json()["results"])  # noqa: E731
    assert names("") == ["Open", "Team only"]
    assert names("&archived=false") == ["Open", "Team only"]
    assert names("&archived=true") == ["Old"]
    assert names("&archived=all") == ["Old", "Open", "Team only"]
    assert_error(api.get("/api/v1/projects?archived=maybe"), 400, attr="archived")
    archived = api.post(f"/api/v1/projects/{world.project_open.id}/archive").json()
    assert archived["archived_at"] is not None
    assert names("") == ["Team only"]
    assert api.post(f"/api/v1/projects/{world.project_open.id}/unarchive").json()["archived_at"] is None


def test_member_project_visibility_follows_teams(world):
    names = lambda role: sorted(p["name"] for p in world.api(role).get("/api/v1/projects").json()["results"])  # noqa: E731
    assert names("member") == ["Open", "Team only"]
    assert names("loner") == ["Open"]
    assert names("manager") == ["Open", "Team only"]


def test_project_list_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    api = world.api("owner")
    for i in range(30):
        api.post(f"/api/v1/projects?company={world.a.id}", {"name": f"P{i}", "team_ids": [str(world.team.id)]})
    with django_assert_max_num_queries(5):
        response = api.get("/api/v1/projects?limit=100")
    assert len(response.json()["results"]) == 32


@pytest.mark.parametrize(("method", "path"), [("get", "/api/v1/clients"), ("post", "/api/v1/clients")])
def test_an_empty_company_parameter_is_malformed_not_unspecified(world, method, path):
    # Found by schema fuzzing: `?company=` acted in the caller's only company (a create
    # succeeded) although an empty value is no company id.
    response = getattr(world.api("owner"), method)(f"{path}?company=", {"name": "Nope"} if method == "post" else None)
    assert_error(response, 404)
    assert not Client.objects.filter(name="Nope").exists()


# --------------------------------------------------------------------------- which company (#15 item 16)


def test_a_body_company_id_is_the_company_a_create_acts_in(world):
    # The owner of A is also an ADMIN of B: the body's company_id picks B.
    Membership.objects.create(company=world.b, user=world.users["owner"], role=Role.ADMIN)
    api = world.api("owner")
    response = api.post("/api/v1/projects", {"name": "In B", "company_id": str(world.b.id)}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["company_id"] == str(world.b.id)
    assert Project.objects.get(name="In B").company_id == world.b.id
    response = api.post("/api/v1/clients", {"name": "B client", "company_id": str(world.b.id)}, format="json")
    assert Client.objects.get(pk=response.json()["id"]).company_id == world.b.id


def test_a_body_company_id_of_a_company_i_am_not_in_is_404_not_my_own(world):
    # It used to be silently ignored: the project landed in the caller's own company.
    before = _snapshot_of(world.a), _snapshot_of(world.b)
    response = world.api("outsider").post(
        "/api/v1/projects", {"name": "Sneaky", "company_id": str(world.a.id)}, format="json"
    )
    assert_error(response, 404)
    assert (_snapshot_of(world.a), _snapshot_of(world.b)) == before


def test_query_and_body_company_must_agree(world):
    Membership.objects.create(company=world.b, user=world.users["owner"], role=Role.ADMIN)
    api = world.api("owner")
    response = api.post(
        f"/api/v1/teams?company={world.a.id}", {"name": "X", "company_id": str(world.b.id)}, format="json"
    )
    assert_error(response, 400, attr="company_id")
    same = api.post(f"/api/v1/teams?company={world.b.id}", {"name": "X", "company_id": str(world.b.id)}, format="json")
    assert same.status_code == 201
    assert_error(api.post("/api/v1/teams", {"name": "Y", "company_id": "nope"}, format="json"), 400, attr="company_id")


def test_the_default_company_is_used_when_none_is_named_and_query_still_wins(world):
    Membership.objects.create(company=world.b, user=world.users["owner"], role=Role.ADMIN)
    api = world.api("owner")
    assert_error(api.post("/api/v1/clients", {"name": "Which?"}, format="json"), 400, attr="company")
    assert api.patch("/api/v1/me", {"default_company_id": str(world.b.id)}, format="json").status_code == 200
    response = api.post("/api/v1/clients", {"name": "Default"}, format="json")
    assert response.status_code == 201
    assert response.json()["company_id"] == str(world.b.id)
    response = api.post(f"/api/v1/clients?company={world.a.id}", {"name": "Named"}, format="json")
    assert response.json()["company_id"] == str(world.a.id)


def test_a_default_company_i_have_left_is_skipped(world):
    owner = world.users["owner"]
    membership_b = Membership.objects.create(company=world.b, user=owner, role=Role.ADMIN)
    owner.default_company = world.b
    owner.save(update_fields=["default_company"])
    membership_b.is_active = False
    membership_b.save(update_fields=["is_active"])
    response = world.api("owner").post("/api/v1/clients", {"name": "Back home"}, format="json")
    assert response.json()["company_id"] == str(world.a.id)  # their only company now


@pytest.mark.parametrize(
    ("method", "path", "body", "attr"),
    [
        ("post", "/api/v1/projects", {"name": "P", "colour": "#ff0000"}, "colour"),
        ("patch", "/api/v1/projects/{project}", {"id": "0190a000-0000-7000-8000-000000000000"}, "id"),
        ("patch", "/api/v1/projects/{project}", {"company_id": "{b}"}, "company_id"),
        ("patch", "/api/v1/projects/{project}", {"tracked_seconds": 5}, "tracked_seconds"),
        ("patch", "/api/v1/clients/{client}", {"name": "C", "company_id": "{a}"}, "company_id"),
        ("post", "/api/v1/companies", {"name": "Co", "company_id": "{a}"}, "company_id"),
        ("patch", "/api/v1/companies/{a}", {"locked": True}, "locked"),
        ("post", "/api/v1/companies/{a}/invitations", {"email": "x@y.co", "rol": "ADMIN"}, "rol"),
    ],
)
def test_an_unknown_or_read_only_body_field_is_400_naming_it(world, method, path, body, attr):
    fill = {"a": world.a.id, "b": world.b.id, "project": world.project_open.id, "client": world.client_a.id}
    body = {k: v.format(**fill) if isinstance(v, str) else v for k, v in body.items()}
    before = _snapshot_of(world.a)
    response = getattr(world.api("owner"), method)(path.format(**fill), body, format="json")
    assert_error(response, 400, attr=attr, code="unknown_field")
    assert _snapshot_of(world.a) == before


def test_an_empty_patch_is_still_valid(world):
    response = world.api("owner").patch(f"/api/v1/projects/{world.project_open.id}", {}, format="json")
    assert response.status_code == 200


# --------------------------------------------------------------------------- register with an invitation (#15 item 17)


def _register(api, **extra):
    body = {"email": "invitee@example.com", "password": "A-long-enough-pass-42", "name": "Ivy", **extra}
    return api.post("/api/v1/auth/register", body, format="json")


def test_registering_with_an_invitation_joins_the_inviting_company_and_nothing_else(world, api):
    invite = (
        world.api("owner")
        .post(f"/api/v1/companies/{world.a.id}/invitations", {"email": "invitee@example.com", "role": "MANAGER"})
        .json()
    )
    companies_before = Company.objects.count()
    response = _register(api, invitation_token=invite["token"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["company"]["id"] == str(world.a.id)
    assert body["user"]["default_company_id"] == str(world.a.id)
    assert Company.objects.count() == companies_before  # no company of their own
    user_id = body["user"]["id"]
    assert list(Membership.objects.filter(user_id=user_id).values_list("company_id", "role")) == [
        (world.a.id, Role.MANAGER)
    ]
    assert Invitation.objects.get(pk=invite["id"]).accepted_by_id is not None
    # signed in, acting in the company without ?company=
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    listed = {p["id"] for p in api.get("/api/v1/projects").json()["results"]}
    assert listed == {str(world.project_open.id), str(world.project_team.id)}  # a MANAGER's view of A
    # single use: a second registration with the same token is refused, and creates no account
    again = _register(APIClient(), email="second@example.com", invitation_token=invite["token"])
    assert_error(again, 400, attr="invitation_token", code="invitation_used")
    assert not User.objects.filter(email="second@example.com").exists()


def test_registering_with_a_bad_invitation_creates_nothing(world, api, expired):
    invite = _invite(world)
    expired(Invitation.objects.get(pk=invite["id"]))
    counts = User.objects.count(), Company.objects.count()
    assert_error(
        _register(api, invitation_token=invite["token"]), 400, attr="invitation_token", code="invitation_expired"
    )
    assert_error(_register(api, invitation_token="made-up"), 400, attr="invitation_token", code="does_not_exist")
    fresh = _invite(world, "x@example.com")
    both = _register(api, invitation_token=fresh["token"], company_name="Mine")
    assert_error(both, 400, attr="company_name")
    assert (User.objects.count(), Company.objects.count()) == counts
    assert Invitation.objects.get(pk=fresh["id"]).accepted_at is None


def test_registering_without_an_invitation_still_creates_my_company_as_default(api):
    response = _register(api, company_name="Ivy Inc")
    assert response.status_code == 201
    body = response.json()
    assert body["company"]["name"] == "Ivy Inc"
    assert body["user"]["default_company_id"] == body["company"]["id"]


def test_removing_a_member_clears_their_default_company(world):
    member = world.users["member"]
    member.default_company = world.a
    member.save(update_fields=["default_company"])
    world.api("owner").delete(f"/api/v1/companies/{world.a.id}/members/{member.id}")
    member.refresh_from_db()
    assert member.default_company_id is None
