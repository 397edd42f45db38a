"""Access tokens (JWT, bound to a device session) and the session-liveness cache.

An access token carries ``sid``. Authentication asks the cache whether that session is live,
and whose it is, instead of the database: the cached value is the session's user id, so a
token naming one user and another user's session is refused. Revocation writes "revoked"
into the cache inside the revoking transaction: if Redis is down the revocation fails (and
is rolled back) rather than leaving a cached "live" behind. Fills use ADD (SET NX) and
revocations SET, so a fill racing a revocation can never overwrite the revoked marker."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import DeviceSession, User

SESSION_ID_CLAIM = "sid"
_REVOKED = "revoked"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def access_token_for(session: DeviceSession) -> str:
    token = AccessToken.for_user(session.user)
    token[SESSION_ID_CLAIM] = str(session.id)
    return str(token)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    expires_at: float  # Unix seconds


_verified: dict[str, AccessClaims] = {}
_MAX_VERIFIED = 50_000


def access_claims(raw: str | bytes) -> AccessClaims | None:
    """The claims of a valid access token (signature, expiry, type, a session id), else None:
    the one check of a Bearer token, for the REST API, the lean heartbeat intake and sockets.
    A tracker sends the same token for its whole life, so a verified one is remembered (per
    process) until it expires: verifying it is a fifth of a heartbeat request's CPU. Whether
    its session is still live, and its user active, is the caller's next question."""
    key = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    known = _verified.get(key)
    if known is not None:
        if known.expires_at > time.time():
            return known
        del _verified[key]
    try:
        token = AccessToken(key)  # type: ignore[arg-type]  # the stubs leave out a raw token string
        claims = AccessClaims(
            user_id=str(token[jwt_settings.USER_ID_CLAIM]),
            session_id=str(token[SESSION_ID_CLAIM]),
            expires_at=float(token["exp"]),
        )
    except (TokenError, KeyError, TypeError, ValueError):
        return None
    if len(_verified) >= _MAX_VERIFIED:
        _verified.clear()  # bounded memory; at worst each token is verified once more
    _verified[key] = claims
    return claims


def session_cache_key(session_id: str) -> str:
    return f"session-live:{session_id}"


def _cache_ttl() -> int:
    # An access token cannot outlive this, so neither need the cached answer.
    return int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 60


def session_is_live(session_id: str, *, user_id: str) -> bool:
    """Is this session live and ``user_id``'s? Answered from Redis, filled from the database."""
    return session_answer(session_id, user_id=user_id, cached=cache.get(session_cache_key(session_id)))


def session_answer(session_id: str, *, user_id: str, cached: str | None) -> bool:
    """``session_is_live`` given what ``session_cache_key`` held (read by the caller, e.g. in
    one MGET with the user's version): filled from the database when nothing was cached."""
    if cached is None:
        session = DeviceSession.objects.filter(id=session_id).only("user_id", "revoked_at", "expires_at").first()
        cached = str(session.user_id) if session is not None and session.is_live else _REVOKED
        cache.add(session_cache_key(session_id), cached, timeout=_cache_ttl())
    return cached == str(user_id)


# ``session_is_live`` with the user's being active, as one SQL condition for a lean path's
# single statement (``sync.lean_pull``). The database is never behind the cache: a revocation
# writes both in one transaction. Parameters: the session id, then the user id.
LIVE_SESSION_SQL = (
    f"EXISTS (SELECT 1 FROM {DeviceSession._meta.db_table} s "
    f"JOIN {User._meta.db_table} u ON u.id = s.user_id AND u.is_active "
    "WHERE s.id = %s AND s.user_id = %s AND s.revoked_at IS NULL AND s.expires_at > now())"
)


def live_sessions(pairs: set[tuple[str, str]]) -> set[str]:
    """``session_is_live`` for many ``(session_id, user_id)`` pairs in one cache round trip
    (the realtime tier checks every open socket's session every few seconds); returns the
    live session ids. Sessions not cached yet are filled as ``session_is_live`` does."""
    if not pairs:
        return set()
    keys = {session_cache_key(session_id): (session_id, user_id) for session_id, user_id in pairs}
    found = cache.get_many(list(keys))
    live = set()
    for cache_key, (session_id, user_id) in keys.items():
        cached = found.get(cache_key)
        if cached is None:
            if session_is_live(session_id, user_id=user_id):
                live.add(session_id)
        elif cached == str(user_id):
            live.add(session_id)
    return live


def mark_sessions_revoked(session_ids: list[str]) -> None:
    cache.set_many({session_cache_key(str(sid)): _REVOKED for sid in session_ids}, timeout=_cache_ttl())


# A browser signed in with the Django session (the dashboard's /login/, the admin's login) is a
# device session too, without tokens: its id lives in the Django session under this key
# (accounts/web_sessions.py), so whatever revokes device sessions (sign-out, logout-all, a
# password change or reset, DELETE /auth/sessions/{id}, refresh-token reuse) ends it and closes
# its sockets by the same close message and liveness check as a token's.
WEB_SESSION_KEY = "_stint_device_session_id"


def web_session_id(session) -> str | None:
    """The device session behind a Django session (a ``SessionBase``), if any."""
    value = session.get(WEB_SESSION_KEY)
    return str(value) if value else None
