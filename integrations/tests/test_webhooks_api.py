"""/webhooks (SPEC "Webhooks"): OWNER and ADMIN manage their company's endpoints; the secret
is shown at creation and rotation only; URLs and events are checked; every change is audited
without its secret; other roles get 403 and other companies' ids 404, lists never leak."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from integrations import services
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.support.api import assert_error

URL = "/api/v1/webhooks"
PUBLIC = "https://93.184.216.34/hook"  # a literal public address: no DNS needed


def endpoint(company, url=PUBLIC, events=("*",), **kwargs) -> WebhookEndpoint:
    return services.endpoint_create(company=company, url=url, events=list(events), **kwargs)


def delivery(ep: WebhookEndpoint, **kwargs) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=ep, type="test", payload={"type": "test", "timestamp": "2026-01-01T00:00:00Z", "data": {}}, **kwargs
    )


@pytest.fixture
def theirs(world):
    """Company B's endpoint with a delivery."""
    ep = endpoint(world.b, description="B's")
    return ep, delivery(ep)


# --------------------------------------------------------------------------- create, read


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_create_shows_the_secret_once_and_reads_never_do(world, role):
    api = world.api(role)
    response = api.post(
        URL, {"url": PUBLIC, "events": ["entry.upserted", "timer.started"], "description": "Payroll"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 40
    assert body["url"] == PUBLIC
    assert body["events"] == ["entry.upserted", "timer.started"]
    assert body["active"] is True
    assert body["company_id"] == str(world.a.pk)
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert stored.secret == body["secret"]  # the one it signs with
    for read in (api.get(f"{URL}/{body['id']}"), api.get(URL)):
        assert read.status_code == 200
        assert body["secret"] not in read.content.decode()
        assert "secret" not in (read.json().get("results") or [read.json()])[0]


def test_list_is_the_companys_endpoints_newest_first_cursor_paginated(world, theirs):
    first, second, third = (endpoint(world.a, description=str(i)) for i in range(3))

    page = world.api("owner").get(URL, {"limit": 2}).json()
    assert [r["id"] for r in page["results"]] == [str(third.pk), str(second.pk)]
    rest = world.api("owner").get(page["next"]).json()
    assert [r["id"] for r in rest["results"]] == [str(first.pk)]  # never company B's


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"url": PUBLIC, "events": ["no.such"]}, "events"),
        ({"url": PUBLIC, "events": ["report.ready"]}, "events"),  # private to its requester
        ({"url": PUBLIC, "events": ["presence.changed"]}, "events"),  # not in the change log
        ({"url": PUBLIC, "events": ["sync.applied"]}, "events"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": PUBLIC, "events": ["*", "entry.upserted"]}, "events"),
        ({"url": PUBLIC}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://user:pw@93.184.216.34/hook", "events": ["*"]}, "url"),
        ({"url": "http://93.184.216.34/hook", "events": ["*"]}, "url"),
        ({"url": "https://127.0.0.1/hook", "events": ["*"]}, "url"),
        ({"url": "https://localhost:8000/hook", "events": ["*"]}, "url"),
        ({"url": "https://169.254.169.254/", "events": ["*"]}, "url"),
        ({"url": PUBLIC, "events": ["*"], "secret": "whsec_mine"}, "secret"),  # not the caller's to set
        ({"url": PUBLIC, "events": ["*"], "active": False}, "active"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(world, body, attr):
    response = world.api("owner").post(URL, body, format="json")

    assert_error(response, 400, attr=attr)
    assert not WebhookEndpoint.objects.exists()


def test_a_refused_url_says_why(world):
    response = world.api("owner").post(URL, {"url": "https://10.0.0.7/hook", "events": ["*"]}, format="json")

    body = assert_error(response, 400, attr="url", code="unsafe_url")
    assert "private-network address (10.0.0.7)" in body["errors"][0]["detail"]


def test_the_setting_allows_local_http_urls(world, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = world.api("owner").post(URL, {"url": "http://127.0.0.1:9/hook", "events": ["*"]}, format="json")
    assert response.status_code == 201, response.content


def test_the_plan_caps_endpoints_with_402_naming_the_limit_and_company_b_is_not_counted(world, settings):
    from organizations.services import company_change_plan

    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "PRO": {**settings.PLAN_LIMITS["PRO"], "webhooks": 2}}
    company_change_plan(company=world.b, plan="PRO")
    endpoint(world.b)
    endpoint(world.b)  # company B is full: that never counts against A
    company_change_plan(company=world.a, plan="PRO")
    api = world.api("owner")
    assert api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 201
    assert api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 201

    third = api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json")
    body = assert_error(third, 402, attr="webhooks", code="plan_limit")
    assert "PRO" in body["errors"][0]["detail"]
    assert WebhookEndpoint.objects.filter(company=world.a).count() == 2

    company_change_plan(company=world.a, plan="FREE")  # FREE: no webhooks; the two stay
    assert_error(api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json"), 402, attr="webhooks")
    assert len(api.get(URL).json()["results"]) == 2
    company_change_plan(company=world.a, plan="ENTERPRISE")  # unlimited
    assert api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 201


# --------------------------------------------------------------------------- update, delete, rotate


def test_patch_changes_the_endpoint_and_is_audited_without_the_secret(world):
    ep = endpoint(world.a)
    response = world.api("admin").patch(
        f"{URL}/{ep.pk}",
        {"active": False, "events": ["task.upserted"], "url": "https://93.184.216.35/new", "description": "x"},
        format="json",
    )

    assert response.status_code == 200, response.content
    ep.refresh_from_db()
    assert (ep.active, ep.events, ep.url, ep.description) == (
        False,
        ["task.upserted"],
        "https://93.184.216.35/new",
        "x",
    )
    row = AuditEntry.objects.get(action="webhook_endpoint.updated")
    assert row.actor_id == world.users["admin"].pk
    assert row.target_id == str(ep.pk)
    assert row.changes["active"] == [True, False]
    assert row.changes["url"][1] == "https://93.184.216.35/new"


@pytest.mark.parametrize(
    ("body", "attr"),
    [({"url": "https://127.0.0.1/"}, "url"), ({"events": ["nope"]}, "events"), ({"company_id": None}, "company_id")],
)
def test_a_bad_patch_changes_nothing(world, body, attr):
    ep = endpoint(world.a)
    assert_error(world.api("owner").patch(f"{URL}/{ep.pk}", body, format="json"), 400, attr=attr)
    ep.refresh_from_db()
    assert (ep.url, ep.events) == (PUBLIC, ["*"])


def test_delete_removes_the_endpoint_and_its_log(world):
    ep = endpoint(world.a)
    delivery(ep)

    assert world.api("owner").delete(f"{URL}/{ep.pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert AuditEntry.objects.filter(action="webhook_endpoint.deleted", target_id=str(ep.pk)).exists()


def test_rotate_shows_the_new_secret_once_and_keeps_the_old_one_for_24_hours(world):
    ep = endpoint(world.a)
    old = ep.secret

    response = world.api("owner").post(f"{URL}/{ep.pk}/rotate-secret")

    assert response.status_code == 200, response.content
    new = response.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    ep.refresh_from_db()
    assert (ep.secret, ep.previous_secret) == (new, old)
    hours = (ep.previous_secret_expires_at - ep.updated_at).total_seconds() / 3600
    assert 23.9 < hours <= 24
    assert response.json()["previous_secret_expires_at"] is not None
    assert new not in world.api("owner").get(f"{URL}/{ep.pk}").content.decode()


def test_no_audit_row_holds_a_secret(world):
    response = world.api("owner").post(URL, {"url": PUBLIC, "events": ["*"]}, format="json")
    rotated = world.api("owner").post(f"{URL}/{response.json()['id']}/rotate-secret").json()
    world.api("owner").patch(f"{URL}/{rotated['id']}", {"description": "d"}, format="json")
    world.api("owner").delete(f"{URL}/{rotated['id']}")

    rows = AuditEntry.objects.filter(target_type="webhook_endpoint")
    assert sorted(r.action for r in rows) == [
        "webhook_endpoint.created", "webhook_endpoint.deleted", "webhook_endpoint.secret_rotated",
        "webhook_endpoint.updated",
    ]  # fmt: skip
    text = " ".join(str(r.changes) for r in rows)
    assert "whsec_" not in text
    assert response.json()["secret"] not in text
    assert rotated["secret"] not in text


# --------------------------------------------------------------------------- deliveries


def test_deliveries_list_the_endpoints_log_newest_first(world):
    ep = endpoint(world.a)
    older = delivery(ep, status=DeliveryStatus.FAILED, attempts=2, response_status=500, response_ms=12)
    newer = delivery(ep)
    delivery(endpoint(world.a))  # another endpoint's

    page = world.api("owner").get(f"{URL}/{ep.pk}/deliveries", {"limit": 1}).json()
    assert [r["id"] for r in page["results"]] == [str(newer.pk)]
    row = world.api("owner").get(page["next"]).json()["results"][0]
    assert row == {
        "id": str(older.pk),
        "event_id": None,
        "type": "test",
        "status": "FAILED",
        "attempts": 2,
        "response_status": 500,
        "response_ms": 12,
        "next_attempt_at": None,
        "at": row["at"],
        "webhook_id": older.webhook_id,
        "error": "",
    }
    assert row["at"].endswith("Z")


# --------------------------------------------------------------------------- roles, isolation


@pytest.mark.parametrize("role", ["manager", "lead", "member"])
def test_other_roles_are_refused_everything(world, role):
    ep = endpoint(world.a)
    d = delivery(ep)
    api = world.api(role)
    calls = [
        api.get(URL),
        api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json"),
        api.get(f"{URL}/{ep.pk}"),
        api.patch(f"{URL}/{ep.pk}", {"active": False}, format="json"),
        api.delete(f"{URL}/{ep.pk}"),
        api.post(f"{URL}/{ep.pk}/rotate-secret"),
        api.post(f"{URL}/{ep.pk}/test"),
        api.get(f"{URL}/{ep.pk}/deliveries"),
        api.post(f"{URL}/{ep.pk}/deliveries/{d.pk}/redeliver"),
    ]
    for response in calls:
        assert_error(response, 403)
    ep.refresh_from_db()
    assert ep.active
    assert WebhookEndpoint.objects.count() == 1
    assert ep.secret not in " ".join(r.content.decode() for r in calls)


def test_another_companys_endpoint_and_deliveries_are_404_and_unchanged(world, theirs):
    ep, d = theirs
    secret = ep.secret
    api = world.api("owner")
    calls = [
        api.get(f"{URL}/{ep.pk}"),
        api.patch(f"{URL}/{ep.pk}", {"active": False, "url": "https://93.184.216.35/"}, format="json"),
        api.delete(f"{URL}/{ep.pk}"),
        api.post(f"{URL}/{ep.pk}/rotate-secret"),
        api.post(f"{URL}/{ep.pk}/test"),
        api.get(f"{URL}/{ep.pk}/deliveries"),
        api.post(f"{URL}/{ep.pk}/deliveries/{d.pk}/redeliver"),
    ]
    for response in calls:
        assert_error(response, 404)
    ep.refresh_from_db()
    d.refresh_from_db()
    assert (ep.active, ep.url, ep.secret) == (True, PUBLIC, secret)
    assert (d.attempts, d.status) == (0, DeliveryStatus.PENDING)
    assert not ep.deliveries.exclude(pk=d.pk).exists()
    assert world.api("owner").get(URL).json()["results"] == []
    assert_error(world.api("owner").get(URL, {"company": str(world.b.pk)}), 404)


def test_a_delivery_of_another_endpoint_is_404_under_this_one(world, theirs):
    _, d = theirs
    mine = endpoint(world.a)
    assert_error(world.api("owner").post(f"{URL}/{mine.pk}/deliveries/{d.pk}/redeliver"), 404)


def test_put_is_not_offered(world):
    ep = endpoint(world.a)
    assert world.api("owner").put(f"{URL}/{ep.pk}", {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 405
