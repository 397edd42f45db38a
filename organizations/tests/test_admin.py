"""The Django admin for team admins: OWNERs and ADMINs sign in at /admin/ without being staff
and see and change only their own company; MEMBERs and MANAGERs are kept out.

The world: Alpha (owner, admin, manager, member) and Bravo (its owner), each with a team, a
client, a project and a pending invitation, every name saying whose it is, so "Bravo" in a
page Alpha's people see is a leak."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, CompanyFactory, MembershipFactory, UserFactory
from organizations import services
from organizations.models import Client, Company, Membership, Project, ProjectTeam, Role, TeamMember
from organizations.tests.factories import ClientFactory, InvitationFactory, ProjectFactory, TeamFactory
from tests.support.admin import form_data, page

LOGIN_ERROR = "Please enter the correct email and password"


def url(model_name: str, view: str = "changelist") -> str:
    return reverse(f"admin:organizations_{model_name}_{view}")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def act(client, model_name: str, action: str, objects):
    """Tick ``objects`` in the list and run ``action``, as the changelist's action bar does."""
    data = {"action": action, "index": "0", "_selected_action": [str(o.pk) for o in objects]}
    return client.post(url(model_name), data, follow=True)


@pytest.fixture
def world(db):
    alpha = CompanyFactory(name="Alpha Works")
    bravo = CompanyFactory(name="Bravo Industries")

    def person(company, role, email, name):
        return MembershipFactory(company=company, role=role, user__email=email, user__name=name).user

    w = SimpleNamespace(
        alpha=alpha,
        bravo=bravo,
        owner=person(alpha, Role.OWNER, "owner@alpha.test", "Olivia Alpha"),
        admin=person(alpha, Role.ADMIN, "admin@alpha.test", "Adam Alpha"),
        manager=person(alpha, Role.MANAGER, "manager@alpha.test", "Mona Alpha"),
        member=person(alpha, Role.MEMBER, "member@alpha.test", "Milo Alpha"),
        bravo_owner=person(bravo, Role.OWNER, "owner@bravo.test", "Bruno Bravo"),
        team=TeamFactory(company=alpha, name="Alpha Team"),
        client=ClientFactory(company=alpha, name="Alpha Client"),
        invitation=InvitationFactory(company=alpha, email="invitee@alpha.test"),
        bravo_team=TeamFactory(company=bravo, name="Bravo Team"),
        bravo_client=ClientFactory(company=bravo, name="Bravo Client"),
        bravo_invitation=InvitationFactory(company=bravo, email="invitee@bravo.test"),
    )
    w.project = ProjectFactory(company=alpha, name="Alpha Project", client=w.client)
    w.bravo_project = ProjectFactory(company=bravo, name="Bravo Project", client=w.bravo_client)
    return w


def membership(user, company) -> Membership:
    return Membership.objects.get(user=user, company=company)


