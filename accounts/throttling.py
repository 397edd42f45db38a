"""Login failure counting in Redis: fixed one-minute windows per IP and per email.

SET NX EX + INCR run in one MULTI, so concurrent failures are counted exactly and the window
starts with the first failure. Only failures count; a success clears the email's counter."""

from __future__ import annotations

import hashlib

from django.conf import settings
from rest_framework.exceptions import Throttled

from common.redis import get_client, key


def _keys(*, ip: str | None, email: str) -> list[str]:
    email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    keys = [key("login-fail", "email", email_digest)]
    if ip:
        keys.append(key("login-fail", "ip", ip))
    return keys


def check_login_allowed(*, ip: str | None, email: str) -> None:
    """Raise Throttled (429 with Retry-After) once either counter reached the limit."""
    client = get_client()
    pipe = client.pipeline(transaction=False)
    names = _keys(ip=ip, email=email)
    for name in names:
        pipe.get(name)
        pipe.ttl(name)
    values = pipe.execute()
    waits = [
        max(int(values[i + 1]), 1)
        for i in range(0, len(values), 2)
        if values[i] is not None and int(values[i]) >= settings.LOGIN_FAILURE_LIMIT
    ]
    if waits:
        raise Throttled(wait=max(waits), detail="Too many failed sign-in attempts. Try again later.")


def record_login_failure(*, ip: str | None, email: str) -> None:
    pipe = get_client().pipeline(transaction=True)
    for name in _keys(ip=ip, email=email):
        pipe.set(name, 0, ex=settings.LOGIN_FAILURE_WINDOW_SECONDS, nx=True)
        pipe.incr(name)
    pipe.execute()


def clear_email_failures(*, email: str) -> None:
    get_client().delete(_keys(ip=None, email=email)[0])
