"""GET, POST /auth/tokens and DELETE /auth/tokens/{id} (SPEC: Accounts): a signed-in member
manages their own personal access tokens. What a token can do: test_personal_tokens.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.personal_tokens import personal_token_create
from accounts.tokens import hash_token
from common.models import IdempotencyRecord
from tests.support.api import assert_error, bearer

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/tokens"
LISTED = {"id", "name", "scopes", "company_id", "prefix", "created_at", "expires_at", "last_used_at"}


def test_create_shows_the_token_once_and_the_list_never(world):
    api = world.api("member")
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    response = api.post(URL, {"name": "laptop watcher", "scopes": ["ingest"], "expires_at": expires})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == LISTED | {"token"}
    raw = body["token"]
    assert uuid.UUID(raw).version == 4
    assert body["prefix"] == raw[:8]
    assert (body["scopes"], body["company_id"], body["last_used_at"]) == (["ingest"], None, None)
    stored = PersonalAccessToken.objects.get(id=body["id"])
    assert stored.token_hash == hash_token(raw)
    listed = api.get(URL).json()
    assert set(listed) == {"results", "next", "previous"}
    assert [set(t) for t in listed["results"]] == [LISTED]
    assert raw not in str(listed)
    assert bearer(raw).post("/api/v1/sync/heartbeats", {"device_id": "d", "heartbeats": []}).status_code == 202


def test_an_idempotent_replay_never_repeats_the_token(world):
    api = world.api("member")
    first = api.post(URL, {"name": "ci", "scopes": ["read"]}, HTTP_IDEMPOTENCY_KEY="pat-1")
    again = api.post(URL, {"name": "ci", "scopes": ["read"]}, HTTP_IDEMPOTENCY_KEY="pat-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert "token" in first.json()
    assert "token" not in again.json()
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["token"] not in IdempotencyRecord.objects.get(key="pat-1").body
    assert PersonalAccessToken.objects.count() == 1


def test_a_token_bound_to_a_company_and_refused_for_another(world):
    api = world.api("member")
    bound = api.post(URL, {"name": "a", "scopes": ["read"], "company_id": str(world.a.id)})
    assert bound.status_code == 201
    assert bound.json()["company_id"] == str(world.a.id)
    assert_error(api.post(URL, {"name": "b", "scopes": ["read"], "company_id": str(world.b.id)}), 404)
    assert PersonalAccessToken.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["admin"]}, "scopes.0"),
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "scopes": ["read"], "token": str(uuid.uuid4())}, "token"),
    ],
)
def test_bad_input_is_400_naming_the_field(world, body, attr):
    assert_error(world.api("member").post(URL, body), 400, attr=attr)
    assert not PersonalAccessToken.objects.exists()


def test_revoke_stops_the_token_and_drops_it_from_the_list(world):
    api = world.api("member")
    created = api.post(URL, {"name": "old", "scopes": ["read"]}).json()
    assert bearer(created["token"]).get("/api/v1/me").status_code == 200
    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    assert_error(bearer(created["token"]).get("/api/v1/me"), 401)
    assert api.get(URL).json()["results"] == []
    assert_error(api.delete(f"{URL}/{created['id']}"), 404)
    assert PersonalAccessToken.objects.get(id=created["id"]).revoked_by == world.users["member"]


def test_another_users_tokens_are_404_and_never_listed(world):
    theirs, raw = personal_token_create(user=world.users["outsider"], name="theirs", scopes=["write"])
    colleague, _ = personal_token_create(user=world.users["owner"], name="boss", scopes=["write"])
    api = world.api("member")
    for token in (theirs, colleague):
        assert_error(api.delete(f"{URL}/{token.id}"), 404)
    assert api.get(URL).json()["results"] == []
    assert bearer(raw).get("/api/v1/me").status_code == 200  # untouched


def test_only_a_session_manages_tokens(world):
    _, raw = personal_token_create(user=world.users["member"], name="all", scopes=["read", "write", "ingest"])
    mine, _ = personal_token_create(user=world.users["member"], name="mine", scopes=["read"])
    client = bearer(raw)
    assert_error(client.get(URL), 403, code="token_scope")
    assert_error(client.post(URL, {"name": "more", "scopes": ["write"]}), 403, code="token_scope")
    assert_error(client.delete(f"{URL}/{mine.id}"), 403, code="token_scope")
    assert PersonalAccessToken.objects.filter(revoked_at__isnull=True).count() == 2


def test_the_list_is_cursor_paginated_newest_first(world):
    for n in range(3):
        personal_token_create(user=world.users["member"], name=f"t{n}", scopes=["read"])
    api = world.api("member")
    first = api.get(f"{URL}?limit=2").json()
    assert [t["name"] for t in first["results"]] == ["t2", "t1"]
    second = api.get(first["next"]).json()
    assert [t["name"] for t in second["results"]] == ["t0"]


def test_signed_out_is_401(api):
    assert_error(api.get(URL), 401)
    assert_error(api.post(URL, {"name": "x", "scopes": ["read"]}), 401)


def test_the_schema_offers_personal_tokens_only_where_they_are_accepted(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert {"personalTokenBearer": []} in paths["/api/v1/sync/heartbeats"]["post"]["security"]
    assert {"personalTokenBasic": []} in paths["/api/v1/projects"]["get"]["security"]
    for path, method in [("/api/v1/auth/tokens", "post"), ("/api/v1/auth/password/change", "post")]:
        offered = {name for requirement in paths[path][method]["security"] for name in requirement}
        assert offered == {"bearerAuth", "cookieAuth"}
