from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class CursorPagination(pagination.CursorPagination):
    """The default for every list: opaque cursors, stable under inserts (SPEC: Conventions).
    Ordered by ``-created_at`` then ``-id`` so rows created in the same instant never swap."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        # DRF quietly falls back to the default page for ?limit=abc or ?limit=0; a client that
        # sent a malformed limit gets told instead (400 naming it), as for every other parameter.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= self.max_page_size:
            raise ValidationError({"limit": [f"A whole number from 1 to {self.max_page_size}."]})
        return limit

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
