"""Personal access tokens in the admin: an OWNER or ADMIN lists and revokes the tokens that can
act in their company, and sees nothing of anyone else's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import PersonalAccessToken
from accounts.personal_tokens import personal_token_create
from organizations.models import Role
from tests.support.admin import page
from tests.support.api import assert_error, bearer

pytestmark = pytest.mark.django_db
LIST = reverse("admin:accounts_personalaccesstoken_changelist")


def token(user, name, company=None):
    return personal_token_create(user=user, name=name, scopes=["write"], company=company)


@pytest.fixture
def tokens(world):
    member = world.users["member"]
    world.b.memberships.create(user=member, role=Role.MEMBER)  # the member works for B too
    return {
        "unbound": token(member, "member-anywhere"),
        "bound_a": token(member, "member-at-a", world.a),
        "bound_b": token(member, "member-at-b", world.b),
        "outsider": token(world.users["outsider"], "outsider-token"),
    }


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_a_company_admin_sees_only_tokens_that_act_in_their_company(client, world, tokens, who):
    client.force_login(world.users[who])
    response = client.get(LIST)
    assert response.status_code == 200
    text = page(response)
    assert "member-anywhere" in text
    assert "member-at-a" in text
    assert "member-at-b" not in text
    assert "outsider-token" not in text
    assert tokens["unbound"][0].token_hash not in text


def test_another_companys_token_does_not_exist_even_by_url(client, world, tokens):
    client.force_login(world.users["owner"])
    for key in ("bound_b", "outsider"):
        url = reverse("admin:accounts_personalaccesstoken_change", args=[tokens[key][0].pk])
        response = client.get(url)
        assert response.status_code in {302, 404}
        assert tokens[key][0].name not in page(client.get(LIST))


def test_the_revoke_action_revokes_through_the_service_and_only_visible_tokens(client, world, tokens):
    client.force_login(world.users["owner"])
    chosen = [tokens["bound_a"][0], tokens["outsider"][0]]
    data = {"action": "revoke_tokens", "index": "0", "_selected_action": [str(t.pk) for t in chosen]}
    response = client.post(LIST, data, follow=True)
    assert response.status_code == 200
    assert "Revoked 1 token." in page(response)
    revoked = PersonalAccessToken.objects.get(pk=tokens["bound_a"][0].pk)
    assert revoked.revoked_by == world.users["owner"]
    assert revoked.revoked_reason == "revoked_by_admin"
    assert_error(bearer(tokens["bound_a"][1]).get("/api/v1/me"), 401)
    assert bearer(tokens["outsider"][1]).get("/api/v1/me").status_code == 200
    live = page(client.get(LIST + "?revoked_at__isempty=1"))
    assert "member-at-a" not in live
    assert "member-anywhere" in live


def test_members_and_managers_are_kept_out(client, world, tokens):
    for who in ("member", "manager"):
        client.force_login(world.users[who])
        response = client.get(LIST)
        assert response.status_code == 302


def test_a_superuser_sees_every_token(client, world, tokens, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(email="root@example.com", password="x", name="R"))
    text = page(client.get(LIST))
    for name in ("member-anywhere", "member-at-a", "member-at-b", "outsider-token"):
        assert name in text
