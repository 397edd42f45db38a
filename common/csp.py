"""The security headers of every response: Content-Security-Policy (django-csp), with one
exception by path, and the rest (``security_headers``), computed once for both ways a request
is answered: Django's middleware stack and the lean heartbeat intake (activity/intake.py).

Every page gets the strict policy of settings.CONTENT_SECURITY_POLICY: the dashboard, the
sign-in page and the Django admin run no inline script or style. The vendored Swagger UI
(``/docs``) and ReDoc (``/redoc``) pages of drf-spectacular start their bundles with an inline
``<script>`` and ``<style>``, and ReDoc renders with a blob: worker and Google's fonts: those two
pages alone get a policy that allows that (still no framing, no plugins). They serve nothing of
the user's, so the relaxed policy exposes no data a script injected there could read."""

from __future__ import annotations

import re

from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.utils.cache import patch_vary_headers

API_DOCS_PATHS = ("/docs", "/redoc")

API_DOCS_POLICY = {
    "script-src": ["'self'", "'unsafe-inline'", "blob:"],
    "style-src": ["'self'", "'unsafe-inline'", "https://fonts.googleapis.com"],
    "font-src": ["'self'", "data:", "https://fonts.gstatic.com"],
    "img-src": ["'self'", "data:", "https://cdn.redoc.ly"],
    "worker-src": ["'self'", "blob:"],
}


def policy_replace(path: str) -> dict | None:
    """What the strict policy replaces on ``path`` (the API docs pages), else None."""
    return API_DOCS_POLICY if path.rstrip("/") in API_DOCS_PATHS else None


def security_headers(*, path: str, secure: bool, csp: bool = True) -> list[tuple[str, str]]:
    """The headers our middleware gives every response to ``path`` that sets none of them
    itself: CORS's ``Vary: origin`` on API paths, the CSP (without a nonce: a page that uses
    one gets it from django-csp), X-Frame-Options, and Django's SecurityMiddleware's
    (nosniff, Referrer-Policy, COOP, and HSTS over HTTPS), as those middlewares word them.
    ``ScopedCSPMiddleware`` sets them on Django's responses (the CSP through django-csp, which
    knows about nonces and exemptions: ``csp=False``); the lean intake sends them all."""
    headers = []
    if "corsheaders" in settings.INSTALLED_APPS and re.match(settings.CORS_URLS_REGEX, path):
        headers.append(("Vary", "origin"))  # django-cors-headers varies every API answer
    if csp and "csp" in settings.INSTALLED_APPS:
        policy = build_policy(replace=policy_replace(path))
        if policy:
            headers.append(("Content-Security-Policy", policy))
    if settings.X_FRAME_OPTIONS:
        headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        referrer = settings.SECURE_REFERRER_POLICY
        values = [v.strip() for v in referrer.split(",")] if isinstance(referrer, str) else referrer
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    return headers


class ScopedCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the API docs' policy, which also sets ``security_headers``
    (where the response has not set its own; Django's SecurityMiddleware, XFrameOptions and
    CORS middlewares, further out, then find them set and leave them as they are)."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        replace = policy_replace(request.path_info)
        if not report_only and replace:
            parts.replace = {**(parts.replace or {}), **replace}
        return parts

    def process_response(self, request, response):
        response = super().process_response(request, response)  # the CSP, nonce and exemptions
        for name, value in security_headers(path=request.path_info, secure=request.is_secure(), csp=False):
            if name == "Vary":
                patch_vary_headers(response, [value])
            elif name != "X-Frame-Options" or not getattr(response, "xframe_options_exempt", False):
                response.headers.setdefault(name, value)
        return response
