"""The feeder through a real Celery worker on its webhooks queue (docs/webhooks.md): a service
call's commit kicks it; a hanging endpoint does not delay another's deliveries (measured); a
worker killed (SIGKILL) mid-delivery and restarted loses nothing and keeps the order."""

from __future__ import annotations

import contextlib
import json
import signal
import time
import uuid

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from conftest import celery_worker
from integrations import services, tasks
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tests.receiver import receiver
from organizations.models import Membership
from tracking.services import entries

pytestmark = pytest.mark.timeout(120)

THREADS = ("--pool", "threads", "--concurrency", "4")


@pytest.fixture
def hooks(settings, monkeypatch, tmp_path):
    """Run a webhooks worker: the queue is this test's, in this process and in the worker."""
    queue = f"test-hooks-{uuid.uuid4().hex[:8]}"
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.CELERY_WEBHOOK_QUEUE = queue
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("CELERY_WEBHOOK_QUEUE", queue)

    def run():
        return celery_worker(tmp_path, queue=queue, pool=THREADS)

    return run


def endpoint(world, url, events=("*",)):
    return services.endpoint_create(company=world.a, url=url, events=list(events), actor=world.users["owner"])


def owner_membership(world):
    return Membership.objects.get(user=world.users["owner"], company=world.a)


def wait_for(condition, timeout: float, beat: bool = False) -> float:
    """Seconds until ``condition()`` held (fails after ``timeout``); ``beat``: run the beat's
    wake task meanwhile, as `celery beat` does every 5 s (here every 0.5 s)."""
    started = time.monotonic()
    last_beat = 0.0
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        if beat and time.monotonic() - last_beat > 0.5:
            tasks.webhook_wake.apply_async(queue=settings.CELERY_WEBHOOK_QUEUE)
            last_beat = time.monotonic()
        time.sleep(0.02)
    return time.monotonic() - started


def types(r) -> list[str]:
    return [json.loads(got.body)["type"] for got in r.requests]


def test_a_hanging_endpoint_does_not_delay_another_endpoints_deliveries(world, transactional_db, hooks):
    with receiver(delay=6) as slow, receiver() as fast, hooks():
        ep_slow = endpoint(world, slow.url, events=["timer.started", "timer.stopped"])
        ep_fast = endpoint(world, fast.url, events=["timer.started", "timer.stopped"])
        entries.timer_start(membership=owner_membership(world), project_id=world.project_open.id)
        first = wait_for(lambda: len(fast.requests) >= 1, timeout=10)
        wait_for(lambda: len(slow.requests) >= 1, timeout=10)  # now hanging on it
        entries.timer_stop(user=world.users["owner"])
        second = wait_for(lambda: len(fast.requests) >= 2, timeout=10)
        assert len(slow.requests) == 1  # still hanging on the first; the second waits behind it
        wait_for(lambda: len(slow.requests) >= 2, timeout=20)

    assert first < 2.0, first
    assert second < 2.0, second  # the fast endpoint's deliveries came while the slow one hung
    for r, ep in ((fast, ep_fast), (slow, ep_slow)):
        assert types(r) == ["timer.started", "timer.stopped"]
        for got in r.requests:
            Webhook(ep.secret).verify(got.body, got.headers)


def test_a_worker_killed_mid_delivery_loses_nothing_and_keeps_the_order(world, transactional_db, hooks):
    with receiver(delay=3) as r:
        ep = endpoint(world, r.url, events=["timer.started", "timer.stopped"])
        with hooks() as worker:
            entries.timer_start(membership=owner_membership(world), project_id=world.project_open.id)
            wait_for(lambda: len(r.requests) >= 1, timeout=10)  # the receiver has it; no answer yet
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        r.delay = 0
        entries.timer_stop(user=world.users["owner"])  # committed while no worker runs
        time.sleep(0.5)
        assert len(r.requests) == 1
        with hooks():
            wait_for(lambda: types(r)[-1:] == ["timer.stopped"], timeout=30, beat=True)
        with contextlib.suppress(AssertionError):
            wait_for(lambda: False, timeout=1)  # room for a stray duplicate to show before checking

    got = types(r)
    assert got == ["timer.started", "timer.started", "timer.stopped"]
    ids = [x.headers["webhook-id"] for x in r.requests]
    assert ids[0] == ids[1] != ids[2]  # the duplicate carries the same webhook-id
    for x in r.requests:
        Webhook(ep.secret).verify(x.body, x.headers)
    rows = list(WebhookDelivery.objects.filter(endpoint=ep).order_by("cursor"))
    assert [(d.type, d.status) for d in rows] == [
        ("timer.started", DeliveryStatus.SUCCEEDED),
        ("timer.stopped", DeliveryStatus.SUCCEEDED),
    ]
    assert rows[0].webhook_id == ids[0]
