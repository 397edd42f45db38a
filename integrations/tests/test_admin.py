"""The audit log in the Django admin: read only for everyone, scoped to the caller's companies
for OWNERs and ADMINs, everything for superusers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from audit.models import AuditEntry
from audit.recording import record
from tests.support.admin import page

LIST = reverse("admin:audit_auditentry_changelist")


def change_url(row: AuditEntry) -> str:
    return reverse("admin:audit_auditentry_change", args=[row.pk])


@pytest.fixture
def rows(world):
    return {
        "a": record(
            action="membership.role_changed",
            target_type="membership",
            target_id="alpha-target",
            company_id=world.a.pk,
            actor=world.users["owner"],
            subject_user_id=world.users["member"].pk,
            changes={"role": ["MEMBER", "ADMIN"]},
        ),
        "a2": record(
            action="privacy_rule.created",
            target_type="privacy_rule",
            target_id="alpha-rule",
            company_id=world.a.pk,
            actor=world.users["admin"],
        ),
        "b": record(
            action="membership.removed",
            target_type="membership",
            target_id="bravo-target",
            company_id=world.b.pk,
            actor=world.users["outsider"],
        ),
    }


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_see_their_companys_rows_only(client, world, rows, role):
    client.force_login(world.users[role])

    listing = page(client.get(LIST))

    assert "alpha-target" in listing
    assert "alpha-rule" in listing
    assert "bravo-target" not in listing
    assert "membership.removed" not in listing  # not even among the filters' values


def test_a_row_opens_read_only_with_its_changes(client, world, rows):
    client.force_login(world.users["owner"])

    response = client.get(change_url(rows["a"]))

    assert response.status_code == 200
    assert "MEMBER" in page(response)
    assert 'name="_save"' not in page(response)


def test_another_companys_row_does_not_exist_even_by_url(client, world, rows):
    client.force_login(world.users["owner"])

    response = client.get(change_url(rows["b"]), follow=True)

    assert response.redirect_chain[0] == (reverse("admin:index"), 302)
    assert "bravo-target" not in page(response)


def test_filters_and_search_narrow_the_list(client, world, rows):
    client.force_login(world.users["owner"])

    by_action = page(client.get(LIST, {"action": "privacy_rule.created"}))
    by_search = page(client.get(LIST, {"q": world.users["owner"].email}))

    assert "alpha-rule" in by_action
    assert "alpha-target" not in by_action
    assert "alpha-target" in by_search
    assert "alpha-rule" not in by_search


@pytest.mark.parametrize("who", ["owner", "superuser"])
def test_nobody_adds_changes_or_deletes_a_row(client, world, rows, who):
    client.force_login(UserFactory(is_superuser=True, is_staff=True) if who == "superuser" else world.users["owner"])
    row = rows["a"]

    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    client.post(change_url(row), {"action": "forged", "target_id": "forged"})
    assert client.post(reverse("admin:audit_auditentry_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "index": "0", "_selected_action": [str(row.pk)], "post": "yes"}
    client.post(LIST, bulk)

    stored = AuditEntry.objects.get(pk=row.pk)
    assert (stored.action, stored.target_id) == ("membership.role_changed", "alpha-target")
    assert "delete_selected" not in page(client.get(LIST))


def test_superusers_see_every_company(client, world, rows):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    listing = page(client.get(LIST))

    assert "alpha-target" in listing
    assert "bravo-target" in listing


@pytest.mark.parametrize("role", ["manager", "member"])
def test_members_who_are_not_admins_see_nothing(client, world, rows, role):
    client.force_login(world.users[role])

    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
