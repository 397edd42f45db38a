"""Dashboard sockets end with their sign-in (issue #15 item 4; SPEC: Realtime, "a socket whose
session is revoked ... is closed within 5 s").

A dashboard signed in through /login/ is a device session like any app's: signing out, a
password change or reset, logout-all, or revoking it from another device ends the Django
session and closes its sockets, opened with the cookie or with a ticket issued from it, by the
same mechanism as a token socket (the session group's close message, the watchdog behind it)."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import DeviceSession
from accounts.tests.factories import PASSWORD
from accounts.tokens import mark_sessions_revoked
from realtime.consumers import RealtimeConsumer
from tests.support.sockets import (
    ALLOWED_ORIGIN,
    closes_with,
    device,
    opened,
    receive,
    run,
    socket_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]

NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture(autouse=True)
def _dashboard_origin(settings):
    settings.REALTIME_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]


def signed_in_dashboard(user) -> Client:
    """A browser signed in through the dashboard's own form."""
    client = Client()
    response = client.post("/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def cookie_of(client: Client) -> str:
    from django.conf import settings

    return client.cookies[settings.SESSION_COOKIE_NAME].value


def ticket_of(client: Client) -> str:
    response = client.post("/api/v1/realtime/ticket")
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


def app_of(user) -> APIClient:
    """The same user on another device (the desktop app), signed in with a token."""
    access, _ = device(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def _reset_password(user) -> bool:
    api = APIClient()
    from accounts.services import password_reset_request

    password_reset_request(email=user.email)
    link = re.search(r"token=([\w-]+)", str(mail.outbox[-1].body))
    assert link is not None, "the reset email carries a link"
    return (
        api.post("/api/v1/auth/password/reset", {"token": link.group(1), "password": NEW_PASSWORD}).status_code == 204
    )


def _revoke_from_the_app(user) -> bool:
    app = app_of(user)
    listed = app.get("/api/v1/auth/sessions").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    [browser] = [row for row in rows if not row["current"]]
    return app.delete(f"/api/v1/auth/sessions/{browser['id']}").status_code == 204


ENDINGS = {
    "sign-out": lambda user, dashboard: dashboard.post("/logout/").status_code == 302,
    "logout-all": lambda user, dashboard: app_of(user).post("/api/v1/auth/logout-all").status_code == 204,
    "password change": lambda user, dashboard: (
        app_of(user)
        .post("/api/v1/auth/password/change", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        .status_code
        == 204
    ),
    "password reset": lambda user, dashboard: _reset_password(user),
    "revoked from another device": lambda user, dashboard: _revoke_from_the_app(user),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("opened_with", ["cookie", "ticket"])
def test_ending_the_dashboard_session_closes_its_socket_and_signs_it_out(world, ending, opened_with):
    manager = world.users["manager"]
    dashboard = signed_in_dashboard(manager)
    if opened_with == "cookie":
        socket = socket_for(cookie=cookie_of(dashboard), origin=ALLOWED_ORIGIN)
    else:
        socket = socket_for(ticket=ticket_of(dashboard), origin=ALLOWED_ORIGIN)

    async def body():
        comm = await opened(socket)
        assert await sync_to_async(ENDINGS[ending])(manager, dashboard)
        await closes_with(comm, 4401, within=5)
        await comm.disconnect()

    run(body)
    # The page is signed out too, and its cookie opens no new socket.
    assert dashboard.get("/dashboard/").status_code == 302

    async def again():
        comm = socket_for(cookie=cookie_of(dashboard), origin=ALLOWED_ORIGIN)
        assert (await comm.connect(timeout=5))[0]
        await closes_with(comm, 4401, within=3)
        await comm.disconnect()

    run(again)


def test_a_revoked_dashboard_closes_even_if_the_close_message_is_lost(world, monkeypatch):
    monkeypatch.setattr(RealtimeConsumer, "liveness_seconds", 0.2)
    manager = world.users["manager"]
    dashboard = signed_in_dashboard(manager)
    [browser] = DeviceSession.objects.filter(user=manager)

    async def body():
        comm = await opened(socket_for(cookie=cookie_of(dashboard), origin=ALLOWED_ORIGIN))
        await sync_to_async(mark_sessions_revoked)([str(browser.id)])  # revoked, no message sent
        await closes_with(comm, 4401, within=2)
        await comm.disconnect()

    run(body)


def test_signing_out_one_dashboard_leaves_the_others_and_the_apps_open(world):
    manager = world.users["manager"]
    leaving, staying = signed_in_dashboard(manager), signed_in_dashboard(manager)
    access, _ = device(manager)

    async def body():
        left = await opened(socket_for(cookie=cookie_of(leaving), origin=ALLOWED_ORIGIN))
        kept = await opened(socket_for(cookie=cookie_of(staying), origin=ALLOWED_ORIGIN))
        app = await opened(socket_for(token=access), subprotocol="bearer")
        assert (await sync_to_async(leaving.post)("/logout/")).status_code == 302
        await closes_with(left, 4401, within=5)
        for comm in (kept, app):
            await comm.send_json_to({"type": "ping"})
            assert await receive(comm) == {"type": "pong"}
            await comm.disconnect()
        await left.disconnect()

    run(body)
    assert staying.get("/dashboard/").status_code == 200
