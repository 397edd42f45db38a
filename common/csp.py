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

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
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


# What django-csp sets on a response with no per-response parts (no nonce, no csp_update /
# csp_replace / csp_exempt decorator: every response of ours but the dashboard's pages that
# would use them): the same two policies, built once per process instead of on every response
# (build_policy re-reads and joins the settings, and django-csp copies its parts with asdict:
# ~40 µs of the middleware's ~90 µs CPU on every request).
_PER_RESPONSE_PARTS = tuple(
    f"_csp_{part}{ro}" for part in ("config", "update", "replace", "exempt") for ro in ("", "_ro")
)
_policies: dict[tuple[bool, bool], str] = {}


def settings_policy(*, docs: bool, report_only: bool = False) -> str:
    """build_policy() of the settings' policy (the API docs' one when ``docs``), memoized."""
    key = (docs, report_only)
    policy = _policies.get(key)
    if policy is None:
        policy = _policies[key] = build_policy(replace=API_DOCS_POLICY if docs else None, report_only=report_only)
    return policy


@receiver(setting_changed)
def _forget_policies(*, setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.clear()


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
        policy = settings_policy(docs=policy_replace(path) is not None)
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
        if getattr(request, "_csp_nonce", None) is None and not any(
            hasattr(response, part) for part in _PER_RESPONSE_PARTS
        ):
            response = self.set_settings_policies(request, response)
        else:
            response = super().process_response(request, response)  # the nonce and the decorators' parts
        for name, value in security_headers(path=request.path_info, secure=request.is_secure(), csp=False):
            if name == "Vary":
                patch_vary_headers(response, [value])
            elif name != "X-Frame-Options" or not getattr(response, "xframe_options_exempt", False):
                response.headers.setdefault(name, value)
        return response

    def set_settings_policies(self, request, response):
        """``CSPMiddleware.process_response`` for a response with no per-response parts, with
        the memoized policies (test_csp.py holds the two to the same headers)."""
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # Django's debug pages
        docs = policy_replace(request.path_info) is not None
        for header, report_only, setting in (
            (HEADER, False, "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, True, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = settings_policy(docs=docs, report_only=report_only)
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if policy and header not in response and not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
