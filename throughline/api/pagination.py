"""Pagination of API lists: ``{"results": [...], "next": url|null}`` (DESIGN §6)."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


def envelope_schema(results_schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["results", "next"],
        "properties": {
            "results": results_schema,
            "next": {"type": "string", "nullable": True, "format": "uri"},
        },
    }


class OpaqueCursorPagination(CursorPagination):
    """Opaque cursors over ``-created_at``: stable while records are added, no page counts."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-created_at"

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return envelope_schema(schema)
