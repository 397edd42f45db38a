from __future__ import annotations

import time
from typing import cast

import structlog
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import DeviceSession, User
from accounts.tokens import AccessClaims, access_claims, session_is_live, web_session_id

# How often a session's last_seen_at is written: a hot row, so not on every request.
LAST_SEEN_EVERY_SECONDS = 60
# Per process, not in Redis: a round trip per request only to learn "not yet" cost more than
# the write it saves. Each web process writes at most once a minute per session.
_last_seen_written: dict[str, float] = {}
_MAX_REMEMBERED = 50_000


TOKEN_NOT_VALID = "Given token not valid for any token type"


def authenticated_user(request: Request | HttpRequest) -> User:
    """``request.user`` in a view that requires authentication (DRF's IsAuthenticated, the
    default): a User, typed as one. An anonymous caller here is a 401, never a lookup as nobody."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


class SessionJWTAuthentication(JWTAuthentication):
    """A Bearer access token (``access_claims``: the one token check), whose user exists and
    is active and whose device session is still live. Errors are one flat 401 each."""

    def authenticate(self, request):
        header = self.get_header(request)
        raw = self.get_raw_token(header) if header is not None else None
        if raw is None:
            return None
        user, claims = token_identity(raw)
        request.session_id = claims.session_id
        structlog.contextvars.bind_contextvars(user_id=str(user.pk))
        touch_last_seen(claims.session_id)
        return user, claims


def token_identity(raw: str | bytes) -> tuple[User, AccessClaims]:
    """The user and claims of a Bearer token, or AuthenticationFailed saying why: the token is
    not valid, the user is gone or inactive, or the session was signed out."""
    claims = access_claims(raw)
    if claims is None:
        raise AuthenticationFailed(TOKEN_NOT_VALID, code="token_not_valid")
    # simplejwt's own rule (exists, is active, its messages); it reads only the user id claim
    found = JWTAuthentication().get_user(cast(Token, {jwt_settings.USER_ID_CLAIM: claims.user_id}))
    user = cast(User, found)
    if not session_is_live(claims.session_id, user_id=str(user.pk)):
        raise AuthenticationFailed("This session has been signed out.", code="session_revoked")
    return user, claims


def last_seen_due(session_id: str) -> bool:
    """Is it time to write this session's last_seen_at again? (If so, it is noted as written.)"""
    now = time.monotonic()
    if now < _last_seen_written.get(session_id, float("-inf")) + LAST_SEEN_EVERY_SECONDS:
        return False
    if len(_last_seen_written) >= _MAX_REMEMBERED:
        _last_seen_written.clear()  # bounded memory; at worst one extra write per session
    _last_seen_written[session_id] = now
    return True


def touch_last_seen(session_id: str) -> None:
    if last_seen_due(session_id):
        DeviceSession.objects.filter(id=session_id).update(last_seen_at=timezone.now())


class SessionJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class DashboardSessionAuthentication(SessionAuthentication):
    """The bundled dashboard's Django session (templates/), for the REST calls its pages make
    (start/stop a timer, request an export). DRF enforces CSRF for it on unsafe methods, so a
    foreign page cannot ride the cookie. The browser's device session (accounts/web_sessions.py;
    its middleware has checked it is live before this runs) is ``session_id``: logout of "this
    device" signs the browser out, a password change keeps it, a ticket it issues is bound to it."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            session = getattr(request._request, "session", None)
            request.session_id = web_session_id(session) if session is not None else None
            structlog.contextvars.bind_contextvars(user_id=str(result[0].pk))
        return result


class DashboardSessionAuthenticationScheme(SessionScheme):
    """The session cookie in the OpenAPI schema, as DRF's own SessionAuthentication is."""

    target_class = "accounts.authentication.DashboardSessionAuthentication"
