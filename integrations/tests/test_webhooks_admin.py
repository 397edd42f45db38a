"""Webhooks in the Django admin: an OWNER or ADMIN manages their company's endpoints through the
same services as the API (the URL checked, the change audited), sees the secret once, in the
message after adding or rotating, never on a page; the delivery log is read only; another
company's rows do not exist for them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.support.admin import page

ENDPOINTS = reverse("admin:integrations_webhookendpoint_changelist")
ADD = reverse("admin:integrations_webhookendpoint_add")
DELIVERIES = reverse("admin:integrations_webhookdelivery_changelist")
PUBLIC = "https://93.184.216.34/hook"


@pytest.fixture
def endpoints(world):
    a = services.endpoint_create(company=world.a, url=PUBLIC, events=["*"], description="alpha-hook")
    b = services.endpoint_create(company=world.b, url=PUBLIC, events=["*"], description="bravo-hook")
    for ep in (a, b):
        WebhookDelivery.objects.create(endpoint=ep, type="test", payload={}, webhook_id=f"msg_{ep.description}")
    return a, b


def test_the_owner_sees_their_endpoints_and_deliveries_and_no_secret(client, world, endpoints):
    a, b = endpoints
    client.force_login(world.users["owner"])

    listing = page(client.get(ENDPOINTS))
    change = page(client.get(reverse("admin:integrations_webhookendpoint_change", args=[a.pk])))
    deliveries = page(client.get(DELIVERIES))

    assert "alpha-hook" in change
    assert a.secret not in listing
    assert a.secret not in change
    assert "msg_alpha-hook" in deliveries
    assert "msg_bravo-hook" not in deliveries
    theirs = client.get(reverse("admin:integrations_webhookendpoint_change", args=[b.pk]))
    assert theirs.status_code in (302, 404)
    assert b.secret not in theirs.content.decode()


def test_adding_shows_the_secret_once_and_checks_the_url(client, world):
    client.force_login(world.users["owner"])

    refused = client.post(ADD, {"url": "https://127.0.0.1/x", "events": '["*"]', "active": "on"}, follow=True)
    assert not WebhookEndpoint.objects.exists()
    assert "loopback" in page(refused)

    added = client.post(ADD, {"url": PUBLIC, "events": '["entry.upserted"]', "active": "on"}, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.company_id == world.a.pk
    assert endpoint.events == ["entry.upserted"]
    assert endpoint.secret in page(added)  # the one time
    assert endpoint.secret not in page(
        client.get(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk]))
    )
    assert AuditEntry.objects.filter(action="webhook_endpoint.created", target_id=str(endpoint.pk)).exists()


def test_the_delivery_log_is_read_only(client, world, endpoints):
    a, _ = endpoints
    delivery = a.deliveries.get()
    client.force_login(world.users["owner"])

    response = client.post(
        reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk]), {"status": "SUCCEEDED"}
    )

    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "PENDING"


def test_a_member_has_no_webhooks_admin(client, world, endpoints):
    client.force_login(world.users["member"])
    assert client.get(ENDPOINTS).status_code in (302, 403)
