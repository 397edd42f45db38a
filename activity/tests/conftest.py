"""The HTTP side of the ASGI application, as daphne serves it, for the intake tests."""

from __future__ import annotations

import pytest

from tests.support.asgi import AsgiClient, LoopThread


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
    return lambda api: AsgiClient(app, loop, dict(api._credentials))
