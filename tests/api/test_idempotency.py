import datetime as dt
import json
import threading
import uuid

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from throughline.api.idempotency import fingerprint
from throughline.core.models import AuditEntry, DomainEvent, IdempotencyRecord
from throughline.crm.models import Contact

pytestmark = pytest.mark.django_db

ADA = {"first_name": "Ada", "email": "ada@example.com"}


def post(client, payload, key, path="/api/v1/contacts"):
    return client.post(path, payload, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_replay_returns_the_first_response_and_changes_nothing(api):
    key = str(uuid.uuid4())
    first = post(api(), ADA, key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first

    again = post(api(), ADA, key)

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == first["Content-Type"]
    assert again.json() == first.json()
    assert Contact.objects.count() == 1
    assert AuditEntry.objects.filter(action="contact.created").count() == 1
    assert DomainEvent.objects.filter(name="contact.created").count() == 1


def test_the_same_json_written_differently_is_the_same_request(api):
    key = "k-1"
    post(api(), ADA, key)
    body = json.dumps({"email": "ada@example.com", "first_name": "Ada"}, indent=2)
    again = api().post(
        "/api/v1/contacts", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1


def test_same_key_other_body_is_422_and_changes_nothing(api):
    post(api(), ADA, "k-1")

    response = post(api(), {**ADA, "first_name": "Grace"}, "k-1")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert Contact.objects.get().first_name == "Ada"


def test_same_key_other_route_is_422(api):
    post(api(), ADA, "k-1")
    response = post(api(), {"name": "Initech"}, "k-1", path="/api/v1/companies")
    assert response.status_code == 422


def test_keys_are_per_user(api):
    post(api("owner"), ADA, "shared-key")
    response = post(api("admin"), {"first_name": "Grace"}, "shared-key")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Contact.objects.count() == 2


def test_client_errors_are_remembered_too(api):
    first = post(api(), {"email": "nope"}, "k-1")
    assert first.status_code == 400

    again = post(api(), {"email": "nope"}, "k-1")

    assert again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_every_post_is_covered_including_actions(api, owner):
    task = api().post("/api/v1/tasks", {"title": "Call"}, format="json").json()
    url = f"/api/v1/tasks/{task['id']}/complete"
    first = api().post(url, HTTP_IDEMPOTENCY_KEY="done-1")
    again = api().post(url, HTTP_IDEMPOTENCY_KEY="done-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert IdempotencyRecord.objects.filter(key="done-1", path=url).count() == 1


def test_refused_requests_are_not_remembered(api):
    response = post(api("viewer"), ADA, "k-1")
    assert response.status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_gets_ignore_the_key(api):
    api().get("/api/v1/contacts", HTTP_IDEMPOTENCY_KEY="k-1")
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_unusable_key_is_400(api, key):
    response = post(api(), ADA, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Contact.objects.exists()


def in_flight(user, key, payload, path="/api/v1/contacts", age=dt.timedelta(0)):
    """The record a request still running (or killed mid-way) leaves behind."""
    request = APIRequestFactory().post(path, payload, format="json")
    record = IdempotencyRecord.objects.create(
        user=user, key=key, method="POST", path=path, request_hash=fingerprint(request)
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)


def test_a_duplicate_while_the_first_is_in_flight_is_409(api, owner):
    in_flight(owner, "k-1", ADA)

    response = post(api(), ADA, "k-1")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert not Contact.objects.exists()


def test_a_claim_abandoned_by_a_crashed_request_is_taken_over(api, owner):
    # The crashed request's change rolled back with its transaction; only the claim remains.
    in_flight(owner, "k-1", ADA, age=dt.timedelta(minutes=10))

    response = post(api(), ADA, "k-1")

    assert response.status_code == 201
    assert Contact.objects.count() == 1
    assert post(api(), ADA, "k-1")["Idempotent-Replayed"] == "true"


def test_keys_expire_after_a_day(api):
    post(api(), ADA, "k-1")
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        response = post(api(), {"first_name": "Grace"}, "k-1")
    assert response.status_code == 201
    assert Contact.objects.count() == 2


@pytest.fixture
def raw_client(token_for):
    """A client without OpenAPI checks, for the test-only routes."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for('owner')}")
    return client


@pytest.mark.urls("tests.api.urls_for_tests")
def test_server_errors_roll_back_and_are_not_remembered(raw_client, caplog):
    for _attempt in range(2):
        response = post(raw_client, {}, "k-1", path="/api/v1/test/boom")
        assert response.status_code == 500
        assert response["Content-Type"] == "application/problem+json"
        assert "Idempotent-Replayed" not in response
        assert not Contact.objects.exists()
        assert not IdempotencyRecord.objects.exists()
    assert "Unhandled error in API view Boom" in caplog.text


@pytest.mark.urls("tests.api.urls_for_tests")
def test_a_request_that_lost_its_claim_undoes_its_change(raw_client):
    response = post(raw_client, {}, "k-1", path="/api/v1/test/overtaken")
    assert response.status_code == 409
    assert not Contact.objects.exists()


@pytest.mark.postgres
@pytest.mark.urls("tests.api.urls_for_tests")
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_on_postgres(raw_client, token_for):
    from tests.api.urls_for_tests import Slow

    Slow.started.clear()
    Slow.release.clear()
    outcome = {}

    def first_request():
        try:
            outcome["first"] = post(raw_client, {}, "k-1", path="/api/v1/test/slow")
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert Slow.started.wait(timeout=20)
        duplicate = post(raw_client, {}, "k-1", path="/api/v1/test/slow")
        assert duplicate.status_code == 409
    finally:
        Slow.release.set()
        thread.join(timeout=20)

    assert outcome["first"].status_code == 201
    replay = post(raw_client, {}, "k-1", path="/api/v1/test/slow")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == outcome["first"].json()
    assert Contact.objects.count() == 1
