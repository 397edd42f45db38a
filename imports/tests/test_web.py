"""The dashboard's Import page as the server renders it (the browser test drives it live:
tests/test_dashboard_browser.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_import_page_offers_the_sources_there_are_and_is_reached_from_the_top_bar(client, world):
    assert client.login(email=world.users["member"].email, password=PASSWORD)
    html = client.get(reverse("dashboard-imports")).content.decode()
    assert 'data-testid="import-form"' in html
    assert 'value="toggl_csv"' in html
    assert 'value="activitywatch_json"' in html
    assert 'value="wakatime_json"' in html
    assert 'data-testid="imports-link"' in client.get(reverse("dashboard")).content.decode()


def test_another_companys_import_page_is_404_and_signed_out_visitors_go_to_sign_in(client, world):
    url = reverse("dashboard-imports")
    assert client.get(url).status_code == 302
    assert client.login(email=world.users["member"].email, password=PASSWORD)
    assert client.get(f"{url}?company={world.b.pk}").status_code == 404
    assert client.get(f"{url}?company={world.a.pk}").status_code == 200


def test_only_owner_and_admin_are_offered_to_invite_unknown_people(client, world):
    url = reverse("dashboard-imports")
    for role, offered in [("owner", True), ("admin", True), ("manager", False), ("member", False)]:
        assert client.login(email=world.users[role].email, password=PASSWORD)
        html = client.get(url).content.decode()
        assert ('data-testid="import-invite-unknown"' in html) is offered, role
        client.logout()
