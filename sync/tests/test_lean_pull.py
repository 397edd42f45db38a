"""The lean changes pull (sync/lean_pull.py): it answers ordinary pulls byte for byte as the
Django view does, for every role, never reads past what the caller may see, and hands every
other request to the view."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from accounts import services as account_services
from accounts.models import DeviceSession
from accounts.services import DeviceInfo, session_create
from common import lean as lean_paths
from organizations import services as org_services
from organizations.models import Role
from organizations.tests.world import api_as
from tests.support.api import assert_error
from tests.support.asgi import AsgiClient
from tests.support.changes import unnumbered_change
from tests.support.heartbeats import hb, send
from tests.support.metrics import scrape, value
from tests.support.sync import entry_item, push

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]
URL = "/api/v1/sync/changes"
PER_RESPONSE = {"x-request-id", "content-length"}
ROLES_WITH_ENTRIES = ["owner", "manager", "lead", "member", "loner", "outsider"]


@pytest.fixture
def lean(asgi_http):
    """``lean(api)``: a client through the ASGI app; ``lean.answered()``: how many pulls the
    lean path answered itself."""
    app, loop = asgi_http
    pull = app.fallback  # config.asgi: the heartbeat intake hands everything else to the pull

    def client(api):
        return AsgiClient(app, loop, dict(api._credentials))

    client.answered = lambda: pull.answered
    client.app, client.loop, client.app_and_intake = pull, loop, app
    return client


@pytest.fixture
def history(world):
    """The head before, then two entries by each role that writes (outsider: company B)."""
    head = world.api("owner").get(URL).json()["next_cursor"]
    for role in ROLES_WITH_ENTRIES:
        project = world.project_b if role == "outsider" else world.project_open
        items = [entry_item(world, hour=3 * n, project_id=str(project.id)) for n in range(2)]
        assert push(world.api(role), items).json()["processed"] == 2
    return head


def same_answer(django, lean_response) -> None:
    assert lean_response.status_code == django.status_code
    assert lean_response.content == django.content  # byte for byte
    names = lean_response.extra.get("header_names", [])
    assert len(names) == len(set(names)), names  # one Vary, as Django merges them
    django_headers = {k.lower(): v for k, v in django.items() if k.lower() not in PER_RESPONSE}
    assert {k: v for k, v in lean_response.headers.items() if k not in PER_RESPONSE} == django_headers


@pytest.mark.parametrize("role", ["owner", "admin", "manager", "lead", "member", "loner", "outsider"])
def test_every_role_reads_the_same_pages_from_both_paths(world, lean, history, role):
    api = world.api(role)
    client = lean(api)
    before = lean.answered()
    for query in [f"?cursor={history}", f"?cursor={history}&limit=3", "", f"?limit=1000&cursor={history}"]:
        same_answer(api.get(URL + query), client.get(URL + query))
    page = client.get(f"{URL}?cursor={history}&limit=3").json()
    while page["has_more"]:  # paging to the end, then nothing new
        query = f"?cursor={page['next_cursor']}&limit=3"
        django = api.get(URL + query)
        same_answer(django, client.get(URL + query))
        page = django.json()
    same_answer(api.get(f"{URL}?cursor={page['next_cursor']}"), client.get(f"{URL}?cursor={page['next_cursor']}"))
    assert lean.answered() > before + 4  # each of them served by the lean path


def test_another_companys_changes_never_reach_the_page(world, lean, history):
    page = lean(world.api("outsider")).get(f"{URL}?cursor={history}").json()
    assert {c["data"]["company_id"] for c in page["changes"]} == {str(world.b.id)}
    assert {c["data"]["user_id"] for c in page["changes"] if c["entity"] == "time_entry"} == {
        str(world.users["outsider"].id)
    }
    member = lean(world.api("member")).get(f"{URL}?cursor={history}").json()
    assert str(world.b.id) not in {c["data"]["company_id"] for c in member["changes"]}
    assert {c["data"]["user_id"] for c in member["changes"] if c["entity"] == "time_entry"} == {
        str(world.users["member"].id)
    }


def test_a_role_change_or_a_removal_shows_on_the_very_next_pull(world, lean, history):
    api = world.api("loner")
    client = lean(api)
    entries = lambda page: {c["data"]["user_id"] for c in page["changes"] if c["entity"] == "time_entry"}  # noqa: E731
    assert entries(client.get(f"{URL}?cursor={history}").json()) == {str(world.users["loner"].id)}
    membership = world.users["loner"].memberships.get(company=world.a)
    org_services.member_update(membership=membership, changes={"role": Role.MANAGER})
    promoted = client.get(f"{URL}?cursor={history}")
    same_answer(api.get(f"{URL}?cursor={history}"), promoted)
    assert str(world.users["member"].id) in entries(promoted.json())  # a manager reads everyone's
    org_services.member_remove(membership=world.users["loner"].memberships.get(company=world.a))
    removed = client.get(f"{URL}?cursor={history}")
    same_answer(api.get(f"{URL}?cursor={history}"), removed)
    assert not [c for c in removed.json()["changes"] if c["data"].get("company_id") == str(world.a.id)]
    before = lean.answered()  # a member of no company any more: still the lean path's, an empty page
    same_answer(api.get(f"{URL}?cursor={history}"), client.get(f"{URL}?cursor={history}"))
    assert lean.answered() == before + 1


def test_a_signed_out_session_or_a_deactivated_user_is_refused(world, lean, history):
    client = lean(world.api("member"))
    assert client.get(f"{URL}?cursor={history}").status_code == 200
    account_services.sessions_revoke(user=world.users["member"], reason="test")
    assert_error(client.get(f"{URL}?cursor={history}"), 401)
    owner = lean(world.api("owner"))
    assert owner.get(URL).status_code == 200
    world.users["owner"].is_active = False
    world.users["owner"].save(update_fields=["is_active"])
    assert_error(owner.get(f"{URL}?cursor={history}"), 401)


def test_unusual_pulls_are_answered_by_django(world, lean, history):
    api = world.api("member")
    client = lean(api)
    head = api.get(URL).json()["next_cursor"]
    before = lean.answered()
    for query in ["?cursor=abc", "?limit=0", "?limit=1001", "?cursor=-1", "?limit=1.5"]:
        assert_error(client.get(URL + query), 400)
    for query in [f"?cursor=1&cursor={history}", f"?cursor={history}&x=1"]:  # DRF: the last one, unknown ignored
        same_answer(api.get(URL + query), client.get(URL + query))
    assert_error(client.get(f"{URL}?cursor={head + 5}"), 410, code="cursor_gone")
    assert client.get(f"{URL}?cursor={history}", HTTP_ORIGIN="http://127.0.0.1:8000").status_code == 200
    assert client.get(f"{URL}?cursor={history}", HTTP_COOKIE="a=b").status_code == 200
    assert client.get(f"{URL}?cursor={history}", HTTP_ACCEPT="text/html").status_code == 406
    assert_error(client.get(f"{URL}?cursor={history}", repeated=("host", "elsewhere.example")), 400)
    assert lean.answered() == before  # every one of them went to the view
    assert_error(AsgiClient(lean.app, lean.loop, {"HTTP_AUTHORIZATION": "Bearer nope"}).get(URL), 401)


def test_a_change_not_yet_numbered_is_numbered_and_served(world, lean, history):
    client = lean(world.api("owner"))
    head = client.get(URL).json()["next_cursor"]
    written = unnumbered_change(
        world,
        user_id=None,
        project_id=world.project_open.id,
        entity="project",
        entity_id=world.project_open.id,
        event="project.updated",
        payload={"id": str(world.project_open.id), "name": "Open"},
    )
    assert written.cursor is None  # as a write whose process died before numbering leaves it
    before = lean.answered()
    page = client.get(f"{URL}?cursor={head}").json()
    assert [c["id"] for c in page["changes"]] == [str(world.project_open.id)]
    assert lean.answered() == before  # the view numbered it; the next pull is the lean path's again
    assert client.get(f"{URL}?cursor={page['next_cursor']}").json()["changes"] == []
    assert lean.answered() == before + 1


def test_the_sync_rate_limit_counts_lean_pulls(world, lean, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "sync": (3, 60)}
    client = lean(world.api("member"))
    assert lean.app.limits is lean.app_and_intake.limits  # one count per process for both lean paths
    assert send(client, [hb(10)]).status_code == 202  # a heartbeat through the lean intake: the same window
    assert [client.get(URL).status_code for _ in range(2)] == [200, 200]
    lean.loop.run(lean.app.flush_limits())
    assert_error(client.get(URL), 429, code="throttled")
    assert_error(world.api("member").get(URL), 429, code="throttled")  # the view: the same window
    assert lean(world.api("owner")).get(URL).status_code == 200  # someone else's window


def test_a_signed_out_devices_pulls_never_use_up_its_users_limit(world, lean, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "sync": (2, 60)}
    member = world.users["member"]
    gone = lean(world.api("member"))
    account_services.sessions_revoke(user=member, reason="test")
    for _ in range(4):
        assert_error(gone.get(URL), 401)
    lean.loop.run(lean.app.flush_limits())
    fresh = lean(api_as(member))
    assert [fresh.get(URL).status_code for _ in range(2)] == [200, 200]


def test_a_poll_notes_when_the_device_was_last_seen(world, lean):
    tokens = session_create(user=world.users["member"], device=DeviceInfo(device_name="laptop"), stay_logged_in=False)
    session = DeviceSession.objects.get(user=world.users["member"], device_name="laptop")
    DeviceSession.objects.filter(pk=session.pk).update(last_seen_at=timezone.now() - timedelta(days=1))
    client = AsgiClient(lean.app, lean.loop, {"HTTP_AUTHORIZATION": f"Bearer {tokens.access}"})
    head = client.get(URL).json()["next_cursor"]
    before = lean.answered()
    assert client.get(f"{URL}?cursor={head}").json()["changes"] == []  # nothing new, the usual poll
    assert lean.answered() == before + 1
    for _ in range(100):  # written after the answer, off the request's path
        session.refresh_from_db()
        if session.last_seen_at > timezone.now() - timedelta(minutes=1):
            break
        time.sleep(0.05)
    assert session.last_seen_at > timezone.now() - timedelta(minutes=1)


def test_lean_pulls_are_logged_and_counted(world, lean, api, request_logs):
    client = lean(world.api("member"))
    labels = {"view": "sync-changes", "method": "GET", "status": "200"}
    before = value(scrape(api), "django_http_responses_total_by_status_view_method_total", **labels)
    assert client.get(URL, HTTP_X_REQUEST_ID="pull-7")["X-Request-ID"] == "pull-7"
    after = value(scrape(api), "django_http_responses_total_by_status_view_method_total", **labels)
    assert after - before == 1
    line = [line for line in request_logs() if line.get("request_id") == "pull-7"][-1]
    assert (line["path"], line["status"], line["user_id"]) == (URL, 200, str(world.users["member"].id))


def test_switched_off_every_pull_goes_through_django(world, lean, history, settings):
    settings.LEAN_PULL = False
    api = world.api("member")
    before = lean.answered()
    same_answer(api.get(f"{URL}?cursor={history}"), lean(api).get(f"{URL}?cursor={history}"))
    assert lean.answered() == before


def test_a_lost_database_connection_never_fails_a_pull(world, lean, history):
    """The lean path's connections die (a PostgreSQL restart): the pulls that meet them are
    answered by the view, then the lean path answers again on fresh connections."""
    client = lean(world.api("member"))
    expected = world.api("member").get(f"{URL}?cursor={history}").content
    assert client.get(f"{URL}?cursor={history}").content == expected
    with connection.cursor() as cursor:  # this database's: parallel test processes have their own
        cursor.execute(
            "SELECT array_agg(pid) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            [lean_paths.APPLICATION_NAME],
        )
        killed = cursor.fetchone()[0]
        assert killed
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [killed])
        for _ in range(100):  # termination is asynchronous: wait until they are gone
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [killed])
            if not cursor.fetchone()[0]:
                break
            time.sleep(0.05)
    before = lean.answered()
    assert client.get(f"{URL}?cursor={history}").content == expected  # the view's answer
    assert lean.answered() == before
    for _ in range(
        django_settings.HEARTBEAT_INTAKE_CONNECTIONS
    ):  # each dead pooled connection fails one pull over to the view
        assert client.get(f"{URL}?cursor={history}").content == expected
    assert lean.answered() > before  # the lean path is back, no restart
