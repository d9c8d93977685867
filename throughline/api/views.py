"""The base every API view inherits: one request lifecycle for all of /api/v1/.

An app's ``api.py`` subclasses ``ApiViewSet`` (resources) or ``ApiView`` (anything else),
declares ``required_permissions`` (api/permissions.py) and calls its services with
``self.actor``. Everything else is done here, the same for every view:

* the body size limit (413), first: Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when
  something reads ``request.body``, and a view that ignores its body never would;
* 405 for a method the view does not serve, before the permission check (which only knows the
  declared actions, and would otherwise answer 403);
* authentication (api/auth.py), the role check (audited when refused), throttling (429);
* ``Idempotency-Key`` on every POST (api/idempotency.py);
* writes (POST, PATCH, PUT, DELETE) run in one transaction, so a view that calls two services
  changes everything or nothing; a view may validate and read first, outside it
  (``prepare_write``): on SQLite every write transaction holds the one writer lock from its
  start, and other writers wait for it.

TRICKY: because of that last point, a service called from the API must use
``transaction.atomic`` without ``durable=True`` (a durable block cannot be nested).
"""

from __future__ import annotations

from django.db import transaction
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from throughline.api import idempotency
from throughline.api.errors import Conflict
from throughline.api.schema import ApiAutoSchema
from throughline.core.actor import Actor
from throughline.core.models import Channel


class ApiViewMixin:
    schema = ApiAutoSchema()
    throttle_classes = [UserRateThrottle, AnonRateThrottle]
    # PUT (full replacement) is not part of the contract: PATCH changes what it is given.
    http_method_names = ["get", "post", "patch", "delete", "head"]

    @property
    def actor(self) -> Actor:
        """Who is acting, for service calls and audit entries: the token's user, channel "api"."""
        return Actor.from_request(self.request, channel=Channel.API)

    def dispatch(self, request, *args, **kwargs):
        # DRF's APIView.dispatch, with the steps listed in the module docstring.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        claim = None
        try:
            try:
                if request.method not in SAFE_METHODS:
                    request._request.body  # noqa: B018 - raises RequestDataTooBig → 413
                handler = self._handler(request)
                self.initial(request, *args, **kwargs)
                claim, replay = idempotency.begin(request)
                if replay is not None:
                    response = replay
                elif request.method in SAFE_METHODS:
                    response = handler(request, *args, **kwargs)
                else:
                    self.prepare_write(request, *args, **kwargs)
                    response = self._write(handler, claim, request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)
            self.response = self.finalize_response(request, response, *args, **kwargs)
            # Errors raised by the handler (400, 404…) are remembered here, outside the
            # rolled-back transaction; successful answers were remembered inside it.
            idempotency.settle(claim, self.response)
            return self.response
        except BaseException:
            idempotency.release(claim)
            raise

    def _handler(self, request):
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is None:
            raise exceptions.MethodNotAllowed(request.method)
        return handler

    def prepare_write(self, request, *args, **kwargs) -> None:
        """Work a write does before its transaction (validation, reads); nothing by default."""

    def _write(self, handler, claim, request, *args, **kwargs):
        with transaction.atomic():
            response = handler(request, *args, **kwargs)
            response = self.finalize_response(request, response, *args, **kwargs)
            if not idempotency.settle(claim, response):
                raise Conflict(
                    f"A newer request with this {idempotency.HEADER} took over; "
                    "retry to see its answer."
                )
        return response


class ApiView(ApiViewMixin, APIView):
    """A non-resource endpoint (``/me``, reports)."""


class ApiViewSet(ApiViewMixin, GenericViewSet):
    """A resource; add DRF's mixins or write ``list``/``create``/… yourself."""
