from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """The default for every list: opaque cursors, stable under inserts (SPEC: Conventions).
    Ordered by ``-created_at`` then ``-id`` so rows created in the same instant never swap."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "limit"
    max_page_size = 200
