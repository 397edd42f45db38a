"""/metrics (SPEC: Operations): what a Prometheus scrape sees after real requests, sockets,
tasks and intake, and who may scrape at all. The multi-process view (several daphne processes
and a worker summed in one scrape) is checked end to end in tests/test_runstack.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from activity.models import HeartbeatInbox
from config.asgi import application
from config.celery import app as celery_app
from organizations.tests.world import api_as
from screenshots.tasks import process_screenshot
from tests.support.api import assert_error
from tests.support.metrics import scrape, value
from tests.support.sockets import token_for

pytestmark = pytest.mark.django_db


RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY_COUNT = "django_http_requests_latency_seconds_by_view_method_count"


def test_requests_are_counted_by_route_not_by_raw_path(api, world):
    before = scrape(api)
    for _ in range(3):
        assert api.get("/health/live").status_code == 200
    owner = world.api("owner")
    # two different ids, one route: the label is the URL pattern's name, not the path
    for session_id in (uuid.uuid4(), uuid.uuid4()):
        assert owner.delete(f"/api/v1/auth/sessions/{session_id}").status_code == 404
    after = scrape(api)

    live = {"view": "health-live", "method": "GET"}
    assert value(after, RESPONSES, status="200", **live) - value(before, RESPONSES, status="200", **live) == 3
    assert value(after, LATENCY_COUNT, **live) - value(before, LATENCY_COUNT, **live) == 3
    detail = {"view": "auth-session-detail", "method": "DELETE", "status": "404"}
    assert value(after, RESPONSES, **detail) - value(before, RESPONSES, **detail) == 2
    assert not [key for key in after if "/api/v1/auth/sessions/" in str(key)]


def test_refused_outside_the_allowed_networks_as_if_absent(api):
    body = assert_error(api.get("/metrics", REMOTE_ADDR="203.0.113.9"), 404)
    assert body["errors"][0]["code"] == "not_found"


def test_a_listed_network_may_scrape(api, settings):
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("203.0.113.0/24")]
    assert api.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert api.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_token_is_required_when_set(api, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert_error(api.get("/metrics"), 403)
    assert_error(api.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong"), 403)
    assert api.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token").status_code == 200
    # the token does not open the endpoint to other networks
    assert_error(api.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", REMOTE_ADDR="198.51.100.1"), 404)


@pytest.mark.django_db(transaction=True)
def test_websocket_connections_gauge_follows_connect_and_disconnect(api, world):
    token = token_for(world.users["member"])
    gauge = sync_to_async(lambda: value(scrape(api), "stint_websocket_connections"))

    async def body():
        before = await gauge()
        comm = WebsocketCommunicator(application, "/ws/realtime/", subprotocols=["bearer", token])
        connected, _ = await comm.connect(timeout=5)
        assert connected
        assert await gauge() == before + 1
        await comm.disconnect()
        assert await gauge() == before
        # a socket refused for a bad token is never counted
        refused = WebsocketCommunicator(application, "/ws/realtime/", subprotocols=["bearer", "junk"])
        await refused.connect(timeout=5)
        assert (await refused.receive_output(timeout=5))["type"] == "websocket.close"
        assert await gauge() == before
        await refused.disconnect()

    channel_layers.backends.clear()  # a layer bound to this test's event loop
    try:
        async_to_sync(body)()
    finally:
        channel_layers.backends.clear()


def test_queue_length_is_read_from_the_broker_at_scrape_time(api):
    queue = f"test-metrics-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        assert value(scrape(api), "stint_celery_queue_length", queue=queue) == 0
        for _ in range(2):  # no worker reads this queue: they wait
            celery_app.send_task("common.tasks.prune_idempotency_records", queue=queue)
        assert value(scrape(api), "stint_celery_queue_length", queue=queue) == 2
    finally:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
        celery_app.conf.task_default_queue = previous


def test_every_queue_group_has_its_own_depth(api, settings):
    """A backlog shows on the queue it is in: an export jam on jobs, not on realtime."""
    prefix = f"test-metrics-{uuid.uuid4().hex[:8]}"
    settings.CELERY_JOBS_QUEUE = jobs = f"{prefix}-jobs"
    settings.CELERY_REALTIME_QUEUE = realtime = f"{prefix}-realtime"
    settings.CELERY_TASK_ROUTES = {
        "reports.tasks.build_export": {"queue": jobs},
        "activity.tasks.merge_heartbeats": {"queue": realtime},
    }
    try:
        for _ in range(3):  # no worker reads these queues: they wait
            celery_app.send_task("reports.tasks.build_export", args=["0"], queue=jobs)
        scraped = scrape(api)
        assert value(scraped, "stint_celery_queue_length", queue=jobs) == 3
        assert value(scraped, "stint_celery_queue_length", queue=realtime) == 0
    finally:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(jobs)
        # send_task built (and Celery cached) a router from this test's routes: forget it, or
        # the process's later tasks keep going where these two routes and the default say.
        celery_app.amqp._rtable = None
        celery_app.amqp.__dict__.pop("router", None)


def test_heartbeat_ingest_lag_is_the_oldest_unmerged_age(api, world):
    assert value(scrape(api), "stint_heartbeat_ingest_lag_seconds") == 0
    member = world.users["member"]
    now = timezone.now()
    row = {"company_id": world.a.id, "user_id": member.id, "device_id": "laptop", "timestamp": now, "duration": 5}
    # what intake leaves when no merge has run for 90 s (a worker down), and a newer one
    HeartbeatInbox.objects.create(**row, app="Code", pulsetime=60, received_at=now - timedelta(seconds=90))
    HeartbeatInbox.objects.create(**row, app="Code", pulsetime=60, received_at=now - timedelta(seconds=5))
    lag = value(scrape(api), "stint_heartbeat_ingest_lag_seconds")
    assert 90 <= lag < 120


def test_task_durations_are_observed_in_histograms(api):
    name = "stint_screenshot_processing_seconds_count"
    before = value(scrape(api), name, outcome="not_ready")
    process_screenshot(str(uuid.uuid4()))  # a second delivery / a deleted upload: nothing to do
    assert value(scrape(api), name, outcome="not_ready") == before + 1


def test_metrics_are_not_an_api_user_thing(world):
    """A signed-in user from outside the allowed networks learns nothing either."""
    assert_error(api_as(world.users["owner"]).get("/metrics", REMOTE_ADDR="198.51.100.7"), 404)
