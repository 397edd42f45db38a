"""The OpenAPI schema class: drf-standardized-errors' error responses, for our handler too.

drf-standardized-errors documents its error responses (400, 401, 403, 404, ...) only on views
whose exception handler *is* its own. Ours wraps it (common/exceptions.py), so the schema listed
success codes alone and every client saw 400s and 401s the schema said could not happen
(schemathesis: "undocumented status code"). The codes our handler adds on top (409, 413, 422,
503) are documented where they can happen.

Every error body is documented with SPEC's one shape, `code` a free string: the package's
per-status enums of codes were wrong for us (our services answer `wrong_password`,
`invalid_timezone`, `token_not_valid`, ... which its enums do not list). A 409 may carry
`conflicting_entry_ids` beside it (an overlap names the entries in the way).

The parts views share live here too: the signed links' `?token=`, the cursor pagination of a
view that paginates by hand, the 410 of what is used up or expired for good, and the
`Idempotency-Key` header on every signed-in POST. A client generated from the schema
(tests/test_generated_client.py, openapi-python-client) drives the API with them."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_serializer
from drf_standardized_errors.handler import exception_handler as standardized_errors_handler
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from rest_framework import serializers

from common.exceptions import exception_handler as our_handler
from common.idempotency import _VALID_KEY as VALID_IDEMPOTENCY_KEY  # the one definition of a key
from common.pagination import CursorPagination

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_WRITE_METHODS = {*_BODY_METHODS, "DELETE"}


class ErrorItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


@extend_schema_serializer(component_name="ErrorResponse")
class ErrorResponseSerializer(serializers.Serializer):
    """SPEC's one error shape; some errors add context beside it (a 409 names the conflicting
    entries, the readiness 503 lists its checks)."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error", "server_error"])
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]  # the error shape's field, not Serializer.errors


@extend_schema_serializer(component_name="ConflictResponse")
class ConflictResponseSerializer(ErrorResponseSerializer):
    """A 409: the one error shape, plus the ids of the time entries in the way when the
    conflict is an overlap (clients show or resolve them)."""

    conflicting_entry_ids = serializers.ListField(child=serializers.UUIDField(), required=False)


def gone(description: str) -> OpenApiResponse:
    """A 410 (GoneError): existed, but is used up or expired for good; asking again won't help."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


def plan_limit(description: str) -> OpenApiResponse:
    """A 402 (PlanLimitError): over the company's plan; ``attr`` names the limit (organizations.plans)."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


# The credential of a signed link of ours (common/signed_links.py): the link carries it.
SIGNED_LINK_TOKEN = OpenApiParameter(
    "token", OpenApiTypes.STR, required=True, description="The signature from the link the API gave you."
)

# What DRF's CharField takes (AutoSchema._insert_field_validators): no NUL; not only whitespace.
NO_NUL_PATTERN = "^[^\\u0000]*$"
# "Whitespace" is Python's (str.strip, which DRF trims with), not JSON Schema's \s: Python also
# strips \x1c-\x1f and \x85, and keeps \ufeff (found fuzzing: a device_id of "\x1c" is blank).
_PY_SPACE = "\\t\\n\\u000b\\f\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK_PATTERN = f"^[^\\u0000]*[^{_PY_SPACE}\\u0000][^\\u0000]*$"

# A UUID as a client writes one (uuid.UUID takes more spellings; a pattern names the usual one).
UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

# ?limit= as common.pagination reads it: anything outside 1..max_page_size is a 400.
LIMIT_SCHEMA = {"type": "integer", "minimum": 1, "maximum": CursorPagination.max_page_size}

# A view paginating by hand (not through a viewset's list) documents what common.pagination reads.
PAGINATION_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The cursor from a page's next or previous link."),
    OpenApiParameter("limit", LIMIT_SCHEMA, description="Results per page."),
]

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    pattern=VALID_IDEMPOTENCY_KEY.pattern,
    description="Replays the first answer for the same key and body for 24 hours (docs/api-conventions.md).",
)


