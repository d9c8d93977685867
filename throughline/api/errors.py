"""Errors as ``application/problem+json`` (RFC 9457) with per-field ``errors``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail → ``{"field": ["msg"], "lines.0.quantity": ["msg"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "__all__" if key in ("non_field_errors",) else str(key)
            out.update(_flatten(value, f"{prefix}{name}" if not prefix else f"{prefix}.{name}"))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "__all__"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                if value:
                    out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "__all__"] = [str(detail)]
    return out


def problem(status_code: int, detail: str, errors: dict | None = None, **extra) -> Response:
    body = {
        "type": "about:blank",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        **extra,
    }
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        errors = (
            {k: list(v) for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"__all__": list(exc.messages)}
        )
        return problem(status.HTTP_400_BAD_REQUEST, "Some fields are not valid.", errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return problem(response.status_code, "Some fields are not valid.", _flatten(exc.detail))
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict | list):
        return problem(response.status_code, "Request failed.", _flatten(detail))
    result = problem(response.status_code, str(detail))
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            result[header] = response[header]
    return result
