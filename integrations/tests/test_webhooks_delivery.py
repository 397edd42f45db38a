"""Real deliveries to a real local receiver (docs/webhooks.md), verified with the Standard
Webhooks reference library, as a receiver would: the `test` event, a tampered body, both
secrets during a rotation, a redelivery (through a real Celery worker) with the same
webhook-id, a failing, a redirecting and a hanging receiver, and the SSRF check at send time."""

from __future__ import annotations

import json
import socket
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import celery_worker
from integrations import services
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tests.receiver import receiver
from integrations.webhooks import sender

URL = "/api/v1/webhooks"


@pytest.fixture
def local(settings):
    """Private networks allowed: the receiver is on 127.0.0.1."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    return settings


def make_endpoint(world, url):
    return services.endpoint_create(company=world.a, url=url, events=["*"], actor=world.users["owner"])


def test_the_test_event_arrives_signed_and_verifies(world, local):
    with receiver() as r:
        ep = make_endpoint(world, r.url)
        response = world.api("owner").post(f"{URL}/{ep.pk}/test")

    assert response.status_code == 201, response.content
    row = response.json()
    assert (row["type"], row["status"], row["attempts"], row["response_status"]) == ("test", "SUCCEEDED", 1, 200)
    assert row["event_id"] is None
    assert row["response_ms"] is not None
    [got] = r.requests
    assert got.path == "/hook"
    payload = Webhook(ep.secret).verify(got.body, got.headers)
    assert payload["type"] == "test"
    assert payload["data"]["endpoint_id"] == str(ep.pk)
    assert payload["timestamp"].endswith("Z")
    assert set(payload) == {"type", "timestamp", "data"}
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "Stint-Webhooks/1"
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["webhook-id"] == row["webhook_id"] == WebhookDelivery.objects.get(pk=row["id"]).webhook_id
    assert row["error"] == ""
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60


def test_a_tampered_body_or_another_secret_fails_verification(world, local):
    with receiver() as r:
        ep = make_endpoint(world, r.url)
        services.endpoint_test(endpoint=ep)

    [got] = r.requests
    tampered = got.body.replace(b'"test"', b'"tost"', 1)
    assert tampered != got.body
    with pytest.raises(WebhookVerificationError):
        Webhook(ep.secret).verify(tampered, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(services.new_secret()).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):  # another message's id with this signature
        Webhook(ep.secret).verify(got.body, {**got.headers, "webhook-id": "msg_other"})


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new(world, local):
    with receiver() as r:
        ep = make_endpoint(world, r.url)
        old = ep.secret
        ep = services.endpoint_rotate_secret(endpoint=ep)
        services.endpoint_test(endpoint=ep)
        ep.previous_secret_expires_at = ep.previous_secret_expires_at.replace(year=2000)  # the 24 h are over
        ep.save(update_fields=["previous_secret_expires_at"])
        services.endpoint_test(endpoint=ep)

    during, after = r.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)
    Webhook(ep.secret).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(ep.secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_a_failing_receiver_is_a_failed_delivery_with_the_first_kilobyte_kept(world, local):
    with receiver(status=500, body=b"E" * 5000) as r:
        ep = make_endpoint(world, r.url)
        row = world.api("owner").post(f"{URL}/{ep.pk}/test").json()

    assert (row["status"], row["response_status"], row["attempts"]) == ("FAILED", 500, 1)
    stored = WebhookDelivery.objects.get(pk=row["id"])
    assert stored.response_body == "E" * 1024


def test_a_large_answer_is_read_up_to_64_kb_only(world, local):
    with receiver(body=b"x" * (4 * 1024 * 1024)) as r:
        ep = make_endpoint(world, r.url)
        started = time.monotonic()
        d = services.endpoint_test(endpoint=ep)

    assert d.status == DeliveryStatus.SUCCEEDED
    assert len(d.response_body) == 1024
    assert time.monotonic() - started < 5


def test_a_redirect_is_not_followed_and_is_a_failure(world, local):
    with receiver() as target, receiver(status=302, location="") as r:
        r.location = target.url
        ep = make_endpoint(world, r.url)
        d = services.endpoint_test(endpoint=ep)

    assert (d.status, d.response_status) == (DeliveryStatus.FAILED, 302)
    assert "Redirects are not followed" in d.error
    assert len(r.requests) == 1
    assert target.requests == []


def test_a_hanging_receiver_times_out(world, local):
    local.WEBHOOK_TIMEOUT_SECONDS = 1
    with receiver(delay=4) as r:
        ep = make_endpoint(world, r.url)
        started = time.monotonic()
        row = world.api("owner").post(f"{URL}/{ep.pk}/test").json()
        elapsed = time.monotonic() - started
    d = WebhookDelivery.objects.get(pk=row["id"])

    assert elapsed < 3
    assert row["error"] == "Timed out after 1 s."  # the caller is told why
    assert (d.status, d.response_status, d.attempts) == (DeliveryStatus.FAILED, None, 1)
    assert "Timed out after 1 s" in d.error


def test_by_default_a_local_url_is_refused_at_send_time_too(world, local):
    """Saved while private networks were allowed (or its DNS changed since): checked again."""
    with receiver() as r:
        ep = make_endpoint(world, r.url.replace("http://", "https://"))
        local.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
        d = services.endpoint_test(endpoint=ep)

    assert (d.status, d.response_status) == (DeliveryStatus.FAILED, None)
    assert d.error.startswith("Not sent:")
    assert "loopback" in d.error
    assert r.requests == []


def test_the_sender_connects_to_the_checked_address_with_the_names_host_header(world, local, monkeypatch):
    """Pinned: the address the check approved is the one connected to (a DNS server answering
    differently the second time is never asked again), the name goes in Host."""
    real = socket.getaddrinfo
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.example":
            lookups.append(host)
            # First answer: the receiver; any later lookup would get an unroutable address.
            address = "127.0.0.1" if len(lookups) == 1 else "192.0.2.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    with receiver() as r:
        ep = make_endpoint(world, f"http://127.0.0.1:{r.port}/hook")
        ep.url = f"http://hooks.example:{r.port}/hook?a=1"
        ep.save(update_fields=["url"])
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        d = services.endpoint_test(endpoint=ep)

    assert d.status == DeliveryStatus.SUCCEEDED, d.error
    assert lookups == ["hooks.example"]
    [got] = r.requests
    assert got.headers["host"] == f"hooks.example:{r.port}"
    assert got.path == "/hook?a=1"


def test_redeliver_resends_through_the_webhooks_worker_with_the_same_webhook_id(
    world, transactional_db, tmp_path, monkeypatch, settings
):
    from config.celery import app

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")  # the worker's settings too
    with receiver(status=500) as r:
        ep = make_endpoint(world, r.url)
        first = services.endpoint_test(endpoint=ep)
        assert first.status == DeliveryStatus.FAILED
        r.status = 200
        with celery_worker(tmp_path):
            settings.CELERY_WEBHOOK_QUEUE = app.conf.task_default_queue  # the test worker's queue
            response = world.api("owner").post(f"{URL}/{ep.pk}/deliveries/{first.pk}/redeliver")
            assert response.status_code == 202, response.content
            assert response.json()["status"] == "PENDING"
            deadline = time.monotonic() + 20
            while len(r.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)

    assert len(r.requests) == 2
    again = r.requests[1]
    assert again.headers["webhook-id"] == r.requests[0].headers["webhook-id"] == first.webhook_id
    assert json.loads(again.body) == json.loads(r.requests[0].body)  # the same event
    Webhook(ep.secret).verify(again.body, again.headers)
    deadline = time.monotonic() + 10
    first.refresh_from_db()
    while first.status == DeliveryStatus.PENDING and time.monotonic() < deadline:
        time.sleep(0.1)
        first.refresh_from_db()
    assert (first.status, first.attempts, first.response_status) == (DeliveryStatus.SUCCEEDED, 2, 200)
    listed = world.api("owner").get(f"{URL}/{ep.pk}/deliveries").json()["results"]
    assert [(d["id"], d["attempts"]) for d in listed] == [(str(first.pk), 2)]


def test_the_webhook_task_is_routed_to_the_webhooks_queue(settings):
    from config.celery import app
    from integrations import tasks

    route = app.amqp.router.route({}, tasks.webhook_deliver.name)
    assert route["queue"].name == settings.CELERY_WEBHOOK_QUEUE != app.conf.task_default_queue


def test_the_body_sent_is_the_stored_payload_byte_for_byte():
    payload = {"type": "test", "timestamp": "2026-01-01T00:00:00Z", "data": {"é": 1}}
    assert json.loads(sender.body_bytes(payload)) == payload
