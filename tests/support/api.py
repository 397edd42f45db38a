"""The API's answers, as every app's tests check them."""

from __future__ import annotations

from rest_framework.test import APIClient


def assert_error(response, status: int, *, attr: str | None = None, code: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"] in {"validation_error", "client_error", "server_error"}
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
    if attr is not None:
        assert attr in [e["attr"] for e in body["errors"]], body
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body
    return body


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
