"""The one way a view reads its query string through a serializer, and the range every date
and time a client sends in a query (or a report's body) must fall in."""

from __future__ import annotations

from datetime import date, datetime

from rest_framework import serializers

# Wide enough for "since the epoch" and for any real report, narrow enough that a day or a
# week added to it, or a time zone applied, can never overflow Python's dates (year 1 to 9999):
# the day after 9999-12-31 was a 500 in every report. No entry exists outside 2000 .. 2100.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def check_date_range(values: dict) -> None:
    """400 naming every date or time in ``values`` outside EARLIEST_DATE .. LATEST_DATE."""
    errors = {}
    for name, value in values.items():
        if isinstance(value, date):  # a datetime is a date too
            day = value.date() if isinstance(value, datetime) else value
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                errors[name] = [f"Must be between {EARLIEST_DATE} and {LATEST_DATE}."]
    if errors:
        raise serializers.ValidationError(errors, code="invalid")


def validated_query(request, serializer_class) -> dict:
    """``request``'s query string validated by ``serializer_class`` (400 naming the bad one),
    every date and time in it within EARLIEST_DATE .. LATEST_DATE.

    A plain dict, not the QueryDict: DRF reads an empty value from a QueryDict as "not sent"
    (HTML form rules), so a malformed empty ``?from=`` passed silently as no filter at all. None
    of our query serializers takes a list, so ``.dict()`` (the last value of each) loses nothing."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    check_date_range(serializer.validated_data)
    return serializer.validated_data
