"""/api/v1/webhooks: subscriptions and deliveries, role checks, responses checked against OpenAPI."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api import openapi
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry
from throughline.core.services import create_api_token
from throughline.integrations.models import WebhookDelivery, WebhookEndpoint


class CheckedClient(APIClient):
    def request(self, **request):
        response = super().request(**request)
        openapi.check_response(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(users):
    clients = {}

    def client(role="owner"):
        if role not in clients:
            _token, raw = create_api_token(Actor.cli(), users[role], name="test")
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return clients[role]

    return client


def test_create_read_change_delete_a_subscription(api, make_receiver, users):
    receiver = make_receiver()
    created = api().post(
        "/api/v1/webhooks",
        {"name": "Books", "url": receiver.url, "event_types": ["invoice.paid", "deal.won"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")  # shown once
    assert body["event_types"] == ["deal.won", "invoice.paid"]
    assert body["owner"] == "olivia@example.com" and body["is_active"] is True
    webhook_id = body["id"]

    listed = api().get("/api/v1/webhooks").json()
    assert [w["id"] for w in listed["results"]] == [webhook_id] and listed["next"] is None
    assert "secret" not in listed["results"][0]
    read = api().get(f"/api/v1/webhooks/{webhook_id}").json()
    assert "secret" not in read and read["url"] == receiver.url

    changed = api().patch(
        f"/api/v1/webhooks/{webhook_id}",
        {"event_types": ["*"], "owner": "adam@example.com"},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["*"] and changed.json()["owner"] == "adam@example.com"

    disabled = api().patch(f"/api/v1/webhooks/{webhook_id}", {"is_active": False}, format="json")
    assert disabled.json()["is_active"] is False and disabled.json()["disabled_at"]
    enabled = api().patch(f"/api/v1/webhooks/{webhook_id}", {"is_active": True}, format="json")
    assert enabled.json()["is_active"] is True

    rotated = api().post(
        f"/api/v1/webhooks/{webhook_id}/rotate-secret", {"overlap_hours": 2}, format="json"
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != body["secret"]
    assert rotated.json()["previous_secret_expires_at"].endswith("Z")

    assert api().delete(f"/api/v1/webhooks/{webhook_id}").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "webhook.created",
        "webhook.updated",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.secret_rotated",
        "webhook.deleted",
    } <= actions


def test_bad_input_is_a_problem_with_field_errors(api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = api().post(
        "/api/v1/webhooks",
        {
            "name": "Meta",
            "url": "http://169.254.169.254/latest",
            "event_types": ["deal.teleported"],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert set(errors) == {"url", "event_types"}
    assert errors["event_types"] == ["Unknown event: deal.teleported."]
    assert "link-local" in errors["url"][0]
    blank = api().post("/api/v1/webhooks", {"url": "https://x", "event_types": []}, format="json")
    assert set(blank.json()["errors"]) == {"name"}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", ["sales", "delivery", "billing", "viewer"])
def test_only_owners_and_admins_may_see_or_change_webhooks(api, role, make_receiver):
    denied = api(role)
    assert denied.get("/api/v1/webhooks").status_code == 403
    response = denied.post(
        "/api/v1/webhooks",
        {"name": "x", "url": make_receiver().url, "event_types": ["*"]},
        format="json",
    )
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()
    assert AuditEntry.objects.filter(action="access.denied").exists()


def test_admins_manage_webhooks(api, make_receiver):
    response = api("admin").post(
        "/api/v1/webhooks",
        {"name": "x", "url": make_receiver().url, "event_types": ["*"]},
        format="json",
    )
    assert response.status_code == 201


def test_an_idempotent_retry_creates_one_subscription(api, make_receiver):
    payload = {"name": "x", "url": make_receiver().url, "event_types": ["*"]}
    first = api().post("/api/v1/webhooks", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api().post("/api/v1/webhooks", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.count() == 1


def test_deliveries_can_be_listed_read_and_replayed(
    api, make_receiver, endpoint_for, emit, run_jobs
):
    receiver = make_receiver((500, {}, b"oops"), (200, {}, b"ok"), (200, {}, b"again"))
    endpoint = endpoint_for(receiver)
    other = endpoint_for(make_receiver(), name="Other")
    emit()
    run_jobs()

    base = f"/api/v1/webhooks/{endpoint.pk}/deliveries"
    listed = api().get(base).json()
    [item] = listed["results"]
    assert item["webhook_id"] == str(endpoint.pk) and item["status"] == "pending"
    assert item["attempt_count"] == 1 and item["last_status_code"] == 500
    assert item["event_name"] == "deal.won" and item["next_attempt_at"].endswith("Z")
    assert len(api().get(f"/api/v1/webhooks/{other.pk}/deliveries").json()["results"]) == 1
    assert api().get(f"{base}?status=failed").json()["results"] == []
    assert api().get(f"{base}?status=nope").status_code == 400

    detail = api().get(f"{base}/{item['id']}").json()
    [attempt] = detail["attempts"]
    assert attempt["response_status"] == 500 and attempt["response_excerpt"] == "oops"
    assert "Throughline-Signature" in attempt["request_headers"]
    assert detail["body"] == receiver.requests[0].body.decode()
    # a delivery is only found under its own webhook
    assert api().get(f"/api/v1/webhooks/{other.pk}/deliveries/{item['id']}").status_code == 404

    refused = api().post(f"{base}/{item['id']}/replay")
    assert refused.status_code == 400  # still being retried

    delivery = WebhookDelivery.objects.get(pk=item["id"])
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    replayed = api().post(f"{base}/{item['id']}/replay")
    assert replayed.status_code == 202
    run_jobs()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts.filter(is_replay=True).exists()

    assert api("viewer").get(base).status_code == 403
    assert api("viewer").post(f"{base}/{item['id']}/replay").status_code == 403
    assert api().get(f"{base}/not-a-uuid").status_code == 404
    assert api().get("/api/v1/webhooks/00000000-0000-0000-0000-000000000000").status_code == 404
