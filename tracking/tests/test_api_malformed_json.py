"""#15 item 10: a JSON body nested thousands deep is a 400 in the standard shape on every JSON
endpoint (common.parsers.JSONParser is DRF's default parser), never a 500."""

from __future__ import annotations

import pytest

from common.parsers import MAX_JSON_DEPTH
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT])
@pytest.mark.parametrize(
    "path", ["/api/v1/time-entries", "/api/v1/time-entries/stop", "/api/v1/sync/batch", "/api/v1/me/settings"]
)
def test_json_nested_thousands_deep_is_400(world, path, body):
    api = world.api("member")
    method = api.patch if path.endswith("settings") else api.post
    response = method(path, data=body, content_type="application/json")
    assert_error(response, 400, code="parse_error")


def test_json_just_too_deep_to_be_ours_is_400_and_just_deep_enough_is_read(world):
    api = world.api("member")
    nested = "1"
    for _ in range(MAX_JSON_DEPTH):
        nested = f"[{nested}]"
    too_deep = '{"settings": [' + nested + "]}"
    assert_error(api.patch("/api/v1/me/settings", data=too_deep, content_type="application/json"), 400)
    # within the bound the body is parsed and validated as usual (here: a field error, not a parse error)
    fine = api.post("/api/v1/time-entries/stop", data='{"ended_at": [[["x"]]]}', content_type="application/json")
    assert_error(fine, 400, attr="ended_at")
