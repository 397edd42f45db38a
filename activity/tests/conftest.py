"""The HTTP side of the ASGI application, as daphne serves it, for the intake tests."""

from __future__ import annotations

import pytest

from tests.support.asgi import AsgiClient


@pytest.fixture(params=["django", "lean"])
def via(request):
    """Run a test through Django's view (the test client) and through the ASGI app, where
    ordinary heartbeat POSTs take the lean path: ``via(api)`` gives the client to use."""
    if request.param == "django":
        return lambda api: api
    app, loop = request.getfixturevalue("asgi_http")
    return lambda api: AsgiClient(app, loop, dict(api._credentials))
