"""Login failure counting in Redis: fixed windows (LOGIN_FAILURE_WINDOW_SECONDS) per IP and per
email, on the one counter of ``common.throttling`` (``add``: a count changes atomically with its
expiry, so a window always ends).

Every attempt takes a slot before the password is checked; a success gives the IP's slot back
and clears the email's window, and a refused attempt (429) gives its slots back, so only
failures remain."""

from __future__ import annotations

import hashlib

from django.conf import settings
from rest_framework.exceptions import Throttled

from common import throttling
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
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    names = _keys(ip=ip, email=email)
    results = throttling.add([(name, window, 1) for name in names])
    wait = throttling.longest_wait(results, [settings.LOGIN_FAILURE_LIMIT] * len(names))
    if wait is not None:
        # A refused attempt checked no password, so it is no failure: give its slots back.
        # Else the sign-ins refused while a burst of correct ones is in flight (an office
        # behind one address at 9:00) would keep the address refused until the window ends.
        throttling.add([(name, window, -1) for name in names])
        raise Throttled(wait=wait, detail="Too many failed sign-in attempts. Try again later.")


def release_login_attempt(*, ip: str | None, email: str) -> None:
    """A successful sign-in: it was not a failure, so give the IP's slot back, and clear the
    email's window (the owner proved they know the password). The password check is slow
    (Argon2): the IP's window may have ended meanwhile, and then there is nothing to give back
    (``add`` never opens a window for a give-back)."""
    email_key, *ip_keys = _keys(ip=ip, email=email)
    get_client().delete(email_key)
    if ip_keys:
        throttling.add([(name, settings.LOGIN_FAILURE_WINDOW_SECONDS, -1) for name in ip_keys])
