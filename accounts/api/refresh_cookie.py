"""The refresh token in an HttpOnly cookie, for browser apps (``POST /auth/login`` with
``{"cookie": true}``): script on the page never sees it, so an XSS cannot carry it off.

The cookie is ``Secure; HttpOnly; SameSite=Strict`` and only sent to ``/api/v1/auth/``.
A refresh that reads it must also carry ``X-Stint-Refresh: cookie``: a cross-site form cannot
set a header, and a cross-site ``fetch`` that sets one needs a CORS preflight this origin does
not grant, so SameSite is not the only guard (older browsers, same-site subdomains). Rotation
and reuse detection are the JSON form's (accounts.services.token_refresh): each refresh sets
the rotated token, and a replayed old one revokes every session of the user."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import IssuedTokens
from common.exceptions import InvalidInput, PermissionDeniedError

COOKIE_NAME = "stint_refresh"
COOKIE_PATH = "/api/v1/auth/"
GUARD_HEADER = "X-Stint-Refresh"
GUARD_VALUE = "cookie"


def set_cookie(response: Response, tokens: IssuedTokens) -> None:
    max_age = int((tokens.session.expires_at - timezone.now()).total_seconds())
    response.set_cookie(
        COOKIE_NAME,
        tokens.refresh,
        max_age=max(max_age, 0),
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Strict")


def refresh_from(request: Request, body_token: str | None) -> tuple[str, bool]:
    """The refresh token to rotate, and whether it came from the cookie. The JSON body wins
    (desktop clients); without one, the cookie, and only with the guard header."""
    if body_token:
        return body_token, False
    cookie = request.COOKIES.get(COOKIE_NAME)
    if not cookie:
        raise InvalidInput("Send the refresh token, or sign in with cookie: true.", code="required", attr="refresh")
    if request.headers.get(GUARD_HEADER) != GUARD_VALUE:
        raise PermissionDeniedError(
            f"A refresh from the cookie needs the header {GUARD_HEADER}: {GUARD_VALUE}.", code="csrf_header_missing"
        )
    return cookie, True
