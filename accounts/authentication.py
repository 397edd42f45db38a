from __future__ import annotations

import time

import structlog
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.models import DeviceSession, User
from accounts.tokens import SESSION_ID_CLAIM, session_is_live, web_session_id

# How often a session's last_seen_at is written: a hot row, so not on every request.
LAST_SEEN_EVERY_SECONDS = 60
# Per process, not in Redis: a round trip per request only to learn "not yet" cost more than
# the write it saves. Each web process writes at most once a minute per session.
_last_seen_written: dict[str, float] = {}
_MAX_REMEMBERED = 50_000


def authenticated_user(request: Request | HttpRequest) -> User:
    """``request.user`` in a view that requires authentication (DRF's IsAuthenticated, the
    default): a User, typed as one. An anonymous caller here is a 401, never a lookup as nobody."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


class SessionJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer JWT, plus: the token's device session must still be live."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        session_id = token.get(SESSION_ID_CLAIM)
        if not session_id or not session_is_live(str(session_id), user_id=str(user.pk)):
            raise InvalidToken({"detail": "This session has been signed out.", "code": "session_revoked"})
        request.session_id = str(session_id)
        structlog.contextvars.bind_contextvars(user_id=str(user.pk))
        touch_last_seen(str(session_id))
        return user, token


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
