"""Small HTTP helpers shared by the public channel views: bounded bodies, problem answers.

Errors are ``application/problem+json`` (RFC 9457) like the REST API's, with per-field
``errors``: ``{"title": "Invalid request", "status": 422, "errors": {"email": ["…"]}}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, JsonResponse

PROBLEM = "application/problem+json"
TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
}


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than {limit} bytes.")
        self.limit = limit


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes (``BodyTooLarge`` past it, before reading it all).

    Reads the stream itself rather than ``request.body``, so a channel can allow more (e-mail
    with attachments) or less (webhooks) than ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge(limit)
    if hasattr(request, "_body"):
        body = request._body
    else:
        body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(limit)
    return body


def problem(
    status: int,
    detail: str = "",
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error")}
    body["status"] = status
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = JsonResponse(body, status=status, content_type=PROBLEM)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as ``{"field": ["message", …]}`` (``__all__`` for the whole input)."""
    if hasattr(exc, "error_dict"):
        return {
            ("__all__" if key == NON_FIELD_ERRORS else key): list(messages)
            for key, messages in exc.message_dict.items()
        }
    return {"__all__": list(exc.messages)}
