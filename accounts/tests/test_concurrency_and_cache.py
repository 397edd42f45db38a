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
    # no query remains: the session's liveness comes from Redis, the user row from this
    # process's copy under the user's version (accounts/user_cache.py)
    with django_assert_num_queries(0):
        assert authed.get("/api/v1/me").status_code == 200


def test_last_seen_is_written_once_a_minute_per_process_not_per_request(authed, django_assert_num_queries):
    session = DeviceSession.objects.get(id=authed.tokens["session_id"])
    authed.get("/api/v1/me")
    seen = DeviceSession.objects.get(id=session.id).last_seen_at
    with django_assert_num_queries(0):  # neither the user, nor the session, nor its last_seen_at
        assert authed.get("/api/v1/me").status_code == 200
    assert DeviceSession.objects.get(id=session.id).last_seen_at == seen


def test_live_sessions_checks_many_sessions_at_once_like_the_single_check(user, login):
    from accounts.models import User
    from accounts.tokens import live_sessions, mark_sessions_revoked, session_is_live

    live, revoked, uncached = (login(user, device_name=n)["session_id"] for n in ("a", "b", "c"))
    session_is_live(live, user_id=str(user.pk))  # cached
    mark_sessions_revoked([revoked])
    stranger = str(User.objects.create_user(email="eve@example.com", password="x" * 12, name="Eve").pk)
    unknown = "00000000-0000-7000-8000-000000000000"
    pairs = {(live, str(user.pk)), (revoked, str(user.pk)), (uncached, str(user.pk)), (unknown, stranger)}
    assert live_sessions(pairs) == {live, uncached}
    assert live_sessions({(live, stranger)}) == set()  # a session is live only for its own user
