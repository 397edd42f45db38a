"""What the lean ASGI paths share: the heartbeat intake (``activity.intake``) and the changes
pull (``sync.lean_pull``) answer their ordinary requests on daphne's event loop and hand every
other request to Django. These are the checks Django's stack makes before a view runs, read off
the ASGI scope, and the psycopg pool they query through."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Coroutine
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from psycopg_pool import AsyncConnectionPool


def is_secure(scope, headers: dict) -> bool:
    """``request.is_secure()``, from the ASGI scope."""
    if scope.get("scheme") == "https":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if not proxy:
        return False
    name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
    return headers.get(name, b"").decode("latin-1") == proxy[1]


def plain_tracker_request(headers: dict, *, secure: bool) -> bool:
    """A tracker's request as Django's stack would let through untouched: a Bearer token, no
    Idempotency-Key (Django's replay layer), no Origin (browsers: CORS), an allowed Host, and
    no HTTPS redirect due."""
    if not headers.get(b"authorization", b"").startswith(b"Bearer "):
        return False
    if b"idempotency-key" in headers or b"origin" in headers:
        return False
    host, _ = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        return False
    return secure or not (settings.SECURE_SSL_REDIRECT or settings.SECURE_HSTS_SECONDS)


APPLICATION_NAME = "stint-lean"  # in pg_stat_activity
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = weakref.WeakKeyDictionary()


async def loop_pool() -> AsyncConnectionPool:
    """This event loop's pool, shared by the lean paths (daphne runs one loop per process;
    tests their own): ``HEARTBEAT_INTAKE_CONNECTIONS`` connections per web process in all."""
    loop = asyncio.get_running_loop()
    opening = _pools.get(loop)
    if opening is None or (opening.done() and (opening.cancelled() or opening.exception() or opening.result().closed)):
        # Opened once, by a task every caller waits on (no second pool on a race); again after
        # a failure or a close (tests close it between apps).
        opening = _pools[loop] = loop.create_task(_opened(new_pool()))
    # Shielded: a request cancelled while the pool opens (its client left) must not cancel the
    # opening every other request waits on.
    return await asyncio.shield(opening)


async def close_loop_pool() -> None:
    """Close this loop's pool (tests, before the test database is dropped)."""
    opening = _pools.pop(asyncio.get_running_loop(), None)
    if opening is None:
        return
    with contextlib.suppress(Exception):  # never opened: nothing to close
        await (await opening).close()


_background: set[asyncio.Task] = set()


def in_background(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` on this loop after the answer, held until it is done (fire and forget:
    ``work`` logs its own failures)."""
    task = asyncio.get_running_loop().create_task(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _opened(pool: AsyncConnectionPool) -> AsyncConnectionPool:
    await pool.open()
    return pool


def new_pool() -> AsyncConnectionPool:
    """A pool on Django's own connection settings, in autocommit (each statement its own
    transaction); opened by the caller, on its event loop."""
    db = settings.DATABASES["default"]
    kwargs = {
        key: value
        for key, value in db.get("OPTIONS", {}).items()
        if key not in {"pool", "isolation_level", "server_side_binding", "assume_role"}
    }
    # The same few statements thousands of times a second: prepared, PostgreSQL plans them
    # once per connection. Off (None) for a pooler that cannot keep prepared statements.
    kwargs["prepare_threshold"] = 0 if settings.HEARTBEAT_INTAKE_PREPARED else None
    for key, name in (
        ("dbname", "NAME"),
        ("user", "USER"),
        ("password", "PASSWORD"),
        ("host", "HOST"),
        ("port", "PORT"),
    ):
        if db.get(name):
            kwargs[key] = db[name]
    return AsyncConnectionPool(
        kwargs={**kwargs, "autocommit": True, "application_name": APPLICATION_NAME},
        min_size=1,
        max_size=settings.HEARTBEAT_INTAKE_CONNECTIONS,
        timeout=settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"],
        open=False,
    )
