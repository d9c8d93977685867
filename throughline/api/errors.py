"""Every error under /api/v1/ as ``application/problem+json`` (RFC 9457).

``{"type": "about:blank", "title": "Invalid request", "status": 400, "detail": "…",
"errors": {"email": ["…"], "custom.budget": ["…"]}}`` — ``errors`` only for field problems,
keyed by the API's field names (a service's ``company`` is reported as ``company_id``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from throughline.core.access import public

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with another one."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail → ``{"field": ["msg"], "lines.0.quantity": ["msg"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "__all__" if key == "non_field_errors" else str(key)
            out.update(flatten_errors(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "__all__"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                if value:
                    out.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "__all__"] = [str(detail)]
    return out


def rename_fields(errors: dict[str, list[str]], names: dict[str, str]) -> dict[str, list[str]]:
    """Report a service's field names (``company``) under the API's (``company_id``)."""
    renamed: dict[str, list[str]] = {}
    for key, messages in errors.items():
        head, dot, rest = key.partition(".")
        api_key = names.get(head, head) + dot + rest
        renamed.setdefault(api_key, []).extend(messages)
    return renamed


def problem_body(status_code: int, detail: str, errors: dict | None = None) -> dict:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem(status_code: int, detail: str, errors: dict | None = None) -> Response:
    response = Response(problem_body(status_code, detail, errors), status=status_code)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _service_field_names(context) -> dict[str, str]:
    """Service keyword → API field name, from the view's serializer (``service_names``)."""
    view = context.get("view")
    serializer_class = getattr(view, "serializer_class", None)
    names = getattr(serializer_class, "service_names", {})
    return {service: api for api, service in names.items()}


def problem_exception_handler(exc, context):
    """DRF ``EXCEPTION_HANDLER``: any exception raised by an API view → problem response."""
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        errors = (
            {key: list(messages) for key, messages in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"__all__": list(exc.messages)}
        )
        errors = rename_fields(errors, _service_field_names(context))
        return problem(status.HTTP_400_BAD_REQUEST, "Some fields are not valid.", errors)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = exception_handler(exc, context)
    if response is None:
        if settings.DEBUG:
            return None  # Django's technical 500 page is more useful while developing.
        set_rollback()
        request = context.get("request")
        logger.exception(
            "Unhandled error in API view %s (request %s)",
            type(context.get("view")).__name__,
            getattr(request, "request_id", ""),
        )
        return problem(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"Something went wrong on our side (request id {getattr(request, 'request_id', '')}).",
        )

    if isinstance(exc, exceptions.ValidationError):
        result = problem(
            response.status_code, "Some fields are not valid.", flatten_errors(exc.detail)
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(detail, dict | list):
            result = problem(response.status_code, "Request failed.", flatten_errors(detail))
        else:
            result = problem(response.status_code, str(detail))
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            result[header] = response[header]
    return result


@public
@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under /api/v1/ that matches no route: a problem, not the staff UI's HTML page."""
    return JsonResponse(
        problem_body(404, f"No API route at {request.path}."),
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )
