"""common/csp.py: the memoized policies are the headers django-csp itself builds, and what
varies per response (a nonce, the decorators' parts, changed settings) still varies."""

from __future__ import annotations

from typing import cast

import pytest
from csp.constants import NONCE
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from common.csp import ScopedCSPMiddleware

PATHS = ["/api/v1/me", "/docs", "/redoc/", "/admin/login/", "/health/live"]


def answer(path: str, *, through_django_csp: bool, nonce: bool = False, status: int = 200) -> HttpResponse:
    def view(request):
        response = HttpResponse(request.csp_nonce if nonce else "", status=status)
        if through_django_csp:
            response._csp_update = None  # a per-response part (empty): django-csp builds the policy
        return response

    middleware = ScopedCSPMiddleware(view)
    return cast(HttpResponse, middleware(RequestFactory().get(path)))


def directives(policy: str) -> set[str]:
    return set(policy.split("; "))  # django-csp's order of directives varies between processes


def security(response: HttpResponse) -> dict[str, str]:
    return {k: v for k, v in response.items() if k.lower() not in {"content-type", "content-length"}}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [200, 404])
def test_every_path_gets_the_headers_django_csp_builds(path, status):
    memoized = security(answer(path, through_django_csp=False, status=status))
    assert memoized == security(answer(path, through_django_csp=True, status=status))
    assert "frame-ancestors 'none'" in memoized["Content-Security-Policy"]
    assert ("'unsafe-inline'" in memoized["Content-Security-Policy"]) == (path.rstrip("/") in ("/docs", "/redoc"))


def test_a_changed_policy_and_a_report_only_one_are_sent_at_once():
    assert "Content-Security-Policy-Report-Only" not in answer("/api/v1/me", through_django_csp=False)
    policy = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["https://img.example"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy):
        memoized = answer("/api/v1/me", through_django_csp=False)
        assert directives(memoized["Content-Security-Policy"]) == {"default-src 'self'", "img-src https://img.example"}
        assert memoized["Content-Security-Policy-Report-Only"] == memoized["Content-Security-Policy"]
        assert security(memoized) == security(answer("/api/v1/me", through_django_csp=True))
    assert "img.example" not in answer("/api/v1/me", through_django_csp=False)["Content-Security-Policy"]


@override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}})
def test_a_page_that_uses_a_nonce_gets_it_in_its_policy():
    response = answer("/dashboard/", through_django_csp=False, nonce=True)
    nonce = response.content.decode()
    assert nonce
    assert directives(response["Content-Security-Policy"]) == {
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
    }
    assert directives(answer("/dashboard/", through_django_csp=False)["Content-Security-Policy"]) == {
        "default-src 'self'",
        "script-src 'self'",
    }
