"""#15 item 10: the admin's date drill-down (date_hierarchy) at the end of the calendar is a
redirect to the unfiltered list with Django's "?e=1", as for any bad filter, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    [
        "{f}__year=9999&{f}__month=12&{f}__day=31",
        "{f}__year=9999&{f}__month=12",
        "{f}__year=9999",
        "{f}__year=0",
        "{f}__year=2026&{f}__month=13",
        "{f}__year=99999999999999999999",
    ],
)
@pytest.mark.parametrize(
    ("path", "field"),
    [("/admin/tracking/timeentry/", "started_at"), ("/admin/screenshots/screenshot/", "captured_at")],
)
def test_a_drill_down_past_the_calendar_is_refused_not_a_500(client, world, query, path, field):
    client.force_login(world.users["owner"])
    response = client.get(path + "?" + query.format(f=field))
    assert response.status_code == 302, response.content[:200]
    assert response["Location"].endswith("?e=1")


def test_a_drill_down_within_the_calendar_still_works(client, world):
    client.force_login(world.users["owner"])
    query = "started_at__year=2026&started_at__month=3&started_at__day=2"
    assert client.get("/admin/tracking/timeentry/?" + query).status_code == 200
