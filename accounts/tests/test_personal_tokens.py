"""Personal access tokens (SPEC: Accounts, "Personal access tokens"): what a script or a
tracker holding one can and cannot do. The API that manages them: test_api_personal_tokens.py."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import authentication, services
from accounts.models import PersonalAccessToken
from accounts.personal_tokens import (
    INGEST,
    READ,
    WRITE,
    personal_token_create,
    personal_token_for,
    personal_token_revoke,
)
from accounts.tests.factories import PASSWORD
from accounts.tokens import hash_token
from common.exceptions import InvalidInput, NotFoundError
from tests.support.api import assert_error, bearer
from tests.support.heartbeats import URL as HEARTBEATS
from tests.support.heartbeats import hb

pytestmark = pytest.mark.django_db


def basic(payload: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(payload.encode()).decode())
    return client


def make(user, scopes=(WRITE,), **kwargs) -> tuple[PersonalAccessToken, str]:
    return personal_token_create(user=user, name="script", scopes=list(scopes), **kwargs)


# --------------------------------------------------------------------------- the token itself


def test_the_raw_token_is_a_uuid4_stored_only_as_its_hash(world):
    token, raw = make(world.users["member"])
    assert uuid.UUID(raw).version == 4
    assert str(uuid.UUID(raw)) == raw
    stored = PersonalAccessToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(raw)
    assert stored.prefix == raw[:8]
    assert raw not in {str(value) for value in PersonalAccessToken.objects.values_list().get(pk=token.pk)}


def test_scopes_are_checked_by_the_service_and_by_the_database(world):
    user = world.users["member"]
    with pytest.raises(InvalidInput):
        make(user, scopes=())
    with pytest.raises(InvalidInput):
        make(user, scopes=("admin",))
    assert make(user, scopes=(INGEST, READ, READ))[0].scopes == [READ, INGEST]
    token, _ = make(user)
    for bad in ([], ["read", "sudo"]):
        with pytest.raises(IntegrityError), transaction.atomic():
            PersonalAccessToken.objects.filter(pk=token.pk).update(scopes=bad)


def test_a_token_binds_only_to_a_company_its_user_belongs_to(world):
    with pytest.raises(NotFoundError):
        make(world.users["member"], company=world.b)
    assert make(world.users["member"], company=world.a)[0].company_id == world.a.id


# --------------------------------------------------------------------------- authentication


@pytest.mark.parametrize("form", ["bearer", "basic-user", "basic-whole"])
def test_bearer_and_both_basic_forms_authenticate(world, form):
    _, raw = make(world.users["member"], scopes=(READ,))
    client = {"bearer": bearer(raw), "basic-user": basic(f"{raw}:"), "basic-whole": basic(raw)}[form]
    response = client.get("/api/v1/me")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(world.users["member"].id)


def test_jwt_bearer_works_exactly_as_before(world):
    assert world.api("member").get("/api/v1/me").status_code == 200
    response = bearer("not-a-jwt-nor-a-token").get("/api/v1/me")
    assert_error(response, 401, code="token_not_valid")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_anonymous_call_is_still_a_401_with_the_bearer_challenge(world):
    response = APIClient().get("/api/v1/me")
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unknown_revoked_expired_tokens_and_inactive_users_are_401(world):
    member = world.users["member"]
    assert_error(bearer(str(uuid.uuid4())).get("/api/v1/me"), 401, code="token_not_valid")
    revoked, raw_revoked = make(member)
    personal_token_revoke(token=revoked, by=member)
    assert_error(basic(raw_revoked).get("/api/v1/me"), 401, code="token_not_valid")
    expired, raw_expired = make(member, expires_at=timezone.now() + timedelta(minutes=1))
    PersonalAccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(bearer(raw_expired).get("/api/v1/me"), 401, code="token_not_valid")
    _, raw = make(world.users["loner"])
    world.users["loner"].is_active = False
    world.users["loner"].save()
    assert_error(bearer(raw).get("/api/v1/me"), 401, code="token_not_valid")


def test_revoking_takes_effect_on_the_very_next_request(world):
    token, raw = make(world.users["member"])
    client = bearer(raw)
    assert client.get("/api/v1/me").status_code == 200
    personal_token_revoke(token=token, by=world.users["member"])
    assert_error(client.get("/api/v1/me"), 401)
    assert personal_token_for(raw) is None
    stored = PersonalAccessToken.objects.get(pk=token.pk)
    assert stored.revoked_by == world.users["member"]
    assert stored.revoked_at is not None


def test_a_password_reset_revokes_every_token_of_the_user(world, api):
    member = world.users["member"]
    tokens = [make(member)[1], make(member, scopes=(INGEST,))[1]]
    others = make(world.users["admin"])[1]
    services.password_reset_request(email=member.email)
    reset = services.PasswordResetToken.objects.get(user=member)
    raw_reset = "x"
    # The mailed link carries the raw token; tests use a row with a known one instead.
    services.PasswordResetToken.objects.filter(pk=reset.pk).update(token_hash=hash_token(raw_reset))
    services.password_reset(token=raw_reset, password="a-new-" + PASSWORD)
    for raw in tokens:
        assert_error(bearer(raw).get("/api/v1/me"), 401)
    assert PersonalAccessToken.objects.filter(user=member, revoked_reason="password_reset").count() == 2
    assert bearer(others).get("/api/v1/me").status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute(world):
    token, raw = make(world.users["member"])
    client = bearer(raw)
    assert client.get("/api/v1/me").status_code == 200
    first = PersonalAccessToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=None)
    assert client.get("/api/v1/me").status_code == 200
    assert PersonalAccessToken.objects.get(pk=token.pk).last_used_at is None  # within the minute
    authentication._last_seen_written.pop(f"pat:{token.pk}")  # as if the minute had passed
    assert client.get("/api/v1/me").status_code == 200
    assert PersonalAccessToken.objects.get(pk=token.pk).last_used_at is not None


# --------------------------------------------------------------------------- scopes


def test_a_read_token_reads_but_changes_nothing(world):
    _, raw = make(world.users["member"], scopes=(READ,))
    client = bearer(raw)
    assert client.get("/api/v1/projects").status_code == 200
    body = assert_error(client.patch("/api/v1/me", {"name": "X"}), 403, code="token_scope")
    assert "write" in body["errors"][0]["detail"]
    assert_error(client.post(HEARTBEATS, {"device_id": "d", "heartbeats": [hb(5)]}), 403, code="token_scope")


def test_an_ingest_token_only_sends_to_the_intakes(world):
    _, raw = make(world.users["member"], scopes=(INGEST,))
    client = bearer(raw)
    assert client.post(HEARTBEATS, {"device_id": "d", "heartbeats": [hb(5)]}).status_code == 202
    assert client.post("/api/v1/sync/activity", {"device_id": "d", "samples": []}).status_code in {202, 400}
    assert_error(client.get("/api/v1/projects"), 403, code="token_scope")
    assert_error(client.post("/api/v1/time-entries", {"project_id": str(world.project_open.id)}), 403)


def test_a_write_token_does_what_its_user_may_but_never_manages_tokens_sessions_or_password(world):
    _, raw = make(world.users["member"], scopes=(WRITE,))
    client = bearer(raw)
    assert client.patch("/api/v1/me", {"name": "Scripted"}).status_code == 200
    assert client.post(HEARTBEATS, {"device_id": "d", "heartbeats": [hb(5)]}).status_code == 202
    assert client.get("/api/v1/projects").status_code == 200
    # Still only what the user may: a MEMBER cannot create projects.
    assert_error(client.post("/api/v1/projects", {"name": "Nope"}), 403)
    refused = [
        client.post("/api/v1/auth/password/change", {"current_password": PASSWORD, "new_password": "x" * 20}),
        client.get("/api/v1/auth/sessions"),
        client.post("/api/v1/auth/logout-all"),
        client.post("/api/v1/realtime/ticket"),
    ]
    for response in refused:
        assert_error(response, 403, code="token_scope")
    assert world.users["member"].check_password(PASSWORD)


# --------------------------------------------------------------------------- companies


def test_a_company_bound_token_acts_only_in_its_company(world):
    owner = world.users["owner"]  # owner of A; make them a member of B too
    world.b.memberships.create(user=owner, role="MEMBER")
    _, raw = make(owner, company=world.b, scopes=(READ,))
    client = bearer(raw)
    # No ?company=: the token's company, though the user has two (and A as default).
    projects = client.get("/api/v1/projects").json()["results"]
    assert {p["id"] for p in projects} == {str(world.project_b.id)}
    assert_error(client.get(f"/api/v1/projects?company={world.a.id}"), 404)
    assert client.get(f"/api/v1/projects?company={world.b.id}").status_code == 200
    companies = client.get("/api/v1/companies").json()["results"]
    assert [c["id"] for c in companies] == [str(world.b.id)]
    assert_error(client.get(f"/api/v1/projects/{world.project_open.id}"), 404)


def test_an_unbound_token_acts_wherever_its_user_may(world):
    _, raw = make(world.users["owner"], scopes=(READ,))
    projects = bearer(raw).get("/api/v1/projects").json()["results"]
    assert str(world.project_open.id) in {p["id"] for p in projects}
    assert_error(bearer(raw).get(f"/api/v1/projects/{world.project_b.id}"), 404)
