"""The dashboard's Settings page: a signed-in member creates and revokes their own personal
access tokens, sees a new one once, and copies ready-made tracker configuration."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from requests.utils import get_auth_from_url

from accounts.models import PersonalAccessToken
from accounts.personal_tokens import personal_token_create
from tests.support.api import assert_error, bearer

pytestmark = pytest.mark.django_db
PAGE = "/dashboard/settings/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_token(response) -> str:
    found = re.search(r'data-testid="token-value">([0-9a-f-]{36})<', response.content.decode())
    assert found, "no token on the page"
    return found.group(1)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_member_creates_a_token_sees_it_once_with_configs_ready_to_paste(world):
    client = signed_in(world.users["member"])
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "YOUR-TOKEN" in page.content.decode()
    response = client.post(PAGE, {"name": "laptop", "scopes": ["ingest"], "company": str(world.a.id)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # a token on the page: never cached
    raw = new_token(response)
    assert uuid.UUID(raw).version == 4
    text = response.content.decode()
    assert f"hostname = &quot;{raw}:@testserver&quot;\nport = &quot;80&quot;" in text
    assert f"api_url = http://testserver/api/compat/wakatime/v1\napi_key = {raw}" in text
    token = PersonalAccessToken.objects.get(user=world.users["member"])
    assert (token.name, token.scopes, token.company_id) == ("laptop", ["ingest"], world.a.id)
    # Shown once: the list afterwards has the name and prefix, never the token.
    again = client.get(PAGE).content.decode()
    assert "laptop" in again
    assert raw[:8] in again
    assert raw not in again
    assert bearer(raw).post("/api/v1/sync/heartbeats", {"device_id": "d", "heartbeats": []}).status_code == 202


def test_configs_name_the_host_and_port_the_browser_used(world):
    client = signed_in(world.users["member"])
    response = client.post(PAGE, {"name": "x", "scopes": ["ingest"]}, HTTP_HOST="localhost:8000")
    raw = new_token(response)
    text = response.content.decode()
    assert f"hostname = &quot;{raw}:@localhost&quot;\nport = &quot;8000&quot;" in text
    # what aw-client does with it: requests turns the host's user part into HTTP Basic
    assert get_auth_from_url(f"http://{raw}:@localhost:8000/api/0/info") == (raw, "")
    assert "api_url = http://localhost:8000/api/compat/wakatime/v1" in text


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "scopes": ["read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["sudo"]},
    ],
)
def test_bad_forms_create_nothing(world, data):
    response = signed_in(world.users["member"]).post(PAGE, data)
    assert response.status_code == 400
    assert 'data-testid="token-value"' not in response.content.decode()
    assert not PersonalAccessToken.objects.exists()


def test_another_companys_id_is_refused(world):
    response = signed_in(world.users["member"]).post(
        PAGE, {"name": "x", "scopes": ["read"], "company": str(world.b.id)}
    )
    assert response.status_code == 400
    assert not PersonalAccessToken.objects.exists()


def test_revoke_from_the_page_stops_the_token(world):
    token, raw = personal_token_create(user=world.users["member"], name="legacy-cron", scopes=["read"])
    client = signed_in(world.users["member"])
    response = client.post(f"/dashboard/settings/tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert_error(bearer(raw).get("/api/v1/me"), 401)
    assert "legacy-cron" not in client.get(PAGE).content.decode()


def test_the_page_lists_and_revokes_only_the_members_own_tokens(world):
    theirs, raw = personal_token_create(user=world.users["owner"], name="owners-secret-script", scopes=["read"])
    client = signed_in(world.users["member"])
    assert "owners-secret-script" not in client.get(PAGE).content.decode()
    assert client.post(f"/dashboard/settings/tokens/{theirs.id}/revoke").status_code == 404
    assert bearer(raw).get("/api/v1/me").status_code == 200


def test_forms_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["member"])
    assert client.post(PAGE, {"name": "x", "scopes": ["read"]}).status_code == 403
    assert not PersonalAccessToken.objects.exists()


def test_the_dashboard_links_to_settings(world):
    assert 'href="/dashboard/settings/"' in signed_in(world.users["member"]).get("/dashboard/").content.decode()
