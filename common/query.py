"""The one way a view reads its query string through a serializer."""

from __future__ import annotations


def validated_query(request, serializer_class) -> dict:
    """``request``'s query string validated by ``serializer_class`` (400 naming the bad one).

    A plain dict, not the QueryDict: DRF reads an empty value from a QueryDict as "not sent"
    (HTML form rules), so a malformed empty ``?from=`` passed silently as no filter at all. None
    of our query serializers takes a list, so ``.dict()`` (the last value of each) loses nothing."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
