"""The user row cached per process under a Redis version (accounts/user_cache.py): every way a
user row changes is seen on the very next request, in the same process."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connections, transaction
from rest_framework.test import APIClient

from accounts import user_cache
from accounts.models import User
from accounts.tests.factories import CompanyFactory, MembershipFactory
from organizations import services as org_services
from organizations.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def _warm(authed) -> dict:
    """Two requests: the second is served from this process's copy of the row (no query)."""
    authed.get("/api/v1/me")
    response = authed.get("/api/v1/me")
    assert response.status_code == 200
    return response.json()


def test_a_deactivated_user_is_refused_on_the_next_request(authed, user):
    _warm(authed)
    user.is_active = False
    user.save()
    response = authed.get("/api/v1/me")
    assert response.status_code == 401


def test_a_deleted_user_is_refused_on_the_next_request(authed, user):
    _warm(authed)
    user.delete()
    assert authed.get("/api/v1/me").status_code == 401


def test_a_saved_change_is_seen_on_the_next_request(authed, user):
    _warm(authed)
    user.name = "Alice Renamed"
    user.save(update_fields=["name"])
    assert authed.get("/api/v1/me").json()["name"] == "Alice Renamed"


def test_leaving_a_company_clears_the_cached_default_company(authed, user):
    """member_remove clears ``default_company`` with QuerySet.update (no post_save)."""
    owner = MembershipFactory(role=Role.OWNER).user
    company = CompanyFactory()
    MembershipFactory(company=company, user=owner, role=Role.OWNER)
    membership = MembershipFactory(company=company, user=user)
    user.default_company = company
    user.save()
    assert _warm(authed)["default_company_id"] == str(company.pk)
    org_services.member_remove(membership=membership)
    assert authed.get("/api/v1/me").json()["default_company_id"] is None


def test_deleting_a_company_clears_the_cached_default_company(authed, user):
    """``on_delete=SET_NULL`` is an UPDATE of the users, not a save: the company's pre_delete
    retires their rows."""
    company = CompanyFactory()
    MembershipFactory(company=company, user=user, role=Role.OWNER)
    user.default_company = company
    user.save()
    assert _warm(authed)["default_company_id"] == str(company.pk)
    org_services.company_delete(company=company)
    assert authed.get("/api/v1/me").json()["default_company_id"] is None


def test_a_request_between_the_change_and_its_commit_cannot_keep_the_old_row(authed, user):
    """Deactivated in a transaction still open: another connection's request (in this process)
    still reads the row as active and caches it; the version moved again at commit, so the next
    request loads the row anew and is refused."""
    _warm(authed)
    seen: list[int] = []

    def request_from_another_connection():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authed._credentials["HTTP_AUTHORIZATION"])
        try:
            seen.append(client.get("/api/v1/me").status_code)
        finally:
            connections.close_all()

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.is_active = False
        locked.save()
        thread = threading.Thread(target=request_from_another_connection)
        thread.start()
        thread.join()
    assert seen == [200]  # it read the committed row: still active then
    assert authed.get("/api/v1/me").status_code == 401


def test_a_row_read_while_the_change_was_uncommitted_is_not_kept_even_if_the_commit_bump_is_lost(authed, user):
    _warm(authed)
    seen: list[int] = []

    def request_from_another_connection():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authed._credentials["HTTP_AUTHORIZATION"])
        try:
            seen.append(client.get("/api/v1/me").status_code)
        finally:
            connections.close_all()

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.is_active = False
        locked.save()
        during = cache.get(user_cache.version_key(user.pk))
        thread = threading.Thread(target=request_from_another_connection)
        thread.start()
        thread.join()
    cache.set(user_cache.version_key(user.pk), during)  # as if the after-commit write were lost

    assert seen == [200]  # it read the committed row: still active then
    assert authed.get("/api/v1/me").status_code == 401


def test_a_version_lost_from_redis_reloads_the_row(authed, user):
    _warm(authed)
    User.objects.filter(pk=user.pk).update(name="Changed Behind Its Back")  # no signal, no bump
    cache.delete(user_cache.version_key(user.pk))  # Redis lost the key (eviction, restart)
    assert authed.get("/api/v1/me").json()["name"] == "Changed Behind Its Back"


def test_each_request_gets_its_own_copy_of_the_row(user):
    version = "v-test"
    first = user_cache.cached_user(str(user.pk), version, lambda _id: User.objects.get(pk=_id))
    first.settings["week_start"] = "sunday"
    first.name = "Mutated"
    second = user_cache.cached_user(str(user.pk), version, lambda _id: pytest.fail("loaded again"))
    assert second.name == "Alice"
    assert second.settings == {}
    assert second is not first


def test_a_row_is_cached_under_the_version_read_before_it_was_loaded(user):
    """A write that lands while the row is being loaded moves the version past it."""
    user_id = str(user.pk)

    def load_racing_a_write(_id):
        row = User.objects.get(pk=_id)
        User.objects.filter(pk=_id).update(name="Written Meanwhile")
        user_cache.user_changed([_id])
        return row

    assert user_cache.cached_user(user_id, None, load_racing_a_write).name == "Alice"
    current = cache.get(user_cache.version_key(user_id))
    assert user_cache.cached_user(user_id, current, lambda _id: User.objects.get(pk=_id)).name == "Written Meanwhile"
