"""Every error under /api/v1/ is ``application/problem+json`` (RFC 9457)."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import override_settings
from rest_framework.throttling import UserRateThrottle

from throughline.api.errors import problem_exception_handler
from throughline.core.actor import Actor
from throughline.crm import services
from throughline.crm.api import TaskViewSet
from throughline.crm.models import Contact

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_route_is_404(api, method):
    response = getattr(api(), method)("/api/v1/no-such-thing/42")
    assert_problem(response, 404)


def test_unknown_route_is_404_even_without_a_token(anonymous):
    assert_problem(anonymous.get("/api/v1/nope"), 404)


def test_trailing_slash_is_not_a_route(api):
    assert_problem(api().get("/api/v1/contacts/"), 404)


def test_unsupported_method_is_405_with_allow(api):
    response = api().put("/api/v1/contacts", {}, format="json")
    assert_problem(response, 405)
    assert response["Allow"] == "GET, POST, HEAD"


def test_malformed_json_is_400(api):
    response = api().post(
        "/api/v1/contacts", '{"first_name": "Ada",', content_type="application/json"
    )
    assert_problem(response, 400)
    assert not Contact.objects.exists()


def test_other_media_types_are_415(api):
    response = api().post("/api/v1/contacts", {"first_name": "Ada"})  # multipart form
    assert_problem(response, 415)
    assert not Contact.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversize_body_is_413(api):
    response = api().post(
        "/api/v1/contacts", {"first_name": "Ada", "notes": "x" * 2000}, format="json"
    )
    body = assert_problem(response, 413)
    assert "1000 bytes" in body["detail"]
    assert not Contact.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversize_body_is_413_even_where_the_view_ignores_the_body(api, owner):
    task = services.create_task(Actor.cli(owner), title="Call")
    response = api().post(
        f"/api/v1/tasks/{task.pk}/complete", {"padding": "x" * 2000}, format="json"
    )
    assert_problem(response, 413)
    task.refresh_from_db()
    assert task.done_at is None


def test_service_errors_are_reported_under_api_field_names():
    # A service speaks of "company"; the API client sent "company_id".
    exc = DjangoValidationError({"company": "This company is archived.", "custom.x": "Bad."})
    response = problem_exception_handler(exc, {"view": TaskViewSet()})
    assert response.status_code == 400
    assert response.data["errors"] == {
        "company_id": ["This company is archived."],
        "custom.x": ["Bad."],
    }


def test_field_errors_use_api_names(api):
    body = assert_problem(
        api().post("/api/v1/tasks", {"title": "x", "company_id": "bad"}, format="json"), 400
    )
    assert list(body["errors"]) == ["company_id"]


def test_too_many_requests_is_429_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    client = api()
    for _ in range(3):
        assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/me")
    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0


def test_forbidden_is_403_problem(api):
    body = assert_problem(api("viewer").delete("/api/v1/contacts/x"), 403)
    assert "Delete contacts" in body["detail"]


def test_request_id_is_echoed(api):
    response = api().get("/api/v1/me", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
