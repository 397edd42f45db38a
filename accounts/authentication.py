from __future__ import annotations

import base64
import binascii
import time
from typing import cast

import structlog
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

# The module, not its names: it imports common.exceptions, which imports DRF's views, which
# import this module (DEFAULT_AUTHENTICATION_CLASSES): names are read when a request comes.
from accounts import personal_tokens, user_cache
from accounts.models import DeviceSession, PersonalAccessToken, TokenScope, User
from accounts.tokens import AccessClaims, access_claims, session_answer, session_cache_key, web_session_id
from common import lean

logger = structlog.get_logger(__name__)

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
    # One Redis round trip: the session's liveness and the user's row version (user_cache).
    session_key, version_key = session_cache_key(claims.session_id), user_cache.version_key(claims.user_id)
    found = cache.get_many([session_key, version_key])
    user = user_cache.cached_user(claims.user_id, found.get(version_key), load_token_user)
    if not session_answer(claims.session_id, user_id=str(user.pk), cached=found.get(session_key)):
        raise AuthenticationFailed("This session has been signed out.", code="session_revoked")
    return user, claims


def load_token_user(user_id: str) -> User:
    """simplejwt's own rule (exists, is active, its messages); it reads only the user id claim."""
    return cast(User, JWTAuthentication().get_user(cast(Token, {jwt_settings.USER_ID_CLAIM: user_id})))


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


_LAST_SEEN_SQL = f"UPDATE {DeviceSession._meta.db_table} SET last_seen_at = %s WHERE id = %s"


def touch_last_seen_soon(session_id: str) -> None:
    """``touch_last_seen`` for a lean path, on the event loop: as often, written on the loop's
    lean pool after the answer (a failure is logged and costs the answer nothing)."""
    if last_seen_due(session_id):
        lean.in_background(_write_last_seen(session_id, timezone.now()))


async def _write_last_seen(session_id: str, now) -> None:
    try:
        pool = await lean.loop_pool()
        async with pool.connection() as conn:
            await conn.execute(_LAST_SEEN_SQL, [now, session_id])
    except Exception:
        logger.warning("last_seen_failed", exc_info=True)


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


# --------------------------------------------------------------------------- personal tokens

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PERSONAL_TOKEN_NOT_VALID = "This personal access token is not valid: unknown, revoked or expired."


def personal_token_credential(header: bytes) -> str | None:
    """The personal token an Authorization header carries, if it carries one: ``Bearer <uuid>``,
    or HTTP Basic with the token as the user name (``<token>:``, what a URL's user part sends)
    or as the whole payload (``<token>``, what WakaTime clients send). None for anything else:
    a JWT is never UUID-shaped, so Bearer JWTs go on to SessionJWTAuthentication untouched."""
    scheme, _, value = header.partition(b" ")
    value = value.strip()
    if scheme.lower() == b"bearer":
        candidate = value.decode("latin-1")
    elif scheme.lower() == b"basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            return None
        user_part, colon, password = decoded.partition(":")
        if colon and password:  # user:password: not a token form we hand out
            return None
        candidate = user_part
    else:
        return None
    return candidate if personal_tokens.looks_like_personal_token(candidate) else None


def personal_token_allows(token: PersonalAccessToken, view, method: str) -> str | None:
    """Why this token may not make this call (a message naming the scope), or None if it may.
    The one place scopes are enforced:

    - ``read``: GET, HEAD and OPTIONS only;
    - ``write``: every call its user may make;
    - ``ingest``: any method, but only on views that declare ``accepts_ingest_tokens = True``
      (heartbeats, activity, the ActivityWatch and WakaTime intakes);
    - none of them on views that declare ``accepts_personal_tokens = False``: managing tokens,
      sessions and the password, and socket tickets, take a signed-in session, so a leaked
      token can neither mint more tokens nor lock its owner out."""
    if not getattr(view, "accepts_personal_tokens", True):
        return "Personal access tokens cannot be used here: sign in (a session) to do this."
    scopes = set(token.scopes)
    if TokenScope.WRITE in scopes:
        return None
    if TokenScope.READ in scopes and method in SAFE_METHODS:
        return None
    if TokenScope.INGEST in scopes and getattr(view, "accepts_ingest_tokens", False):
        return None
    if method in SAFE_METHODS:
        return "This token lacks the read scope (it has: " + ", ".join(token.scopes) + ")."
    if scopes == {TokenScope.INGEST}:
        return "An ingest-scoped token only sends heartbeats and activity; this call needs the write scope."
    return "This token lacks the write scope needed to change anything (it has: " + ", ".join(token.scopes) + ")."


def request_personal_token(request) -> PersonalAccessToken | None:
    """The live personal token a request carries, None if it carries none, or
    AuthenticationFailed if the one it carries is unknown, revoked or expired."""
    raw = personal_token_credential(get_authorization_header(request))
    if raw is None:
        return None
    token = personal_tokens.personal_token_for(raw)
    if token is None:
        raise AuthenticationFailed(PERSONAL_TOKEN_NOT_VALID, code="token_not_valid")
    return token


def personal_token_user(request) -> User | None:
    """Who is calling with a personal token, before any view runs (the Idempotency-Key
    middleware keys by it); what the token may do is PersonalTokenAuthentication's to say."""
    token = request_personal_token(request)
    return token.user if token is not None else None


class PersonalTokenAuthentication(BaseAuthentication):
    """A personal access token (``accounts.personal_tokens``), as Bearer or HTTP Basic. It runs
    first: an Authorization header that is not a personal token is left, untouched, to the next
    class. ``request.auth`` is the token; a token bound to a company makes its user act there
    only (``User.acting_company_id``); its scopes are checked here, against the view
    (``personal_token_allows``), so no view can forget to: 403 naming the missing scope."""

    def authenticate(self, request):
        token = request_personal_token(request)
        if token is None:
            return None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        refusal = personal_token_allows(token, view, request.method)
        if refusal is not None:
            raise PermissionDenied(refusal, code="token_scope")
        user = token.user
        user.acting_company_id = token.company_id
        request.session_id = None  # no device session behind it
        structlog.contextvars.bind_contextvars(user_id=str(user.pk))
        if last_seen_due(f"pat:{token.pk}"):
            PersonalAccessToken.objects.filter(id=token.pk).update(last_used_at=timezone.now())
        return user, token

    def authenticate_header(self, request) -> str:
        # The first class's header is what an anonymous call's 401 carries (DRF turns the 401
        # into a 403 without one): the same Bearer challenge as before this class existed.
        return SessionJWTAuthentication().authenticate_header(request)


class PersonalTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Two schemes, either one (alternatives, not both); left out of operations that refuse
    personal tokens (``accepts_personal_tokens = False``)."""

    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = ["personalTokenBearer", "personalTokenBasic"]

    def get_security_requirement(self, auto_schema):
        if not getattr(auto_schema.view, "accepts_personal_tokens", True):
            return None
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "UUID", "description": "A personal access token."},
            {
                "type": "http",
                "scheme": "basic",
                "description": "A personal access token as the user name (empty password) or as the whole credential.",
            },
        ]
