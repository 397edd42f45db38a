"""GET /audit-log (SPEC: "Timesheets, locked periods and the audit log"): OWNER and ADMIN read
their company's log, anyone their own trail with ?mine=true; filters, cursor pages, no writes,
and never another company's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from audit.models import AuditEntry
from audit.recording import record
from tests.support.api import assert_error

URL = "/api/v1/audit-log"
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def entry(company, *, actor=None, subject=None, action="time_entry.updated", target_id="t1", **extra):
    row = record(
        action=action,
        target_type=action.split(".")[0],
        target_id=target_id,
        company_id=company.pk,
        actor=actor,
        subject_user_id=getattr(subject, "pk", None),
        changes=extra.pop("changes", {"description": ["old", "new"]}),
    )
    return row


@pytest.fixture
def empty_log(world):
    """The world's own rows (its team memberships) gone, so a test sees only the rows it made:
    the purge's permission, for this statement only, switched off again at once."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.audit_purge = 'on'")
        AuditEntry.objects.all().delete()
        cursor.execute("SET LOCAL stint.audit_purge = 'off'")


@pytest.fixture
def log(world, empty_log):
    """Company A: the owner edited the member's entry, the admin viewed the member's screenshot,
    the member edited their own entry, the lead's role changed. Company B: its owner's row."""
    u = world.users
    rows = {}
    for name, kwargs in {
        "owner_edit": {"actor": u["owner"], "subject": u["member"]},
        "admin_view": {
            "actor": u["admin"],
            "subject": u["member"],
            "action": "screenshot.viewed",
            "changes": {},
            "target_id": "s1",
        },
        "self_edit": {"actor": u["member"], "subject": u["member"]},
        "role": {"actor": u["owner"], "subject": u["lead"], "action": "membership.role_changed", "target_id": "m1"},
        "system": {"actor": None, "subject": u["member"], "action": "time_entry.stopped"},
    }.items():
        rows[name] = entry(world.a, **kwargs)
    rows["b"] = entry(world.b, actor=u["outsider"], subject=u["outsider"], target_id="b1")
    return rows


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_read_their_companys_log_newest_first(world, log, role):
    response = world.api(role).get(URL)

    a_rows = [log[k] for k in ("system", "role", "self_edit", "admin_view", "owner_edit")]
    assert ids(response) == [str(r.pk) for r in a_rows]
    first = response.json()["results"][-1]
    assert first == {
        "id": str(log["owner_edit"].pk),
        "at": first["at"],
        "actor": {"id": str(world.users["owner"].pk), "name": "Olive Owner", "email": world.users["owner"].email},
        "action": "time_entry.updated",
        "target_type": "time_entry",
        "target_id": "t1",
        "changes": {"description": ["old", "new"]},
        "ip": None,
        "request_id": "",
    }
    assert first["at"].endswith("Z")
    assert response.json()["results"][0]["actor"] is None  # the system's row


@pytest.mark.parametrize("role", ["manager", "lead", "member", "loner"])
def test_everyone_else_is_refused_the_companys_log(world, log, role):
    assert_error(world.api(role).get(URL), 403)


def test_mine_shows_what_others_did_to_my_data(world, log):
    response = world.api("member").get(URL, {"mine": "true"})

    # Not their own edit, not the lead's role, not company B's: the owner's edit, the admin's
    # look at their screenshot, the system's stop.
    assert ids(response) == [str(log[k].pk) for k in ("system", "admin_view", "owner_edit")]


def test_mine_is_the_callers_own_trail_for_an_admin_too(world, log):
    assert ids(world.api("lead").get(URL, {"mine": "true"})) == [str(log["role"].pk)]
    assert ids(world.api("owner").get(URL, {"mine": "true"})) == []


