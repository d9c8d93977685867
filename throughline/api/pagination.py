from collections import OrderedDict

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class OpaqueCursorPagination(CursorPagination):
    """Cursor pagination answering ``{"results": [...], "next": url|null}`` (DESIGN §6)."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-created_at"

    def get_paginated_response(self, data):
        return Response(OrderedDict([("results", data), ("next", self.get_next_link())]))

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
