"""COPY inserts and array lookups (common.bulk): what they store and select is what save() and
``__in`` would, whichever of copy_insert's two ways a value takes."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db.models import F

from accounts.models import User
from changelog.models import Change, Tombstone
from common.bulk import AnyOf, copy_insert
from sync.models import SyncItemKey

pytestmark = pytest.mark.django_db

BERLIN_SUMMER = timezone(timedelta(hours=2))


def _change(**fields) -> Change:
    base = {
        "company_id": uuid.uuid4(),
        "entity": "time_entry",
        "entity_id": uuid.uuid4(),
        "action": "upsert",
        "event": "entry.upserted",
        "payload": {"id": "x", "n": 1, "nested": [None, True, "Zoë"]},
        "at": datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC),
    }
    return Change(**{**base, **fields})


def test_copy_insert_stores_what_save_would():
    user = User.objects.create_user("bulk@example.com", "Bb-long-enough-pass-1")
    key = SyncItemKey(user=user, key="k-1")
    copy_insert([key])
    stored = SyncItemKey.objects.get(pk=key.pk)
    assert (stored.user_id, stored.key) == (user.pk, "k-1")
    assert stored.created_at is not None  # auto_now_add applies as in save()

    offset = datetime(2026, 7, 1, 12, 0, tzinfo=BERLIN_SUMMER)
    as_text = uuid.uuid4()
    rows = [
        _change(user_id=None, project_id=None),
        _change(at=offset, user_id=user.pk, project_id=uuid.uuid4()),
        _change(entity_id=str(as_text)),  # a UUID given as text still goes in as that UUID
    ]
    copy_insert(rows)
    got = {c.entity_id: c for c in Change.objects.filter(company_id__in=[r.company_id for r in rows])}
    assert got[rows[0].entity_id].user_id is None
    assert got[rows[0].entity_id].payload == {"id": "x", "n": 1, "nested": [None, True, "Zoë"]}
    assert got[rows[1].entity_id].at == offset  # the same instant, whatever offset it was given in
    assert got[rows[1].entity_id].user_id == user.pk
    assert got[as_text].action == "upsert"


def test_copy_insert_takes_a_naive_datetime_as_save_does():
    naive = datetime(2026, 1, 5, 9, 30)  # noqa: DTZ001  (naive on purpose)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        copy_insert([_change(at=naive)])
    assert any("naive datetime" in str(w.message) for w in caught)
    assert Change.objects.get(at=naive.replace(tzinfo=UTC)).entity == "time_entry"  # TIME_ZONE is UTC


def test_any_of_selects_what_in_selects():
    ids = [uuid.uuid4() for _ in range(5)]
    Tombstone.objects.bulk_create(
        [Tombstone(entity="task", entity_id=i, deleted_at=datetime(2026, 1, 1, tzinfo=UTC)) for i in ids]
    )
    wanted = [ids[0], str(ids[2]), uuid.uuid4()]  # UUIDs, text, one unknown
    assert (
        set(Tombstone.objects.filter(AnyOf(F("pk"), wanted)).values_list("pk", flat=True))
        == set(Tombstone.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        == {ids[0], ids[2]}
    )
    assert not Tombstone.objects.filter(AnyOf(F("pk"), [])).exists()

    user = User.objects.create_user("any@example.com", "Bb-long-enough-pass-1")
    copy_insert([SyncItemKey(user=user, key=k) for k in ("a", "b", "c")])
    keys = SyncItemKey.objects.filter(AnyOf(F("key"), ["a", "c", "z"]), user=user).values_list("key", flat=True)
    assert sorted(keys) == ["a", "c"]
    change = _change()
    copy_insert([change])
    first = Change.objects.filter(entity_id=change.entity_id).values_list("id", flat=True).get()
    assert list(Change.objects.filter(AnyOf(F("id"), [first, first + 10**9])).values_list("id", flat=True)) == [first]
