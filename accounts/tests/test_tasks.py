"""Celery tasks of accounts: called directly (twice) and run by a real worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import DeviceSession, PasswordResetToken
from accounts.tasks import prune_expired_tokens, send_password_reset
from accounts.tests.factories import UserFactory


@pytest.mark.django_db
def test_password_reset_task_twice_sends_two_independent_links():
    user = UserFactory()
    send_password_reset(user.email)
    send_password_reset(user.email)
    assert len(mail.outbox) == 2
    assert PasswordResetToken.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_password_reset_task_for_unknown_email_does_nothing():
    send_password_reset("ghost@example.com")
    assert mail.outbox == []


@pytest.mark.django_db
def test_prune_removes_dead_sessions_and_old_reset_tokens_and_is_idempotent():
    user = UserFactory()
    now = timezone.now()
    live = DeviceSession.objects.create(user=user, expires_at=now + timedelta(days=1))
    DeviceSession.objects.create(user=user, expires_at=now - timedelta(days=2))
    DeviceSession.objects.create(user=user, expires_at=now + timedelta(days=1), revoked_at=now - timedelta(days=2))
    recent_revoked = DeviceSession.objects.create(user=user, expires_at=now + timedelta(days=1), revoked_at=now)
    PasswordResetToken.objects.create(user=user, token_hash="a" * 64, expires_at=now - timedelta(minutes=1))
    fresh = PasswordResetToken.objects.create(user=user, token_hash="b" * 64, expires_at=now + timedelta(hours=1))

    prune_expired_tokens()
    prune_expired_tokens()

    assert set(DeviceSession.objects.values_list("id", flat=True)) == {live.id, recent_revoked.id}
    assert list(PasswordResetToken.objects.values_list("id", flat=True)) == [fresh.id]


@pytest.mark.slow
def test_forgot_password_is_processed_by_a_real_worker(api, celery_worker_process):
    user = UserFactory()
    assert api.post("/api/v1/auth/password/forgot", {"email": user.email}).status_code == 204
    deadline = time.monotonic() + 20
    while not PasswordResetToken.objects.filter(user=user).exists():
        assert time.monotonic() < deadline, "the worker never created the reset token"
        time.sleep(0.1)
    assert PasswordResetToken.objects.get(user=user).expires_at > timezone.now()
