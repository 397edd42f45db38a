"""The feeder's batches (docs/webhooks.md, "Delivery from the change log"): many due events per
step, in order, over one kept-alive connection; a failure stops the batch and holds the rest
back; the body PostgreSQL builds is the one the API would write; the address is checked for
every batch; one queued feed run per endpoint however many kicks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from changelog.models import Change
from common.representation import utc_iso
from config.celery import app
from integrations import services, tasks
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tests.receiver import receiver
from integrations.webhooks import feeder, upkeep
from organizations.models import Membership
from tracking.services import entries


@pytest.fixture
def local(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.CELERY_WEBHOOK_QUEUE = f"test-webhooks-unconsumed-{uuid.uuid4().hex[:8]}"  # kicks wait here
    yield settings
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_WEBHOOK_QUEUE)


def endpoint(world, url, events=("timer.started", "timer.stopped")):
    return services.endpoint_create(company=world.a, url=url, events=list(events), actor=world.users["owner"])


def timers(world, n: int) -> None:
    """``2 n`` events, each its own committed transaction."""
    membership = Membership.objects.get(user=world.users["owner"], company=world.a)
    for _ in range(n):
        entries.timer_start(membership=membership, project_id=world.project_open.id)
        entries.timer_stop(user=world.users["owner"])


def feed(ep) -> None:
    while feeder.feed(ep.pk):
        pass


def queued(queue: str) -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen(queue)


def test_a_batch_goes_in_order_over_one_kept_alive_connection(world, local, transactional_db):
    with receiver(keep_alive=True) as r:
        ep = endpoint(world, r.url)
        timers(world, 10)
        feed(ep)

    rows = list(WebhookDelivery.objects.filter(endpoint=ep).order_by("cursor"))
    assert len(rows) == 20
    assert [got.headers["webhook-id"] for got in r.requests] == [d.webhook_id for d in rows]
    assert [json.loads(got.body)["type"] for got in r.requests] == ["timer.started", "timer.stopped"] * 10
    assert len({got.peer for got in r.requests}) == 1  # one connection for the whole batch
    for got in r.requests:
        Webhook(ep.secret).verify(got.body, got.headers)
    assert {(d.status, d.attempts, d.response_status) for d in rows} == {(DeliveryStatus.SUCCEEDED, 1, 200)}
    ep.refresh_from_db()
    assert ep.cursor >= rows[-1].cursor


def test_a_receiver_closing_each_connection_still_gets_the_batch_in_order(world, local, transactional_db):
    with receiver(keep_alive=False) as r:  # HTTP/1.0: closes after every answer
        ep = endpoint(world, r.url)
        timers(world, 3)
        feed(ep)

    assert [json.loads(got.body)["type"] for got in r.requests] == ["timer.started", "timer.stopped"] * 3
    assert len({got.peer for got in r.requests}) == 6
    assert not WebhookDelivery.objects.filter(endpoint=ep).exclude(status=DeliveryStatus.SUCCEEDED).exists()


def test_a_failure_stops_the_batch_and_holds_the_later_events_back(world, local, transactional_db):
    local.WEBHOOK_RETRY_SCHEDULE = [3600]
    with receiver(keep_alive=True, statuses=[200, 200, 500]) as r:
        ep = endpoint(world, r.url)
        timers(world, 3)
        feed(ep)
        assert len(r.requests) == 3  # the third failed: nothing behind it was sent

        rows = list(WebhookDelivery.objects.filter(endpoint=ep).order_by("cursor"))
        assert [(d.status, d.attempts) for d in rows] == [
            (DeliveryStatus.SUCCEEDED, 1),
            (DeliveryStatus.SUCCEEDED, 1),
            (DeliveryStatus.FAILED, 1),
            *[(DeliveryStatus.PENDING, 0)] * 3,
        ]
        assert rows[2].response_status == 500
        assert rows[2].next_attempt_at is not None
        ep.refresh_from_db()
        assert ep.cursor == rows[1].cursor
        assert ep.failing_since is not None

        services.delivery_redeliver(delivery=rows[2])  # due now: the rest follow it, in order
        feed(ep)

    assert [got.headers["webhook-id"] for got in r.requests] == [
        *(d.webhook_id for d in rows[:3]),
        rows[2].webhook_id,
        *(d.webhook_id for d in rows[3:]),
    ]
    ep.refresh_from_db()
    assert ep.cursor == rows[-1].cursor
    assert ep.failing_since is None


def test_the_body_built_by_the_database_is_the_events_envelope(world, local, transactional_db):
    """{type, timestamp, data} with ``timestamp`` exactly as the API writes ``Change.at``."""
    with receiver(keep_alive=True) as r:
        ep = endpoint(world, r.url)
        timers(world, 1)
        started, stopped = Change.objects.filter(company_id=world.a.pk, cursor__gt=ep.cursor).order_by("cursor")
        Change.objects.filter(pk=started.pk).update(at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        Change.objects.filter(pk=stopped.pk).update(at=datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC))
        feed(ep)

    bodies = [json.loads(got.body) for got in r.requests]
    assert [b["timestamp"] for b in bodies] == ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000007Z"]
    for body, change in zip(bodies, (started, stopped), strict=True):
        change.refresh_from_db()
        assert body == {"type": change.event, "timestamp": utc_iso(change.at), "data": change.payload}


def test_the_address_is_checked_again_for_every_batch(world, local, transactional_db):
    local.WEBHOOK_RETRY_SCHEDULE = [3600]
    with receiver(keep_alive=True) as r:
        ep = endpoint(world, r.url.replace("http://", "https://"))
        local.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False  # as if its DNS now pointed at loopback
        timers(world, 1)
        feed(ep)

    assert r.requests == []
    head, behind = WebhookDelivery.objects.filter(endpoint=ep).order_by("cursor")
    assert (head.status, head.attempts, head.response_status) == (DeliveryStatus.FAILED, 1, None)
    assert head.error.startswith("Not sent:")
    assert "loopback" in head.error
    assert (behind.status, behind.attempts) == (DeliveryStatus.PENDING, 0)


def test_one_queued_feed_run_per_endpoint_however_many_kicks(world, local, transactional_db):
    with receiver() as r:
        ep = endpoint(world, r.url)
        queue = local.CELERY_WEBHOOK_QUEUE
        for _ in range(5):
            tasks.queue_feed(ep.pk)
        assert queued(queue) == 1
        tasks.webhook_feed(str(ep.pk))  # a run starts (here, inline): the next kick queues another
        tasks.queue_feed(ep.pk)
        tasks.queue_feed(ep.pk)
        assert queued(queue) == 2
        tasks.queue_feed(ep.pk, always=True)  # the beat's wake does not trust the mark
        assert queued(queue) == 3


def test_a_commit_kicks_the_webhooks_queue_only_for_a_company_with_an_endpoint(world, local, transactional_db):
    queue = local.CELERY_WEBHOOK_QUEUE
    upkeep.forget_companies_with_endpoints()  # as a fresh process
    outsider = world.users["outsider"]
    entries.timer_start(
        membership=Membership.objects.get(user=outsider, company=world.b), project_id=world.project_b.id
    )
    assert queued(queue) == 0  # company b has no endpoint: no message, nothing for the worker to do

    with receiver() as r:
        endpoint(world, r.url)  # made in this process: its list is read again at the next kick
        timers(world, 1)
    assert queued(queue) == 2  # one webhook_dispatch per published commit
