"""REST API v1: POST /leads exactly as DESIGN §6, GET /leads, GET /leads/{id}."""

from __future__ import annotations

import uuid

import pytest

from tests.intake.conftest import CheckedClient
from throughline.core.models import AuditEntry
from throughline.crm.models import ConsentRecord, Contact
from throughline.intake.models import Lead

URL = "/api/v1/leads"
CONTRACT = {"id", "contact_id", "status", "duplicate_of", "score", "owner", "sla_due_at"}


def post(client, body: dict, **headers):
    return client.post(URL, body, format="json", **headers)


def test_post_lead_answers_201_with_the_contract_fields(api, owner):
    response = post(
        api(),
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone": "020 7946 0958",
            "company": "Analytical Engines Ltd",
            "website": "analytical.example",
            "message": "Hello",
            "source": "partner-site",
            "utm": {"utm_source": "newsletter", "utm_campaign": "spring"},
            "consent": True,
            "custom": {},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert CONTRACT <= set(body)
    lead = Lead.objects.get(pk=body["id"])
    assert body["contact_id"] == str(lead.contact_id)
    assert body["status"] == "new" and body["score"] == 0 and body["duplicate_of"] is None
    assert body["tier"] == lead.tier and body["conversion_probability"] is None
    assert body["owner"] == owner.email
    assert body["sla_due_at"].endswith("Z")
    assert body["phone"] == "+442079460958" and body["source"] == "partner-site"
    assert lead.channel == "api" and lead.raw["email"] == "ada@example.com"
    consent = ConsentRecord.objects.get(contact=lead.contact)
    assert consent.purpose == "marketing" and consent.granted


def test_a_known_person_gets_the_same_contact_id(api):
    first = post(api(), {"email": "grace@example.com", "first_name": "Grace"}).json()
    second = post(api(), {"email": "GRACE@example.com", "message": "again"}).json()
    assert second["contact_id"] == first["contact_id"] and second["id"] != first["id"]
    assert Contact.objects.count() == 1


def test_a_likely_duplicate_is_named_in_duplicate_of(api):
    first = post(
        api(),
        {"first_name": "John", "last_name": "Smith", "email": "john.smith@acme.example"},
    ).json()
    second = post(
        api(),
        {"first_name": "Jon", "last_name": "Smith", "email": "jon.smith@acme.example"},
    ).json()
    assert second["contact_id"] != first["contact_id"]
    assert second["duplicate_of"] == first["contact_id"]
    assert second["duplicate_confidence"] >= 0.75


def test_idempotency_key_replays_the_first_answer_and_changes_nothing(api):
    client = api()
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    first = post(client, {"email": "once@example.com"}, **key)
    audit = AuditEntry.objects.count()
    again = post(client, {"email": "once@example.com"}, **key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1 and AuditEntry.objects.count() == audit


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "nope"}, {"email"}),
        ({"first_name": "Ada"}, {"__all__"}),
        ({"email": "a@example.com", "phone": "12"}, {"phone"}),
        ({"email": "a@example.com", "utm": "spring"}, {"utm"}),
        ({"email": "a@example.com", "consent": "yes"}, {"consent"}),
        ({"email": {"a": 1}, "first_name": ["x"]}, {"first_name", "email"}),
        ({"email": "a@example.com", "custom": {"nope": 1}}, {"custom.nope"}),
    ],
)
def test_bad_input_is_a_problem_with_field_errors_and_writes_nothing(api, body, fields):
    response = post(api(), body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert fields <= set(problem["errors"]), problem
    assert Lead.objects.count() == 0 and Contact.objects.count() == 0


def test_malformed_json_is_a_400_problem(api):
    response = api().post(URL, b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert Lead.objects.count() == 0


def test_list_and_retrieve(api):
    created = [
        post(api(), {"email": f"p{i}@example.com", "source": "ads"}).json() for i in range(3)
    ]
    post(api(), {"email": "other@example.com", "source": "seo"})
    listing = api().get(URL, {"source": "ads"}).json()
    assert {row["id"] for row in listing["results"]} == {c["id"] for c in created}
    assert listing["next"] is None
    one = api().get(f"{URL}/{created[0]['id']}")
    assert one.status_code == 200 and one.json()["id"] == created[0]["id"]
    assert api().get(f"{URL}/{uuid.uuid4()}").status_code == 404


def test_permissions_viewers_read_and_only_editors_capture(api):
    post(api(), {"email": "a@example.com"})
    assert api("viewer").get(URL).status_code == 200
    assert post(api("viewer"), {"email": "b@example.com"}).status_code == 403
    assert post(api("sales"), {"email": "c@example.com"}).status_code == 201
    assert AuditEntry.objects.filter(action="access.denied").count() == 1


def test_sales_limited_to_their_own_records_see_only_their_leads(api, org, users):
    org.sales_own_records_only = True
    org.save()
    theirs = post(api("owner"), {"email": "a@example.com"}).json()  # owned by the owner
    assert api("sales").get(f"{URL}/{theirs['id']}").status_code == 404
    assert api("sales").get(URL).json()["results"] == []


def test_anonymous_is_401():
    response = CheckedClient().post(URL, {"email": "a@example.com"}, format="json")
    assert response.status_code == 401
