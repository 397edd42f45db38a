"""Content-Security-Policy (django-csp) with one exception, by path.

Every page gets the strict policy of settings.CONTENT_SECURITY_POLICY: the dashboard, the
sign-in page and the Django admin run no inline script or style. The vendored Swagger UI
(``/docs``) and ReDoc (``/redoc``) pages of drf-spectacular start their bundles with an inline
``<script>`` and ``<style>``, and ReDoc renders with a blob: worker and Google's fonts: those two
pages alone get a policy that allows that (still no framing, no plugins). They serve nothing of
the user's, so the relaxed policy exposes no data a script injected there could read."""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts

API_DOCS_PATHS = ("/docs", "/redoc")

API_DOCS_POLICY = {
    "script-src": ["'self'", "'unsafe-inline'", "blob:"],
    "style-src": ["'self'", "'unsafe-inline'", "https://fonts.googleapis.com"],
    "font-src": ["'self'", "data:", "https://fonts.gstatic.com"],
    "img-src": ["'self'", "data:", "https://cdn.redoc.ly"],
    "worker-src": ["'self'", "blob:"],
}


class ScopedCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.rstrip("/") in API_DOCS_PATHS:
            parts.replace = {**(parts.replace or {}), **API_DOCS_POLICY}
        return parts
