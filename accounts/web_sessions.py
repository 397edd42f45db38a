"""The Django session (dashboard, admin) on top of a device session (``tokens.WEB_SESSION_KEY``).

Django's own sign-in and sign-out signals are the one place every Django-session sign-in passes
(the dashboard's form, the admin's login view, the test client's ``force_login``): on sign-in a
device session is opened and its id kept in the Django session; on sign-out it is revoked, which
closes the browser's sockets. ``DeviceSessionMiddleware`` then ends, on its next request, a
Django session whose device session was revoked elsewhere (logout-all, a password change or
reset, DELETE /auth/sessions/{id}) or that has none (signed in before device sessions backed
the dashboard)."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import JsonResponse

from accounts import services
from accounts.authentication import last_seen_due, touch_last_seen
from accounts.tokens import WEB_SESSION_KEY, session_is_live, web_session_id
from common.exceptions import INFRASTRUCTURE_ERRORS, ServiceUnavailable, error_body
from common.throttling import request_ip

logger = structlog.get_logger(__name__)


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    headers = getattr(request, "headers", {})
    device = services.DeviceInfo(
        device_name="Web browser", user_agent=headers.get("User-Agent", ""), ip=request_ip(request)
    )
    opened = services.web_session_open(user=user, device=device, replaces=web_session_id(session))
    session[WEB_SESSION_KEY] = str(opened.id)
    # Just created: cache its liveness and note its last_seen_at as fresh now, so the browser's
    # first pages cost what every later one does.
    session_is_live(str(opened.id), user_id=str(user.pk))
    last_seen_due(str(opened.id))


def on_user_logged_out(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    session_id = web_session_id(session) if session is not None else None
    if user is not None and session_id:
        services.auth_logout(user=user, session_id=session_id)


class DeviceSessionMiddleware:
    """After AuthenticationMiddleware: a Django session is signed in only while its device
    session is live (one Redis read, the same cached answer a token's request gets)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            self.check(request)
        except INFRASTRUCTURE_ERRORS:
            # Redis (or the database) is down: the session cannot be checked, so refuse, as the
            # API refuses a token then (503), rather than serve a possibly revoked browser.
            logger.error("web_session_check_unavailable", exc_info=True)
            detail = ServiceUnavailable.default_detail
            body = error_body(type_="server_error", code="service_unavailable", detail=detail)
            return JsonResponse(body, status=503)
        return self.get_response(request)

    @staticmethod
    def check(request) -> None:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            # No browser session to check (a token's request, a first visit): reading
            # request.session would add "Vary: Cookie" to every API answer for nothing.
            return
        session = getattr(request, "session", None)
        user_id = session.get(SESSION_KEY) if session is not None else None
        if user_id is not None:
            session_id = web_session_id(session)
            if not session_id or not session_is_live(session_id, user_id=str(user_id)):
                logout(request)
            elif not request.user.is_authenticated:
                # Django ended the Django session itself (its password hash is stale: the
                # password changed from this browser; the user was deactivated): its device
                # session goes with it rather than stay listed as a live device.
                services.web_session_end(user_id=user_id, session_id=session_id, reason="signed_out")
            else:
                touch_last_seen(session_id)
