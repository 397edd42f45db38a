"""common/csp.py: the policy every path gets (the API docs' relaxed one), a policy changed in
the settings, a report-only one, and a nonce for a page that uses one."""

from __future__ import annotations

from typing import cast

import pytest
from csp.constants import NONCE
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from common.csp import ScopedCSPMiddleware, security_headers

PATHS = ["/api/v1/me", "/docs", "/redoc/", "/admin/login/", "/health/live"]


def answer(path: str, *, nonce: bool = False, status: int = 200) -> HttpResponse:
    def view(request):
        return HttpResponse(request.csp_nonce if nonce else "", status=status)

    return cast(HttpResponse, ScopedCSPMiddleware(view)(RequestFactory().get(path)))


def directives(policy: str) -> set[str]:
    return set(policy.split("; "))  # django-csp's order of directives varies between processes


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [200, 404])
def test_every_path_gets_its_policy_and_the_lean_paths_send_the_same(path, status):
    policy = answer(path, status=status)["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert ("'unsafe-inline'" in policy) == (path.rstrip("/") in ("/docs", "/redoc"))
    lean = dict(security_headers(path=path, secure=False))  # what the lean paths send
    assert directives(lean["Content-Security-Policy"]) == directives(policy)


def test_a_changed_policy_and_a_report_only_one_are_sent_at_once():
    assert "Content-Security-Policy-Report-Only" not in answer("/api/v1/me")
    policy = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["https://img.example"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy):
        changed = answer("/api/v1/me")
        assert directives(changed["Content-Security-Policy"]) == {"default-src 'self'", "img-src https://img.example"}
        assert changed["Content-Security-Policy-Report-Only"] == changed["Content-Security-Policy"]
    assert "img.example" not in answer("/api/v1/me")["Content-Security-Policy"]


@override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}})
def test_a_page_that_uses_a_nonce_gets_it_in_its_policy():
    response = answer("/dashboard/", nonce=True)
    nonce = response.content.decode()
    assert nonce
    assert directives(response["Content-Security-Policy"]) == {
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
    }
    assert directives(answer("/dashboard/")["Content-Security-Policy"]) == {"default-src 'self'", "script-src 'self'"}
