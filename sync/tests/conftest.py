"""The HTTP side of the ASGI application, as daphne serves it, for the intake tests."""

from __future__ import annotations

import pytest

from sync.tests.asgi_client import AsgiClient, LoopThread


@pytest.fixture(scope="session")
def asgi_http(django_db_setup, django_db_blocker):
    """``(app, loop)``: the ``http`` app of ``config.asgi`` on a loop of its own. Its lean
    intake keeps a connection pool to the test database, closed before the database is
    dropped."""
    from config.asgi import application

    app = application.application_mapping["http"]
    loop = LoopThread()
    yield app, loop
    with django_db_blocker.unblock():
        loop.run(app.aclose())
    loop.stop()


@pytest.fixture(params=["django", "lean"])
def via(request):
    """Run a test through Django's view (the test client) and through the ASGI app, where
    ordinary heartbeat POSTs take the lean path: ``via(api)`` gives the client to use."""
    if request.param == "django":
        return lambda api: api
    app, loop = request.getfixturevalue("asgi_http")

    def lean(api):
        credentials = dict(api._credentials)
        warm_session(credentials.get("HTTP_AUTHORIZATION", ""))
        return AsgiClient(app, loop, credentials)

    return lean


def warm_session(authorization: str) -> None:
    """Cache the token's session as live, as its first request through Django would: a
    tracker's later requests are the ones the lean path serves."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.tokens import SESSION_ID_CLAIM, session_is_live

    if authorization.startswith("Bearer "):
        token = AccessToken(authorization.removeprefix("Bearer "))
        session_is_live(str(token[SESSION_ID_CLAIM]), user_id=str(token["user_id"]))
