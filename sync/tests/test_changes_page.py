"""sync/api/serializers.changes_page_json: the exact bytes of a page (clients parse them; the
pull's fast path must not drift by a byte from what it always wrote)."""

from __future__ import annotations

from sync.api.serializers import changes_page_json

ROWS = [
    (7, "time_entry", "0191b4a0-0000-7000-8000-000000000001", "upsert", '{"a": 1, "b": "ü"}', "2026-03-29T01:00:00Z"),
    (9, "task", "0191b4a0-0000-7000-8000-000000000002", "delete", "{}", "2026-03-29T01:00:00.000120Z"),
    (9, 'odd"name\\ü', "0191b4a0-0000-7000-8000-000000000003", "upsert", "null", "2026-03-29T01:00:01Z"),
]


def test_a_page_is_written_byte_for_byte():
    assert changes_page_json(ROWS, 9, True) == (
        b'{"changes":['
        b'{"cursor":7,"entity":"time_entry","id":"0191b4a0-0000-7000-8000-000000000001","action":"upsert",'
        b'"data":{"a": 1, "b": "\xc3\xbc"},"at":"2026-03-29T01:00:00Z"},'
        b'{"cursor":9,"entity":"task","id":"0191b4a0-0000-7000-8000-000000000002","action":"delete",'
        b'"data":{},"at":"2026-03-29T01:00:00.000120Z"},'
        b'{"cursor":9,"entity":"odd\\"name\\\\\\u00fc","id":"0191b4a0-0000-7000-8000-000000000003","action":"upsert",'
        b'"data":null,"at":"2026-03-29T01:00:01Z"}'
        b'],"next_cursor":9,"has_more":true}'
    )
    assert changes_page_json([], 12, False) == b'{"changes":[],"next_cursor":12,"has_more":false}'
