"""The one base of every request-body serializer (SPEC: Conventions, "A field that the server
ignores is never silently accepted: an unknown or read-only body field is 400 naming it").

DRF drops keys a serializer does not declare, so a misspelt ``descripton`` or a ``company_id``
the endpoint does not take looked accepted while nothing happened. ``InputSerializer`` refuses
them instead, nested serializers included (attr ``items.3.colour``). ``common/tests`` walks the
OpenAPI generator's endpoints and fails for a request serializer that does not inherit it, so a
new endpoint cannot forget. Query-string serializers are not request bodies and stay as they are."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail


class InputSerializer(serializers.Serializer):
    """A request body: every key must be one of its writable fields."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = self.__dict__.get("_writable_names")
            if writable is None:  # once per instance: a sync batch checks 1,000 items with one
                writable = self._writable_names = frozenset(n for n, f in self.fields.items() if not f.read_only)
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                # Only this error: the rest of the body is not worth checking when the client
                # and the server disagree about its shape (PATCH {} stays valid: no keys).
                raise serializers.ValidationError(
                    {
                        key: [ErrorDetail("Unknown or read-only field: remove it.", code="unknown_field")]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)
