"""Races against the real PostgreSQL, and the cached session check."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import DeviceSession, RefreshToken

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_refreshes_of_one_token_never_leave_two_live_successors(user, login):
    """Ten devices present the same refresh token at the same instant. The row lock makes one
    rotate; every other sees a rotated token (reuse) and revokes the family. Whatever the
    interleaving: at most one 200, and never two live successor tokens."""
    token = login(user)["refresh"]
    barrier = threading.Barrier(10)
    statuses: list[int] = []
    lock = threading.Lock()

    def refresh():
        client = APIClient()
        barrier.wait()
        try:
            status = client.post("/api/v1/auth/refresh", {"refresh": token}).status_code
        finally:
            connections.close_all()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=refresh) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200] + [401] * 9
    live_tokens = RefreshToken.objects.filter(
        rotated_at__isnull=True, session__revoked_at__isnull=True, session__user=user
    )
    assert live_tokens.count() <= 1
    # the nine losers presented a rotated token: reuse revoked the session
    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_session_check_is_cached_not_queried_per_request(authed, django_assert_num_queries):
    authed.get("/api/v1/me")  # fills the cache
    # one query remains: loading the user; the session's liveness comes from Redis
    with django_assert_num_queries(1):
        assert authed.get("/api/v1/me").status_code == 200
