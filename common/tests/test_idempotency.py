"""Idempotency-Key on POST: replay, 422 for another body, 409 while running, per user, 24 h."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection

from common.models import IdempotencyRecord
from tests.support.api import assert_error
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _entry_body(world, hours=1):
    return {
        "project_id": str(world.project_open.id),
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(hours=hours)).isoformat(),
    }


def test_same_key_and_body_replays_without_doing_it_again(world):
    api = world.api("member")
    first = api.post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert TimeEntry.objects.count() == 1


def test_same_key_with_another_body_is_422(world):
    api = world.api("member")
    api.post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="k-2")
    body = assert_error(api.post("/api/v1/time-entries", _entry_body(world, hours=2), HTTP_IDEMPOTENCY_KEY="k-2"), 422)
    assert body["errors"][0]["code"] == "idempotency_key_reused"
    # and on another path too: the key names one request
    assert_error(
        api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}, HTTP_IDEMPOTENCY_KEY="k-2"),
        422,
    )
    assert TimeEntry.objects.count() == 1


def test_keys_are_per_user(world):
    a = world.api("member").post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="shared")
    b = world.api("lead").post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="shared")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


def test_a_request_still_running_under_the_key_gives_409(world):
    """Another connection holds the key's claim, as a first request still in flight would."""
    user = world.users["member"]
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"],
        dbname=db["NAME"],
        password=db.get("PASSWORD") or None,
    ) as other:
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"idem:{user.pk}:busy"])
        response = world.api("member").post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="busy")
        body = assert_error(response, 409)
        assert body["errors"][0]["code"] == "idempotency_key_in_use"
        other.execute("ROLLBACK")
    assert not TimeEntry.objects.exists()
    # once the first is done, the key works
    assert (
        world.api("member").post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="busy").status_code
        == 201
    )


def test_a_failed_request_can_be_retried_with_the_same_key(world):
    api = world.api("member")
    bad = api.post("/api/v1/time-entries", {"project_id": str(world.project_open.id)}, HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = api.post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201


def test_keys_expire_after_24_hours(world):
    api = world.api("member")
    body = {"project_id": str(world.project_open.id)}
    first = api.post("/api/v1/time-entries/start", body, HTTP_IDEMPOTENCY_KEY="k-4").json()
    IdempotencyRecord.objects.update(created_at=T0 - timedelta(hours=25))
    second = api.post("/api/v1/time-entries/start", body, HTTP_IDEMPOTENCY_KEY="k-4")
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]  # executed again, not replayed
    from common.idempotency import prune_expired

    IdempotencyRecord.objects.update(created_at=T0 - timedelta(hours=25))
    assert prune_expired() == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
def test_malformed_keys_are_400(world, key):
    response = world.api("member").post("/api/v1/time-entries", _entry_body(world), HTTP_IDEMPOTENCY_KEY=key)
    assert_error(response, 400)
    assert not TimeEntry.objects.exists()


def test_anonymous_posts_ignore_the_key(api, world):
    response = api.post(
        "/api/v1/auth/login",
        {"email": "nobody@example.com", "password": "wrong-password-1"},
        HTTP_IDEMPOTENCY_KEY="anon",
    )
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()


def test_a_keyed_upload_larger_than_a_screenshot_is_taken_whole_and_replayed(world, settings, tmp_path):
    """An import file (up to IMPORT_MAX_BYTES) with an Idempotency-Key: hashed as it streams,
    re-served intact to the parser (every row arrives), and a retry replays the first answer."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.tests.factories import MembershipFactory
    from imports import services as import_services
    from imports.models import ImportJob
    from organizations.models import Role

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # smaller limits, a smaller file: the same paths
    settings.SCREENSHOT_MAX_BYTES = 128 * 1024
    MembershipFactory(company=world.a, role=Role.MEMBER, user__email="ana@example.com")
    header = (
        "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags\n"
    )
    start = datetime(2025, 1, 6, tzinfo=UTC)
    rows = [
        f"Ana,ana@example.com,,Website,,Row {n},No,{(start + timedelta(minutes=10 * n)):%Y-%m-%d,%H:%M:%S},"
        f"{(start + timedelta(minutes=10 * n + 10)):%Y-%m-%d,%H:%M:%S},00:10:00,\n"
        for n in range(6000)
    ]
    data = ("\ufeff" + header + "".join(rows)).encode()
    assert len(data) > 2 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def post(content: bytes):
        upload = SimpleUploadedFile("export.csv", content, content_type="text/csv")
        body = {"source": "toggl_csv", "timezone": "UTC", "dry_run": "true", "file": upload}
        return world.api("owner").post("/api/v1/imports", body, format="multipart", HTTP_IDEMPOTENCY_KEY="big-1")

    first = post(data)
    assert first.status_code == 202, first.content
    again = post(data)
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (202, first.json(), "true")
    assert ImportJob.objects.count() == 1
    assert_error(post(data[:-40]), 422)  # another body under the same key
    import_services.import_run(job_id=first.json()["id"])
    job = ImportJob.objects.get()
    assert (job.status, job.summary["created"]["entries"], job.summary["errors"]) == ("READY", 6000, [])
