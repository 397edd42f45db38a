"""Login failure counting in Redis: fixed one-minute windows per IP and per email.

SET NX EX + INCR run in one MULTI, so concurrent attempts are counted exactly and the window
starts with the first one. Every attempt takes a slot before the password is checked; a
success gives the IP's slot back and clears the email's window, so only failures remain."""

from __future__ import annotations

import hashlib

from django.conf import settings
from rest_framework.exceptions import Throttled

from common.redis import get_client, key


def _keys(*, ip: str | None, email: str) -> list[str]:
    email_digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    keys = [key("login-fail", "email", email_digest)]
    if ip:
        keys.append(key("login-fail", "ip", ip))
    return keys


def reserve_login_attempt(*, ip: str | None, email: str) -> None:
    """Count this attempt against both windows before the password is checked; raise
    Throttled (429 with Retry-After) when either window is already full. Counting first is
    what makes the limit hold under a burst of parallel guesses."""
    names = _keys(ip=ip, email=email)
    pipe = get_client().pipeline(transaction=True)
    for name in names:
        pipe.set(name, 0, ex=settings.LOGIN_FAILURE_WINDOW_SECONDS, nx=True)
        pipe.incr(name)
        pipe.ttl(name)
    results = pipe.execute()
    counts, ttls = results[1::3], results[2::3]
    waits = [max(int(ttl), 1) for count, ttl in zip(counts, ttls, strict=True) if count > settings.LOGIN_FAILURE_LIMIT]
    if waits:
        raise Throttled(wait=max(waits), detail="Too many failed sign-in attempts. Try again later.")


def release_login_attempt(*, ip: str | None, email: str) -> None:
    """A successful sign-in: it was not a failure, so give the IP's slot back, and clear the
    email's window (the owner proved they know the password)."""
    email_key, *ip_keys = _keys(ip=ip, email=email)
    pipe = get_client().pipeline(transaction=True)
    pipe.delete(email_key)
    for name in ip_keys:
        pipe.decr(name)
    pipe.execute()