# The codes beyond the package's defaults, and when an operation can answer with them.
EXTRA_ERROR_CODES = {
    # A wrong password or refresh token on the open auth endpoints, too.
    "401": lambda method: True,
    # Idempotency-Key (the first is still running) on POSTs, and the domain's conflicts on every
    # write: an overlap, an archived project, the last OWNER, a duplicate name, a used link.
    "409": lambda method: method in _WRITE_METHODS,
    # Limits counted in Redis (sign-in failures, per user, per IP) apply across the API.
    "429": lambda method: True,
    "413": lambda method: method in _BODY_METHODS,  # DATA_UPLOAD_MAX_MEMORY_SIZE
    "422": lambda method: method == "POST",  # Idempotency-Key reused with another body
    "503": lambda method: True,  # the database, Redis or the broker is down
}


class AutoSchema(StandardizedErrorsAutoSchema):
    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code in responses or self.view.get_exception_handler() is not our_handler:
            return super()._should_add_error_response(responses, status_code)
        if status_code in EXTRA_ERROR_CODES:
            return EXTRA_ERROR_CODES[status_code](self.method)
        if status_code == "403":
            # Roles are checked in services and views (organizations/permissions.py), which
            # the package cannot see: any signed-in operation may answer 403.
            return bool(self.view.get_authenticators()) and super()._should_add_http401_error_response()
        # Our handler formats every error as the package's does: decide as for its own.
        view = self.view
        view.get_exception_handler = lambda: standardized_errors_handler  # type: ignore[method-assign]  # restored below
        try:
            return super()._should_add_error_response(responses, status_code)
        finally:
            del view.get_exception_handler

    def _get_error_response_serializer(self, status_code: str):
        return ConflictResponseSerializer if status_code == "409" else ErrorResponseSerializer

    def _map_basic_serializer(self, serializer, direction):
        # _insert_field_validators is not told the direction; nested serializers share it.
        self._serializer_direction = direction
        return super()._map_basic_serializer(serializer, direction)

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if getattr(self, "_serializer_direction", None) != "request":
            return  # what we answer is described by its fields' types, not by input rules
        # DRF's CharField refuses a NUL character in input (ProhibitNullCharactersValidator)
        # and, unless blank is allowed, a value that is only whitespace (it trims first): say
        # so, where no pattern, format or enum says more already.
        if (
            isinstance(field, serializers.CharField)
            and not field.read_only
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & set(schema)
        ):
            blank_refused = field.trim_whitespace and not field.allow_blank
            schema["pattern"] = NOT_BLANK_PATTERN if blank_refused else NO_NUL_PATTERN

    def _get_pagination_parameters(self):
        parameters = super()._get_pagination_parameters()
        for parameter in parameters:
            if parameter["name"] == "limit" and isinstance(self._get_paginator(), CursorPagination):
                parameter["schema"] = {**parameter["schema"], **LIMIT_SCHEMA}
        return parameters

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        # common/idempotency.py keys every signed-in POST (anonymous ones are not keyed).
        if self.method == "POST" and self._should_add_http401_error_response():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters


def closed_request_bodies(result: dict, generator, request, public) -> dict:
    """A postprocessing hook: every object a request body may carry says
    ``additionalProperties: false``. The server refuses unknown body fields with a 400 naming
    them (common.serializers.InputSerializer; SPEC: Conventions), so a schema that left them
    open would promise a generated client, or a fuzzer, that extras are taken. Objects that
    declare their own ``additionalProperties`` (free-form maps: settings, metadata) keep it."""
    components = result.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def close(schema) -> None:
        if isinstance(schema, list):
            for item in schema:
                close(item)
            return
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                close(components[name])
            return
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for key in ("properties",):
            for value in schema.get(key, {}).values():
                close(value)
        for key in ("items", "allOf", "oneOf", "anyOf"):
            if key in schema:
                close(schema[key])

    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    close(media.get("schema"))
    return result
