"""Test-only API views (``@pytest.mark.urls("tests.api.urls_for_tests")``) beside the real ones.

They run through the real ``ApiView`` lifecycle; they only misbehave on purpose.
"""

import threading

from django.urls import include, path
from rest_framework.response import Response

from throughline.api.views import ApiView
from throughline.core.models import IdempotencyRecord
from throughline.crm import services


class Boom(ApiView):
    """Writes, then fails: the write must be undone and the key forgotten."""

    required_permissions = {"POST": "crm.edit"}

    def post(self, request):
        services.create_contact(self.actor, first_name="Doomed")
        raise RuntimeError("boom")


class Overtaken(ApiView):
    """Writes, then finds its key claimed by a newer request (as after a timeout)."""

    required_permissions = {"POST": "crm.edit"}

    def post(self, request):
        contact = services.create_contact(self.actor, first_name="Late")
        IdempotencyRecord.objects.filter(user=request.user).delete()
        return Response({"id": str(contact.pk)}, status=201)


class Slow(ApiView):
    """Writes, then waits until the test lets it answer."""

    required_permissions = {"POST": "crm.edit"}
    started = threading.Event()
    release = threading.Event()

    def post(self, request):
        contact = services.create_contact(self.actor, first_name="Slow")
        self.started.set()
        self.release.wait(timeout=20)
        return Response({"id": str(contact.pk)}, status=201)


urlpatterns = [
    path("api/v1/test/boom", Boom.as_view()),
    path("api/v1/test/overtaken", Overtaken.as_view()),
    path("api/v1/test/slow", Slow.as_view()),
    path("", include("throughline.urls")),
]
