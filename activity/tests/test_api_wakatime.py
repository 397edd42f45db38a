"""WakaTime's heartbeat intake (``/api/compat/wakatime/v1/``) as WakaTime's clients see it:
one answer per heartbeat, in order, resends stored once, bad items refused on their own,
errors in WakaTime's ``{"error": ...}`` shape."""

from __future__ import annotations

import time

import pytest

from activity.models import CodingHeartbeat
from tests.support.wakatime import BULK, SINGLE, STATUSBAR, UA, basic, heartbeat, wakatime_key

pytestmark = pytest.mark.django_db


def post(client, url, body, **headers):
    headers.setdefault("HTTP_USER_AGENT", UA)
    headers.setdefault("HTTP_X_MACHINE_NAME", "laptop")
    return client.post(url, body, format="json", **headers)


def test_a_bulk_is_stored_and_answered_per_heartbeat_in_order(world):
    api = world.api("member")
    now = time.time()
    body = [heartbeat(now - 60, entity="/src/a.py"), heartbeat(now - 30, entity="/src/b.py", language="Python")]
    response = post(api, BULK, body)
    assert response.status_code == 201, response.content
    responses = response.json()["responses"]
    assert [status for _, status in responses] == [201, 201]
    assert [data["data"]["entity"] for data, _ in responses] == ["/src/a.py", "/src/b.py"]
    rows = list(CodingHeartbeat.objects.order_by("time"))
    assert [(r.entity, r.device_id, r.editor, r.company_id, r.user_id) for r in rows] == [
        ("/src/a.py", "laptop", "vscode", world.a.id, world.users["member"].id),
        ("/src/b.py", "laptop", "vscode", world.a.id, world.users["member"].id),
    ]
    assert abs(rows[0].time.timestamp() - (now - 60)) < 1e-5  # Unix float, microseconds kept