# --------------------------------------------------------------------------- signing in


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admin_sign_in_with_their_email(client, world, who):
    user = getattr(world, who)

    # Not staff, and the email typed in another case: still let in.
    assert not user.is_staff
    response = client.post(
        reverse("admin:login"), {"username": user.email.upper(), "password": PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert "Stint admin" in page(index)
    assert "Members" in page(index)


@pytest.mark.parametrize("who", ["member", "manager"])
def test_member_and_manager_cannot_sign_in(client, world, who):
    user = getattr(world, who)

    response = client.post(reverse("admin:login"), {"username": user.email, "password": PASSWORD, "next": "/admin/"})

    assert response.status_code == 200
    assert LOGIN_ERROR in page(response)
    assert "_auth_user_id" not in client.session
    index = client.get(reverse("admin:index"))
    assert index.status_code == 302
    assert index["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("who", ["member", "manager"])
def test_member_with_a_session_is_sent_to_the_login_page(client, world, who):
    # Signed in some other way (the dashboard shares the session): the admin still refuses.
    client.force_login(getattr(world, who))

    response = client.get(url("project"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("loss", ["demoted", "removed"])
def test_owner_who_loses_the_role_loses_access_on_the_next_request(client, world, loss):
    client.force_login(world.owner)
    assert client.get(url("project")).status_code == 200
    target = membership(world.owner, world.alpha)
    MembershipFactory(company=world.alpha, role=Role.OWNER)  # so the change is allowed

    if loss == "demoted":
        services.member_update(membership=target, changes={"role": Role.MEMBER})
    else:
        services.member_remove(membership=target)

    response = client.get(url("project"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --------------------------------------------------------------------------- only one's own company


CHANGELISTS = [
    ("company", "Alpha Works", "Bravo Industries"),
    ("membership", "owner@alpha.test", "owner@bravo.test"),
    ("team", "Alpha Team", "Bravo Team"),
    ("client", "Alpha Client", "Bravo Client"),
    ("project", "Alpha Project", "Bravo Project"),
    ("invitation", "invitee@alpha.test", "invitee@bravo.test"),
]


@pytest.mark.parametrize(("model", "ours", "theirs"), CHANGELISTS)
def test_owner_sees_only_their_company_in_every_list(client, world, model, ours, theirs):
    client.force_login(world.owner)

    response = client.get(url(model))

    assert response.status_code == 200
    assert ours in page(response)
    assert theirs not in page(response)
    assert "Bravo" not in page(response)  # not in filters or choices either


def test_superuser_sees_every_company(client, world):
    client.force_login(UserFactory(is_superuser=True))

    companies = page(client.get(url("company")))
    projects = page(client.get(url("project")))
    alpha_project = page(client.get(change_url(world.project)))

    assert "Alpha Works" in companies
    assert "Bravo Industries" in companies
    assert "Alpha Project" in projects
    assert "Bravo Project" in projects
    # Once the object's company is known, its choices are that company's.
    assert "Alpha Client" in alpha_project
    assert "Bravo Client" not in alpha_project


def test_superuser_adds_anyone_to_a_company(client, world):
    newcomer = UserFactory(email="newcomer@example.com")
    client.force_login(UserFactory(is_superuser=True))
    data = form_data(client.get(url("membership", "add")))
    data.update({"company": str(world.bravo.pk), "user": str(newcomer.pk), "role": Role.MANAGER})

    response = client.post(url("membership", "add"), data)

    assert response.status_code == 302
    assert membership(newcomer, world.bravo).role == Role.MANAGER


@pytest.mark.parametrize(
    "obj", ["bravo", "bravo_owner_membership", "bravo_team", "bravo_client", "bravo_project", "bravo_invitation"]
)
def test_another_companys_object_does_not_exist_even_by_url(client, world, obj):
    target = membership(world.bravo_owner, world.bravo) if obj == "bravo_owner_membership" else getattr(world, obj)
    client.force_login(world.owner)

    response = client.get(change_url(target), follow=True)

    assert response.redirect_chain[0] == (reverse("admin:index"), 302)
    assert "doesn’t exist" in page(response)
    assert "Bravo" not in page(response)
    assert "owner@bravo.test" not in page(response)


def test_posting_to_another_companys_object_changes_nothing(client, world):
    client.force_login(world.owner)

    response = client.post(change_url(world.bravo_client), {"name": "Taken over", "_save": "Save"})
    deleted = client.post(reverse("admin:organizations_client_delete", args=[world.bravo_client.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert deleted.status_code == 302
    world.bravo_client.refresh_from_db()
    assert world.bravo_client.name == "Bravo Client"


def test_project_form_offers_and_accepts_only_own_clients(client, world):
    client.force_login(world.owner)
    form = client.get(change_url(world.project))
    assert "Alpha Client" in page(form)
    assert "Bravo Client" not in page(form)
    data = form_data(form)

    data["client"] = str(world.bravo_client.pk)
    response = client.post(change_url(world.project), data)

    assert response.status_code == 200
    assert "Select a valid choice" in page(response)
    world.project.refresh_from_db()
    assert world.project.client_id == world.client.pk


def test_project_teams_accept_only_own_teams(client, world):
    client.force_login(world.owner)
    data = form_data(client.get(change_url(world.project)))

    data["project_teams-0-team"] = str(world.bravo_team.pk)
    refused = client.post(change_url(world.project), data)
    data["project_teams-0-team"] = str(world.team.pk)
    accepted = client.post(change_url(world.project), data)

    assert refused.status_code == 200
    assert "Select a valid choice" in page(refused)
    assert accepted.status_code == 302
    assert list(ProjectTeam.objects.filter(project=world.project).values_list("team_id", "company_id")) == [
        (world.team.pk, world.alpha.pk)
    ]


def test_team_members_are_chosen_among_own_active_members(client, world):
    client.force_login(world.owner)
    form = client.get(change_url(world.team))
    assert "member@alpha.test" in page(form)
    assert "owner@bravo.test" not in page(form)
    data = form_data(form)

    data["members-0-user"] = str(world.bravo_owner.pk)
    refused = client.post(change_url(world.team), data)
    data["members-0-user"] = str(world.member.pk)
    accepted = client.post(change_url(world.team), data)

    assert refused.status_code == 200
    assert "Select a valid choice" in page(refused)
    assert accepted.status_code == 302
    team_member = TeamMember.objects.get(team=world.team)
    assert (team_member.user_id, team_member.company_id) == (world.member.pk, world.alpha.pk)


def test_new_team_takes_the_company_and_its_members(client, world):
    client.force_login(world.owner)
    data = form_data(client.get(url("team", "add")))
    data.update({"name": "Night Shift", "members-0-user": str(world.member.pk), "members-0-role": "LEAD"})

    response = client.post(url("team", "add"), data)

    assert response.status_code == 302
    team_member = TeamMember.objects.select_related("team").get(team__name="Night Shift")
    assert (team_member.team.company, team_member.company, team_member.user) == (world.alpha, world.alpha, world.member)
    assert team_member.role == "LEAD"


def test_new_client_and_project_belong_to_the_admins_company(client, world):
    client.force_login(world.owner)
    add_client = client.get(url("client", "add"))
    assert 'name="company"' not in page(add_client)  # one company: nothing to choose

    data = form_data(add_client)
    data["name"] = "Charlie Client"
    created_client = client.post(url("client", "add"), data)
    data = form_data(client.get(url("project", "add")))
    data.update({"name": "Charlie Project", "client": str(world.client.pk), "project_teams-0-team": str(world.team.pk)})
    created_project = client.post(url("project", "add"), data)

    assert created_client.status_code == 302
    assert created_project.status_code == 302
    assert Client.objects.get(name="Charlie Client").company == world.alpha
    project = Project.objects.get(name="Charlie Project")
    assert (project.company, project.client) == (world.alpha, world.client)
    assert list(project.teams.all()) == [world.team]


def test_admin_of_two_companies_picks_one_and_only_its_rows(client, world):
    charlie = CompanyFactory(name="Charlie Co")
    MembershipFactory(company=charlie, user=world.owner, role=Role.ADMIN)
    charlie_client = ClientFactory(company=charlie, name="Charlie Client")
    client.force_login(world.owner)
    form = client.get(url("project", "add"))
    for offered in ["Alpha Works", "Charlie Co", "Alpha Client", "Charlie Client"]:
        assert offered in page(form)
    assert "Bravo" not in page(form)
    data = form_data(form)
    data.update({"company": str(charlie.pk), "name": "Charlie Project", "client": str(world.client.pk)})

    mixed = client.post(url("project", "add"), data)
    data["client"] = str(charlie_client.pk)
    created = client.post(url("project", "add"), data)

    assert mixed.status_code == 200
    assert "Choose from the selected company" in page(mixed)
    assert created.status_code == 302
    project = Project.objects.get(name="Charlie Project")
    assert (project.company, project.client) == (charlie, charlie_client)
    listed = page(client.get(url("project")))
    assert "Charlie Co" in listed  # the company column, with several companies
    assert "Bravo" not in listed


def test_duplicate_client_name_is_refused_with_a_message(client, world):
    client.force_login(world.owner)
    data = form_data(client.get(url("client", "add")))
    data["name"] = "alpha client"

    response = client.post(url("client", "add"), data, follow=True)

    assert "A client with this name already exists." in page(response)
    assert Client.objects.filter(company=world.alpha).count() == 1


# --------------------------------------------------------------------------- roles inside the company


def test_admin_cannot_make_anyone_owner(client, world):
    client.force_login(world.admin)
    target = membership(world.member, world.alpha)
    form = client.get(change_url(target))
    assert 'value="OWNER"' not in page(form)
    data = form_data(form)

    data["role"] = Role.OWNER
    refused = client.post(change_url(target), data)
    data["role"] = Role.MANAGER
    accepted = client.post(change_url(target), data)

    assert refused.status_code == 200
    assert "Select a valid choice" in page(refused)
    assert accepted.status_code == 302
    target.refresh_from_db()
    assert target.role == Role.MANAGER


def test_admin_cannot_change_or_remove_an_owner(client, world):
    client.force_login(world.admin)
    owner = membership(world.owner, world.alpha)
    shown = client.get(change_url(owner))
    assert shown.status_code == 200  # visible, read-only
    assert 'name="role"' not in page(shown)

    changed = client.post(change_url(owner), {"role": Role.MEMBER, "_save": "Save"})
    removed = act(client, "membership", "deactivate_members", [owner])

    assert changed.status_code == 403
    assert "only an OWNER can remove an OWNER" in page(removed)
    owner.refresh_from_db()
    assert (owner.role, owner.is_active) == (Role.OWNER, True)


def test_only_the_owner_changes_the_subscription_status(client, world):
    client.force_login(world.admin)
    data = form_data(client.get(change_url(world.alpha)))
    assert "subscription_status" not in data  # shown read-only
    data.update({"subscription_status": "ENTERPRISE", "idle_timeout_seconds": "900"})
    by_admin = client.post(change_url(world.alpha), data)
    world.alpha.refresh_from_db()
    assert by_admin.status_code == 302
    assert (world.alpha.subscription_status, world.alpha.idle_timeout_seconds) == ("TRIAL", 900)  # as created

    client.force_login(world.owner)
    data = form_data(client.get(change_url(world.alpha)))
    data["subscription_status"] = "PRO"
    by_owner = client.post(change_url(world.alpha), data)

    assert by_owner.status_code == 302
    world.alpha.refresh_from_db()
    assert world.alpha.subscription_status == "PRO"


def test_team_admins_cannot_add_or_delete_companies(client, world):
    client.force_login(world.owner)

    assert client.get(url("company", "add")).status_code == 403
    assert (
        client.post(reverse("admin:organizations_company_delete", args=[world.alpha.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert Company.objects.filter(pk=world.alpha.pk).exists()


def test_the_last_owner_cannot_be_demoted_or_removed(client, world):
    client.force_login(world.owner)
    own = membership(world.owner, world.alpha)
    data = form_data(client.get(change_url(own)))

    data["role"] = Role.MEMBER
    demoted = client.post(change_url(own), data, follow=True)
    removed = act(client, "membership", "deactivate_members", [own])

    assert "A company needs at least one OWNER" in page(demoted)
    assert "A company needs at least one OWNER" in page(removed)
    own.refresh_from_db()
    assert (own.role, own.is_active) == (Role.OWNER, True)
    assert client.get(reverse("admin:index")).status_code == 200


def test_deactivating_members_removes_them_from_company_and_teams(client, world):
    services.team_member_add(team=world.team, user_id=world.member.pk)
    bravo_membership = membership(world.bravo_owner, world.bravo)
    client.force_login(world.owner)

    response = act(
        client, "membership", "deactivate_members", [membership(world.member, world.alpha), bravo_membership]
    )

    assert "Deactivated 1 member." in page(response)
    assert not membership(world.member, world.alpha).is_active
    assert not TeamMember.objects.filter(user=world.member).exists()
    bravo_membership.refresh_from_db()
    assert bravo_membership.is_active


# --------------------------------------------------------------------------- actions


def test_archive_action_archives_only_selected_own_projects(client, world):
    other = ProjectFactory(company=world.alpha, name="Alpha Other")
    client.force_login(world.owner)

    response = act(client, "project", "archive_projects", [world.project, world.bravo_project])

    assert "Archived 1 project." in page(response)
    for project, archived in [(world.project, True), (other, False), (world.bravo_project, False)]:
        project.refresh_from_db()
        assert project.is_archived is archived
    active = page(client.get(url("project"), {"archived": "no"}))
    assert "Alpha Other" in active
    assert "Alpha Project" not in active


def test_unarchive_action_brings_projects_back(client, world):
    services.project_archive(project=world.project)
    client.force_login(world.admin)

    response = act(client, "project", "unarchive_projects", [world.project])

    assert "Unarchived 1 project." in page(response)
    world.project.refresh_from_db()
    assert not world.project.is_archived


def test_invitations_can_be_revoked_but_not_created(client, world):
    client.force_login(world.admin)

    add = client.get(url("invitation", "add"))
    response = act(client, "invitation", "revoke_invitations", [world.invitation, world.bravo_invitation])

    assert add.status_code == 403
    assert "Revoked 1 invitation." in page(response)
    world.invitation.refresh_from_db()
    world.bravo_invitation.refresh_from_db()
    assert world.invitation.revoked_at is not None
    assert world.bravo_invitation.revoked_at is None


# --------------------------------------------------------------------------- accounts


def test_accounts_admin_is_for_superusers_only(client, world):
    client.force_login(world.owner)

    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_devicesession_changelist")).status_code == 403
    assert "Users" not in page(client.get(reverse("admin:index")))


def test_superuser_creates_a_user_with_a_hashed_password(client, world):
    client.force_login(UserFactory(is_superuser=True))
    password = "a-long-unguessable-passphrase-42"

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Person@Example.com",
            "name": "New Person",
            "timezone": "Europe/Berlin",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.password != password
    assert user.check_password(password)


# --------------------------------------------------------------------------- raw-id fields


def test_every_raw_id_field_of_a_scoped_admin_names_only_scoped_rows(rf, world):
    """Django's raw-id widget names the row an id points at, looked up in the whole table: every
    company-scoped admin (and inline) with raw_id_fields must get the scoped widget instead
    (tracking/tests/test_admin.py shows the leak it closes, through the pages)."""
    from django.contrib import admin as django_admin

    from organizations.admin_mixins import ScopedForeignKeyRawIdWidget, _CompanyScope

    request = rf.get("/admin/")
    request.user = world.owner
    checked = []
    for model, model_admin in django_admin.site._registry.items():
        admins = [model_admin, *model_admin.get_inline_instances(request)]
        for each in admins:
            if not isinstance(each, _CompanyScope):
                continue
            for name in each.raw_id_fields:
                db_field = each.model._meta.get_field(name)
                if db_field.many_to_many:  # Django's many-to-many raw-id widget names nothing
                    continue
                formfield = each.formfield_for_dbfield(db_field, request)
                assert isinstance(formfield.widget, ScopedForeignKeyRawIdWidget), (model, name)
                checked.append((model.__name__, name))
    assert checked  # tracking's Task.parent at least
