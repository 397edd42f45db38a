"""The one base of every request-body serializer (SPEC: Conventions, "A field that the server
ignores is never silently accepted: an unknown or read-only body field is 400 naming it").

DRF drops keys a serializer does not declare, so a misspelt ``descripton`` or a ``company_id``
the endpoint does not take looked accepted while nothing happened. ``InputSerializer`` refuses
them instead, nested serializers included (attr ``items.3.colour``). ``common/tests`` walks the
OpenAPI generator's endpoints and fails for a request serializer that does not inherit it, so a
new endpoint cannot forget. Query-string serializers are not request bodies and stay as they are.

It also runs DRF's field loop itself, for a JSON object (``_check_fields``): the same field
objects, validators, ``validate_<field>`` methods and error shape, without the per-field
overhead that a sync batch pays 1,000 times (the profile: a third of a 1,000-item batch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import fields, relations, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.utils import html

# DRF's run_validation methods that begin with validate_empty_values (or only rewrite "" first):
# for such a field, an absent optional value is a SkipField and nothing else.
_PLAIN_RUN_VALIDATION = frozenset(
    {
        fields.Field.run_validation,
        fields.CharField.run_validation,
        relations.RelatedField.run_validation,
        serializers.Serializer.run_validation,
        serializers.ListSerializer.run_validation,
    }
)


class _Check(NamedTuple):
    name: str
    field: fields.Field
    validate: Any  # the serializer's validate_<name>, or None
    plain_get: bool  # get_value is DRF's dictionary.get(name, empty) for JSON input
    may_skip: bool  # absent -> SkipField when the field is optional without a default, or partial
    # run_validation is Field's own: for a value given and not null it is to_internal_value, then
    # run_validators, which does nothing when the field has no validators (UUID, date-time, choice).
    plain_run: bool
    validators: bool


def _check(serializer: serializers.Serializer, name: str, field: fields.Field) -> _Check:
    kind = type(field)
    may_skip = (
        kind.run_validation in _PLAIN_RUN_VALIDATION
        and kind.validate_empty_values is fields.Field.validate_empty_values
        and kind.get_default is fields.Field.get_default
    )
    return _Check(
        name,
        field,
        getattr(serializer, "validate_" + name, None),
        kind.get_value is fields.Field.get_value,
        may_skip,
        kind.run_validation is fields.Field.run_validation
        and kind.validate_empty_values is fields.Field.validate_empty_values,
        bool(field.validators) or kind.run_validators is not fields.Field.run_validators,
    )


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
            if not html.is_html_input(data):
                return self._check_fields(data)
        return super().to_internal_value(data)

    def _check_fields(self, data: Mapping) -> dict:
        """DRF's ``Serializer.to_internal_value`` loop for a JSON object, with what it decides
        per field once per instance (the writable fields, ``validate_<field>``, how the value
        is read and checked) and an absent optional field passed over where DRF's would raise
        SkipField."""
        checks: list[_Check] | None = self.__dict__.get("_checks")
        if checks is None:
            checks = self._checks = [_check(self, n, f) for n, f in self.fields.items() if not f.read_only]
        partial = getattr(self.root, "partial", False)
        ret: dict = {}
        errors: dict = {}
        for name, field, validate, plain_get, may_skip, plain_run, validators in checks:
            value = data.get(name, empty) if plain_get else field.get_value(data)
            if value is empty and may_skip and (partial or (not field.required and field.default is empty)):
                continue
            try:
                if plain_run and value is not empty and value is not None:
                    value = field.to_internal_value(value)
                    if validators:
                        field.run_validators(value)
                else:
                    value = field.run_validation(value)
                if validate is not None:
                    value = validate(value)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except DjangoValidationError as exc:
                errors[name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                self.set_value(ret, field.source_attrs, value)
        if errors:
            raise serializers.ValidationError(errors)
        return ret

    def run_validators(self, value):
        # DRF's first builds the read-only fields' defaults for the validators: none to run, no need.
        if self.validators:
            super().run_validators(value)