def test_mine_never_shows_another_companys_rows(world, log):
    # The outsider's company-B row is about them but done by themselves; a row someone else
    # wrote about them in company B must stay out of company A's answer and vice versa.
    other = entry(world.b, actor=None, subject=world.users["member"], target_id="b2")

    assert str(other.pk) not in ids(world.api("member").get(URL, {"mine": "true"}))
    assert_error(world.api("member").get(URL, {"mine": "true", "company": str(world.b.pk)}), 404)


def test_another_companys_log_is_404(world, log):
    assert_error(world.api("owner").get(URL, {"company": str(world.b.pk)}), 404)
    assert ids(world.api("outsider").get(URL)) == [str(log["b"].pk)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "screenshot.viewed"}, ["admin_view"]),
        ({"target_type": "membership"}, ["role"]),
        ({"target_type": "time_entry", "target_id": "t1"}, ["system", "self_edit", "owner_edit"]),
        ({"actor": "admin"}, ["admin_view"]),
    ],
)
def test_filters_narrow_the_log(world, log, query, expected):
    if "actor" in query:
        query = {"actor": str(world.users[query["actor"]].pk)}

    assert ids(world.api("owner").get(URL, query)) == [str(log[k].pk) for k in expected]


def test_from_and_to_take_dates_or_times(world, log):
    old = AuditEntry.objects.create(company_id=world.a.pk, action="x.y", target_type="x", target_id="1", at=T0)
    older = AuditEntry.objects.create(
        company_id=world.a.pk, action="x.y", target_type="x", target_id="2", at=T0 - timedelta(days=3)
    )
    api = world.api("owner")

    one_day = ids(api.get(URL, {"from": "2026-03-02", "to": "2026-03-02"}))
    assert one_day == [str(old.pk)]
    assert ids(api.get(URL, {"to": "2026-02-28T00:00:00Z"})) == [str(older.pk)]
    assert str(old.pk) not in ids(api.get(URL, {"from": "2026-03-02T12:00:01Z"}))


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ({"actor": "nobody"}, "actor"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": ""}, "from"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"mine": "perhaps"}, "mine"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_are_400_naming_them(world, log, query, attr):
    assert_error(world.api("owner").get(URL, query), 400, attr=attr)


def test_pages_follow_the_cursor_without_gaps_or_repeats(world, empty_log):
    made = [entry(world.a, target_id=str(n)) for n in range(7)]
    api = world.api("owner")

    seen, url = [], f"{URL}?limit=3"
    while url:
        body = api.get(url.replace("http://testserver", "")).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert seen == [str(r.pk) for r in reversed(made)]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_has_no_write_endpoint(world, log, method):
    response = getattr(world.api("owner"), method)(URL, {"action": "x"}, format="json")

    assert_error(response, 405)
    assert AuditEntry.objects.count() == len(log)


def test_no_row_has_a_url_of_its_own(world, log):
    assert_error(world.api("owner").get(f"{URL}/{log['owner_edit'].pk}"), 404)


def test_a_change_made_over_http_carries_its_ip_and_request_id(world, empty_log):
    # Given a role change made through the API
    api = world.api("owner")
    response = api.patch(
        f"/api/v1/companies/{world.a.pk}/members/{world.users['member'].pk}",
        {"role": "MANAGER"},
        format="json",
        HTTP_X_REQUEST_ID="req-audit-1",
    )
    assert response.status_code == 200, response.content

    # Then the log shows it with where it came from
    row = api.get(URL, {"action": "membership.role_changed"}).json()["results"][0]
    assert row["request_id"] == "req-audit-1"
    assert row["ip"] == "127.0.0.1"
    assert row["changes"] == {"role": ["MEMBER", "MANAGER"]}
    assert row["actor"]["id"] == str(world.users["owner"].pk)


def test_one_query_serves_a_page(world, log, django_assert_max_num_queries):
    api = world.api("owner")
    api.get(URL)  # warm the session lookups' caches
    with django_assert_max_num_queries(6):
        assert len(ids(api.get(URL))) == 5
