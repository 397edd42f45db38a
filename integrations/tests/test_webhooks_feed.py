"""The change-log feeder's rules (docs/webhooks.md), driven by calling it directly: events from
real service calls reach a real local receiver, verified with the Standard Webhooks library,
in order; filters and companies; retries keep the webhook-id and hold later events back; giving
up; disabling after the failure window (email, audit); the purge; the metrics."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone
from prometheus_client import REGISTRY
from standardwebhooks import Webhook

from audit.models import AuditEntry
from changelog.models import Change
from integrations import services
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.tests.receiver import receiver
from integrations.webhooks import feeder, upkeep
from organizations.models import Membership
from tracking.services import entries


@pytest.fixture
def local(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.CELERY_WEBHOOK_QUEUE = "test-webhooks-unconsumed"  # kicks go nowhere: these tests feed by hand
    return settings


def endpoint(world, url, events=("*",), company=None):
    return services.endpoint_create(
        company=company or world.a, url=url, events=list(events), actor=world.users["owner"]
    )


def start_and_stop(world, role="owner", company=None):
    """Two events (timer.started, timer.stopped), each its own committed transaction."""
    user = world.users[role]
    membership = Membership.objects.get(user=user, company=company or world.a)
    project = world.project_open if membership.company_id == world.a.pk else world.project_b
    entries.timer_start(membership=membership, project_id=project.id)
    entries.timer_stop(user=user)


def feed(ep) -> None:
    while feeder.feed(ep.pk):
        pass


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_service_events_reach_the_endpoint_signed_and_in_order(world, local, transactional_db):
    start_and_stop(world)  # before the endpoint exists: not its business (it starts at the head)
    with receiver() as r:
        ep = endpoint(world, r.url)
        start_and_stop(world)
        start_and_stop(world, role="outsider", company=world.b)  # another company's
        feed(ep)

    mine = list(Change.objects.filter(company_id=world.a.pk, cursor__gt=ep.cursor).order_by("cursor"))
    assert [c.event for c in mine][:1] == ["timer.started"]
    bodies = [Webhook(ep.secret).verify(got.body, got.headers) for got in r.requests]
    assert [b["type"] for b in bodies] == [c.event for c in mine]
    assert "timer.stopped" in [b["type"] for b in bodies]
    for body, change in zip(bodies, mine, strict=True):
        assert set(body) == {"type", "timestamp", "data"}
        assert body["data"] == json.loads(json.dumps(change.payload))
    rows = list(WebhookDelivery.objects.filter(endpoint=ep).order_by("cursor"))
    assert [(d.status, d.attempts) for d in rows] == [(DeliveryStatus.SUCCEEDED, 1)] * len(mine)
    assert [got.headers["webhook-id"] for got in r.requests] == [d.webhook_id for d in rows]
    assert len({d.webhook_id for d in rows}) == len(rows)
    ep.refresh_from_db()
    assert ep.cursor >= rows[-1].cursor
    assert all(str(world.b.pk) not in got.body.decode() for got in r.requests)


def test_an_endpoint_gets_only_the_events_it_subscribes_to(world, local, transactional_db):
    with receiver() as other, receiver() as stops:
        ep_other = endpoint(world, other.url, events=["task.deleted"])
        ep_stops = endpoint(world, stops.url, events=["timer.stopped"])
        start_and_stop(world)
        feed(ep_other)
        feed(ep_stops)

    assert other.requests == []
    assert [json.loads(got.body)["type"] for got in stops.requests] == ["timer.stopped"]
    ep_other.refresh_from_db()
    assert ep_other.cursor == Change.objects.order_by("-cursor").first().cursor  # moved past what it skips


def test_another_companys_events_never_reach_this_companys_endpoint(world, local, transactional_db):
    with receiver() as r:
        ep = endpoint(world, r.url)
        start_and_stop(world, role="outsider", company=world.b)
        feed(ep)
    assert r.requests == []
    assert not WebhookDelivery.objects.filter(endpoint=ep).exists()


def test_a_failure_is_retried_with_the_same_webhook_id_and_holds_back_later_events(world, local, transactional_db):
    local.WEBHOOK_RETRY_SCHEDULE = [1.0, 1.0]
    before = sample("stint_webhook_deliveries_total", outcome="failed")
    with receiver(status=500) as r:
        ep = endpoint(world, r.url, events=["timer.started", "timer.stopped"])
        start_and_stop(world)
        feed(ep)
        assert len(r.requests) == 1  # the head failed; timer.stopped waits behind it
        head = WebhookDelivery.objects.get(endpoint=ep, type="timer.started")
        assert head.status == DeliveryStatus.FAILED
        assert timedelta(seconds=0.5) < head.next_attempt_at - timezone.now() <= timedelta(seconds=1)
        ep.refresh_from_db()
        assert ep.failing_since is not None
        feed(ep)  # not due yet: nothing sent
        assert len(r.requests) == 1
        r.status = 200
        time.sleep(1.1)
        feed(ep)

    types = [json.loads(got.body)["type"] for got in r.requests]
    assert types == ["timer.started", "timer.started", "timer.stopped"]
    ids = [got.headers["webhook-id"] for got in r.requests]
    assert ids[0] == ids[1] == head.webhook_id != ids[2]
    head.refresh_from_db()
    assert (head.status, head.attempts, head.next_attempt_at) == (DeliveryStatus.SUCCEEDED, 2, None)
    ep.refresh_from_db()
    assert ep.failing_since is None  # a success clears it
    assert sample("stint_webhook_deliveries_total", outcome="failed") == before + 1


def test_after_its_last_attempt_an_event_is_given_up_and_the_next_one_goes(world, local, transactional_db):
    local.WEBHOOK_RETRY_SCHEDULE = [0, 0]  # three attempts in all
    given_up = sample("stint_webhook_deliveries_total", outcome="given_up")
    succeeded = sample("stint_webhook_deliveries_total", outcome="succeeded")
    lags = sample("stint_webhook_delivery_lag_seconds_count")
    with receiver(statuses=[500, 500, 500]) as r:
        ep = endpoint(world, r.url, events=["timer.started", "timer.stopped"])
        start_and_stop(world)
        feed(ep)

    types = [json.loads(got.body)["type"] for got in r.requests]
    assert types == ["timer.started"] * 3 + ["timer.stopped"]
    first = WebhookDelivery.objects.get(endpoint=ep, type="timer.started")
    assert (first.status, first.attempts, first.next_attempt_at) == (DeliveryStatus.FAILED, 3, None)
    assert sample("stint_webhook_deliveries_total", outcome="given_up") == given_up + 1
    assert sample("stint_webhook_deliveries_total", outcome="succeeded") == succeeded + 1
    assert sample("stint_webhook_delivery_lag_seconds_count") == lags + 1


def test_failing_for_the_whole_window_disables_the_endpoint_emails_owners_and_audits(world, local, transactional_db):
    local.WEBHOOK_RETRY_SCHEDULE = [0.3, 0.3, 0.3]
    local.WEBHOOK_DISABLE_AFTER_DAYS = 0.5 / 86400  # half a second
    mail.outbox.clear()
    with receiver(status=503) as r:
        ep = endpoint(world, r.url, events=["timer.started"])
        start_and_stop(world)
        feed(ep)
        ep.refresh_from_db()
        assert ep.active
        assert ep.failing_since is not None
        time.sleep(0.6)
        feed(ep)
        sent = len(r.requests)
        feed(ep)  # switched off: nothing more
        assert len(r.requests) == sent == 2

    ep.refresh_from_db()
    assert not ep.active
    assert ep.disabled_at is not None
    assert "switched off automatically" in ep.disabled_reason
    row = AuditEntry.objects.get(action="webhook_endpoint.disabled", target_id=str(ep.pk))
    assert row.actor_id is None
    assert row.company_id == world.a.pk
    assert row.changes["active"] == [True, False]
    [message] = mail.outbox
    assert message.to == [world.users["owner"].email]
    assert ep.url in message.body
    assert world.users["admin"].email not in message.to
    head = WebhookDelivery.objects.get(endpoint=ep)
    assert head.next_attempt_at is None  # due at once when turned back on

    # Turned back on (PATCH active), it resumes with the event it missed.
    with receiver() as r2:
        services.endpoint_update(endpoint=ep, data={"active": True, "url": r2.url}, actor=world.users["owner"])
        feed(ep)
    assert [json.loads(got.body)["type"] for got in r2.requests] == ["timer.started"]
    assert r2.requests[0].headers["webhook-id"] == head.webhook_id


def test_one_delivery_per_event_per_endpoint(world, local, transactional_db):
    with receiver(status=500) as r:
        ep = endpoint(world, r.url, events=["timer.started"])
        start_and_stop(world)
        feed(ep)
    row = WebhookDelivery.objects.get(endpoint=ep)
    with pytest.raises(IntegrityError):
        WebhookDelivery.objects.create(
            endpoint=ep, event_id=row.event_id, cursor=row.cursor, type=row.type, payload=row.payload
        )


def test_a_redelivery_of_the_waiting_head_is_sent_by_the_feeder_in_order(world, local, transactional_db):
    local.WEBHOOK_RETRY_SCHEDULE = [3600]
    with receiver(status=500) as r:
        ep = endpoint(world, r.url, events=["timer.started", "timer.stopped"])
        start_and_stop(world)
        feed(ep)
        head = WebhookDelivery.objects.get(endpoint=ep, type="timer.started")
        r.status = 200
        services.delivery_redeliver(delivery=head)
        from integrations import tasks

        tasks.webhook_deliver(str(head.pk))  # what the worker runs: the feeder sends it, then the next
    assert [json.loads(got.body)["type"] for got in r.requests] == ["timer.started"] * 2 + ["timer.stopped"]


def test_the_purge_deletes_old_delivered_rows_only(world, local, transactional_db, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    with receiver() as r:
        ep = endpoint(world, r.url, events=["timer.started", "timer.stopped"])
        start_and_stop(world)
        feed(ep)
        services.endpoint_test(endpoint=ep)
    old_delivered = WebhookDelivery.objects.get(endpoint=ep, type="timer.started")
    old_test = WebhookDelivery.objects.get(endpoint=ep, type="test")
    recent = WebhookDelivery.objects.get(endpoint=ep, type="timer.stopped")
    # One more, old but still ahead of the cursor (the endpoint was switched off before it went).
    pending = WebhookDelivery.objects.create(
        endpoint=ep, event_id=recent.event_id + 10**9, cursor=recent.cursor + 10**9, type="timer.started", payload={}
    )
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(pk__in=[old_delivered.pk, old_test.pk, pending.pk]).update(created_at=long_ago)
    WebhookDelivery.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=29))

    assert upkeep.purge(batch=1) == 2
    assert set(WebhookDelivery.objects.filter(endpoint=ep).values_list("pk", flat=True)) == {recent.pk, pending.pk}


def test_a_new_endpoint_starts_at_the_head_and_an_old_one_without_a_cursor_too(world, local, transactional_db):
    start_and_stop(world)
    with receiver() as r:
        ep = endpoint(world, r.url)
        assert ep.cursor == Change.objects.order_by("-cursor").first().cursor
        WebhookEndpoint.objects.filter(pk=ep.pk).update(cursor=None)  # made before the feeder existed
        feed(ep)
    assert r.requests == []
    ep.refresh_from_db()
    assert ep.cursor == Change.objects.order_by("-cursor").first().cursor


def test_the_beat_wakes_endpoints_behind_the_log_or_with_a_retry_due(world, local, transactional_db):
    with receiver(status=500) as r:
        ep = endpoint(world, r.url, events=["timer.started"])
        idle = endpoint(world, r.url, events=["timer.started"])
        assert feeder.endpoints_to_feed() == []
        start_and_stop(world)
        assert set(feeder.endpoints_to_feed()) == {ep.pk, idle.pk}
        feed(idle)
        local.WEBHOOK_RETRY_SCHEDULE = [3600]
        feed(ep)
        # Both heads wait (idle's 5 s, ep's an hour): neither is woken until then.
        assert feeder.endpoints_to_feed() == []
        WebhookDelivery.objects.filter(endpoint=ep).update(next_attempt_at=timezone.now())
        assert feeder.endpoints_to_feed() == [ep.pk]


def test_every_webhook_task_is_routed_to_the_webhooks_queue(settings):
    """The beat's and the kick's tasks too: a slow receiver never holds up the default queue."""
    from config.celery import app

    beat = {entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"].startswith("integrations.")}
    assert beat == {"integrations.tasks.webhook_wake", "integrations.tasks.webhook_purge_deliveries"}
    for name in [*beat, "integrations.tasks.webhook_feed", "integrations.tasks.webhook_dispatch"]:
        assert app.amqp.router.route({}, name)["queue"].name == settings.CELERY_WEBHOOK_QUEUE
