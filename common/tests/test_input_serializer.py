"""``InputSerializer`` runs DRF's field loop itself for a JSON object (common/serializers.py):
it must answer exactly what DRF's ``Serializer.to_internal_value`` answers, the validated data
and every error with its code, for present, absent, null and bad values, defaults, partial
updates, nested serializers, lists, sources and ``validate_<field>`` methods."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from common.fields import ClientUUIDField, ServerZoneDateTimeField
from common.serializers import InputSerializer

UUID = "0b7e4f0e-3c1e-4c6b-9a59-2f1f5b7c9d10"


class Inner(serializers.Serializer):
    n = serializers.IntegerField(min_value=0)


class Shape(serializers.Serializer):
    """Every kind of field the request bodies use, in the ways they use them."""

    id = ClientUUIDField()
    title = serializers.CharField(max_length=5, required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=["a", "b"], required=False, allow_null=True)
    count = serializers.IntegerField(min_value=1, max_value=10, required=False, allow_null=True)
    at = ServerZoneDateTimeField(required=False)
    when = serializers.DateTimeField(required=False)
    flag = serializers.BooleanField(required=False)
    price = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)
    meta = serializers.DictField(required=False)
    inner = Inner(required=False)
    renamed = serializers.CharField(source="real_name", required=False)
    hidden = serializers.HiddenField(default="h")
    shown = serializers.CharField(read_only=True)

    def validate_title(self, value):
        if value == "no":
            raise serializers.ValidationError("Not that title.", code="bad_title")
        return value.upper()


class Fast(InputSerializer, Shape):
    pass


VALUES = {
    "id": [UUID, "nope", 7, None],
    "title": ["ok", "no", "toolong", "", "  ", None, 3],
    "note": ["x", "", None],
    "kind": ["a", "c", None, ""],
    "count": [1, 0, 11, "5", "x", None, True],
    "at": ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05", "2026-01-02T03:04:05+02:00", "bad", None, 5],
    "when": ["2026-01-02T03:04:05+02:00", "2026-01-02T03:04:05"],
    "flag": [True, "true", "maybe", None],
    "price": ["1.25", "1.255", "x", 3, None],
    "tags": [["ab"], ["abcd"], "ab", None, []],
    "meta": [{"a": 1}, [], None],
    "inner": [{"n": 1}, {"n": -1}, {}, "x", None],
    "renamed": ["r", None],
}


def _outcome(serializer_class, data, partial):
    serializer = serializer_class(data=data, partial=partial)
    valid = serializer.is_valid()
    return valid, (dict(serializer.validated_data) if valid else serializer.errors)


def _bodies():
    yield {}
    yield {"id": UUID}
    for name, values in VALUES.items():
        for value in values:
            yield {"id": UUID, name: value}
    # pairs of fields together, the first values of each (a valid one and a bad one mostly)
    for (a, va), (b, vb) in itertools.combinations([(n, v[:2]) for n, v in VALUES.items()], 2):
        for x, y in itertools.product(va, vb):
            yield {"id": UUID, a: x, b: y}


@pytest.mark.parametrize("partial", [False, True])
def test_the_loop_answers_what_drf_answers(partial, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # naive date-times take the server's zone, in both
    checked = 0
    for body in _bodies():
        assert _outcome(Fast, body, partial) == _outcome(Shape, body, partial), body
        checked += 1
    assert checked > 300


def test_one_instance_checks_many_bodies_as_fresh_ones_do():
    """The sync batch checks 1,000 items with one instance (run_validation per item)."""
    fast, shape = Fast(), Shape()
    for body in _bodies():
        got, want = None, None
        try:
            got = fast.run_validation(body)
        except serializers.ValidationError as exc:
            got = exc.detail
        try:
            want = shape.run_validation(body)
        except serializers.ValidationError as exc:
            want = exc.detail
        assert got == want, body


def test_an_unknown_key_is_refused_first():
    serializer = Fast(data={"id": "bad", "colour": "red"})
    assert not serializer.is_valid()
    assert serializer.errors == {"colour": ["Unknown or read-only field: remove it."]}
    assert serializer.errors["colour"][0].code == "unknown_field"


def test_a_naive_date_time_takes_the_server_zone():
    data = Fast(data={"id": UUID, "at": "2026-01-02T03:04:05"})
    assert data.is_valid(), data.errors
    assert data.validated_data["at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # TIME_ZONE is UTC