def test_the_single_endpoint_takes_one_object(world):
    response = post(world.api("member"), SINGLE, heartbeat(time.time(), project="stint"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["responses"][0][1] == 201
    assert body["data"]["entity"] == "/home/me/stint/app.py"
    assert CodingHeartbeat.objects.get().project == "stint"


def test_a_resent_bulk_is_stored_once_and_answered_202(world):
    api = world.api("member")
    body = [heartbeat(time.time() - 10)]
    assert post(api, BULK, body).json()["responses"][0][1] == 201
    again = post(api, BULK, [*body, heartbeat(time.time())])
    assert again.status_code == 201
    assert [status for _, status in again.json()["responses"]] == [202, 201]
    assert CodingHeartbeat.objects.count() == 2


def test_only_entity_type_and_time_are_required_and_unknown_fields_are_ignored(world):
    minimal = {"entity": "/x.go", "type": "file", "time": time.time(), "future_field": {"a": 1}}
    nulls = {
        **minimal,
        "entity": "/y.go",
        **dict.fromkeys(["category", "project", "branch", "language"]),
        "lines": None,
    }
    response = post(world.api("member"), BULK, [minimal, nulls])
    assert [status for _, status in response.json()["responses"]] == [201, 201]
    row = CodingHeartbeat.objects.get(entity="/x.go")
    assert (row.category, row.project, row.language, row.lines, row.is_write, row.dependencies) == (
        "coding",
        "",
        "",
        None,
        False,
        [],
    )


def test_bad_heartbeats_are_refused_on_their_own_and_the_rest_stored(world):
    now = time.time()
    body = [
        heartbeat(now - 200 * 86400),  # older than 180 days
        heartbeat(now + 2 * 3600),  # more than an hour ahead
        {"type": "file", "time": now},  # no entity
        "not an object",
        heartbeat(now, entity=""),
        heartbeat(now, lineno="twelve"),
        heartbeat(now, entity="x" * 2049),
        heartbeat("soon"),
        heartbeat(now, is_write="yes"),
        heartbeat(now, dependencies="django"),
        heartbeat(now, entity="/fine.py", lineno="12", cursorpos=3),  # the CLI sends numbers as strings
    ]
    response = post(world.api("member"), BULK, body)
    assert response.status_code == 201
    responses = response.json()["responses"]
    assert [status for _, status in responses] == [400] * 10 + [201]
    errors = [data["error"] for data, _ in responses[:-1]]
    assert errors[0] == "time: must not be older than 180 days."
    assert errors[1] == "time: must not be more than an hour in the future."
    assert errors[2] == "entity: required."
    assert errors[3] == "Each heartbeat must be a JSON object."
    assert all(isinstance(e, str) and e for e in errors)
    assert list(CodingHeartbeat.objects.values_list("entity", "lineno", "cursorpos")) == [("/fine.py", 12, 3)]


def test_more_than_1000_heartbeats_are_refused_as_a_whole(world):
    now = time.time()
    response = post(world.api("member"), BULK, [heartbeat(now - n / 100, entity=f"/f{n}.py") for n in range(1001)])
    assert response.status_code == 400
    assert response.json() == {"error": "At most 1000 heartbeats per request; none was stored."}
    assert not CodingHeartbeat.objects.exists()
    ok = post(world.api("member"), BULK, [heartbeat(now - n / 100, entity=f"/f{n}.py") for n in range(1000)])
    assert ok.status_code == 201
    assert CodingHeartbeat.objects.count() == 1000


# not JSON, no heartbeats, not a list, one heartbeat refused (the single answer is its error)
@pytest.mark.parametrize("body", ["[{", "[]", '"text"', "{}"])
def test_a_malformed_body_is_a_400_in_wakatimes_shape(world, body):
    response = world.api("member").post(BULK, body, content_type="application/json", HTTP_USER_AGENT=UA)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert not CodingHeartbeat.objects.exists()


@pytest.mark.parametrize("form", ["basic", "basic with colon", "bearer"])
def test_an_ingest_key_is_accepted_in_every_form_wakatime_clients_send(api, world, form):
    key = wakatime_key(world.users["member"])
    header = {
        "basic": basic(key),
        "basic with colon": basic(f"{key}:"),
        "bearer": f"Bearer {key}",
    }[form]
    api.credentials(HTTP_AUTHORIZATION=header)
    response = post(api, BULK, [heartbeat(time.time())])
    assert response.status_code == 201, response.content
    assert response.json()["responses"][0][1] == 201
    assert api.get(STATUSBAR).status_code == 200  # the editor's key reads its status bar too
    assert CodingHeartbeat.objects.get().user_id == world.users["member"].id


def test_no_or_a_wrong_key_is_a_401_in_wakatimes_shape(api, world):
    assert post(api, BULK, [heartbeat(time.time())]).status_code == 401
    for header in ("Basic bm90LWEta2V5", basic("3f1c2a9e-7b5d-4e8a-9c0d-1e2f3a4b5c6d")):
        api.credentials(HTTP_AUTHORIZATION=header)
        response = post(api, BULK, [heartbeat(time.time())])
        assert response.status_code == 401
        assert set(response.json()) == {"error"}
    assert not CodingHeartbeat.objects.exists()


def test_a_read_only_key_may_not_send_heartbeats(api, world):
    api.credentials(HTTP_AUTHORIZATION=basic(wakatime_key(world.users["member"], scopes=["read"])))
    response = post(api, BULK, [heartbeat(time.time())])
    assert response.status_code == 403
    assert "scope" in response.json()["error"]
    assert not CodingHeartbeat.objects.exists()


def test_an_ingest_key_opens_nothing_else(api, world):
    api.credentials(HTTP_AUTHORIZATION=basic(wakatime_key(world.users["member"])))
    assert api.post("/api/v1/projects", {"name": "Sneaky"}, format="json").status_code == 403


def test_a_company_bound_key_files_heartbeats_in_its_company(api, world):
    from accounts.tests.factories import MembershipFactory

    member = world.users["member"]
    MembershipFactory(user=member, company=world.b)
    api.credentials(HTTP_AUTHORIZATION=basic(wakatime_key(member, company=world.b)))
    assert post(api, BULK, [heartbeat(time.time())]).status_code == 201
    assert CodingHeartbeat.objects.get().company_id == world.b.id
    # naming the other company is as if it did not exist
    assert post(api, f"{BULK}?company={world.a.id}", [heartbeat(time.time() - 1)]).status_code == 404
    assert CodingHeartbeat.objects.count() == 1


def test_the_editor_comes_from_the_user_agent_and_a_heartbeats_own(world):
    now = time.time()
    own = heartbeat(now, entity="/queued.py")
    own["user_agent"] = "wakatime/13.1.0 (Linux-6.1) Python3.11.7.final.0 PyCharm/2023.1 jetbrains-wakatime/14.0"
    post(world.api("member"), BULK, [heartbeat(now - 1), own], HTTP_X_MACHINE_NAME="desktop")
    assert dict(CodingHeartbeat.objects.values_list("entity", "editor")) == {
        "/home/me/stint/app.py": "vscode",
        "/queued.py": "PyCharm",
    }
    assert set(CodingHeartbeat.objects.values_list("device_id", flat=True)) == {"desktop"}


def test_a_utf8_machine_name_is_kept(world):
    post(
        world.api("member"),
        BULK,
        [heartbeat(time.time())],
        HTTP_X_MACHINE_NAME="Jörg's laptop".encode().decode("latin-1"),
    )
    assert CodingHeartbeat.objects.get().device_id == "Jörg's laptop"


def test_heartbeats_land_in_the_callers_company_only(world):
    post(world.api("outsider"), BULK, [heartbeat(time.time())])
    row = CodingHeartbeat.objects.get()
    assert (row.company_id, row.user_id) == (world.b.id, world.users["outsider"].id)
    # a company the caller is not a member of is not theirs to write to
    response = post(world.api("outsider"), f"{BULK}?company={world.a.id}", [heartbeat(time.time() - 5)])
    assert response.status_code == 404
    assert set(response.json()) == {"error"}
    assert CodingHeartbeat.objects.count() == 1


def test_a_new_privacy_rule_applies_to_the_very_next_request(world):
    from activity.models import PrivacyAction, PrivacyField
    from activity.services import privacy_rule_create

    api = world.api("member")
    now = time.time()
    post(api, BULK, [heartbeat(now - 20, entity="/src/secret/a.py")])  # rules compiled and cached
    privacy_rule_create(company=world.a, field=PrivacyField.TITLE, pattern="secret", action=PrivacyAction.DROP)
    response = post(api, BULK, [heartbeat(now - 10, entity="/src/secret/b.py"), heartbeat(now, entity="/src/ok.py")])
    assert [status for _, status in response.json()["responses"]] == [201, 201]  # dropped: nothing to resend
    assert sorted(CodingHeartbeat.objects.values_list("entity", flat=True)) == ["/src/ok.py", "/src/secret/a.py"]


def test_last_project_placeholders_are_filled_from_the_previous_heartbeat(world):
    api = world.api("member")
    now = time.time()
    post(api, BULK, [heartbeat(now - 60, project="stint", language="Python")])
    post(
        api,
        BULK,
        [heartbeat(now, entity="Terminal", type="app", project="<<LAST_PROJECT>>", language="<<LAST_LANGUAGE>>")],
    )
    assert CodingHeartbeat.objects.get(entity="Terminal").project == "stint"
    assert CodingHeartbeat.objects.get(entity="Terminal").language == "Python"
