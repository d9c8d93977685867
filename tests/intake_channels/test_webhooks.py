"""POST /hooks/leads/<source>: HMAC signatures, mapping, Facebook field_data, replays."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.intake.channels import webhooks
from throughline.intake.channels.models import WebhookDelivery
from throughline.intake.models import Lead

pytestmark = pytest.mark.django_db


def hook(slug):
    return reverse("intake_channels:lead_hook", args=[slug])


def send(client, source, payload, *, secret=None, header=None, timestamp=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    name = header or (
        webhooks.FACEBOOK_SIGNATURE_HEADER
        if source.kind == "facebook"
        else webhooks.SIGNATURE_HEADER
    )
    if secret is not False:
        headers[name] = webhooks.sign(secret or source.secret, body, timestamp)
    if timestamp is not None:
        headers[webhooks.TIMESTAMP_HEADER] = str(timestamp)
    return client.post(hook(source.slug), body, content_type="application/json", headers=headers)


def rejections():
    return AuditEntry.objects.filter(action="security.webhook_rejected")


LEAD = {
    "id": "web-1001",
    "first_name": "grace",
    "last_name": "HOPPER",
    "email": "Grace@Navy.example",
    "phone": "+44 20 7946 0018",
    "message": "Please call me back.",
    "utm": {"utm_source": "google"},
}


def test_signed_generic_payload_becomes_a_lead(client, generic_source):
    response = send(client, generic_source, LEAD)
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["leads"][0]["id"])
    assert (lead.channel, lead.source.slug) == ("webhook", "site-backend")
    assert (lead.first_name, lead.last_name) == ("Grace", "Hopper")
    assert lead.email == "Grace@navy.example"
    assert lead.phone == "+442079460018"
    assert lead.external_id == "site-backend:web-1001"
    assert lead.utm == {"utm_source": "google"}
    assert body["leads"][0]["contact_id"] == str(lead.contact_id)
    assert WebhookDelivery.objects.count() == 1
    assert not rejections().exists()


def test_mapping_reads_nested_payloads(client, generic_source, actor):
    webhooks.update_source(
        actor,
        generic_source,
        mapping={
            "email": "contact.emails.0",
            "full_name": "contact.name",
            "company": "contact.org.name",
            "message": "form.comment",
            "external_id": "submission",
            "utm.utm_campaign": "tracking.campaign",
        },
    )
    payload = {
        "submission": 77,
        "contact": {
            "name": "Katherine Johnson",
            "emails": ["kj@nasa.example"],
            "org": {"name": "NASA"},
        },
        "form": {"comment": "Orbit maths"},
        "tracking": {"campaign": "spring"},
    }
    response = send(client, generic_source, payload)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email) == (
        "Katherine",
        "Johnson",
        "kj@nasa.example",
    )
    assert (lead.company_name, lead.message) == ("NASA", "Orbit maths")
    assert lead.external_id == "site-backend:77"
    assert lead.utm == {"utm_campaign": "spring"}


@pytest.mark.parametrize(
    "case",
    ["unsigned", "forged", "wrong_format", "tampered_body"],
)
def test_bad_signatures_are_401_with_only_a_security_entry(client, generic_source, case):
    body = json.dumps(LEAD).encode()
    if case == "unsigned":
        response = send(client, generic_source, LEAD, secret=False)
    elif case == "forged":
        response = send(client, generic_source, LEAD, secret="whsec_not-the-secret")
    elif case == "wrong_format":
        response = client.post(
            hook(generic_source.slug), body, content_type="application/json",
            headers={webhooks.SIGNATURE_HEADER: "deadbeef"},
        )  # fmt: skip
    else:
        signature = webhooks.sign(generic_source.secret, body)
        response = client.post(
            hook(generic_source.slug), body.replace(b"Grace", b"Mallory"),
            content_type="application/json", headers={webhooks.SIGNATURE_HEADER: signature},
        )  # fmt: skip
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not Lead.objects.exists()
    assert not WebhookDelivery.objects.exists()
    entry = rejections().get()
    assert entry.object_id == "site-backend"
    assert entry.channel == "webhook"


def test_replayed_delivery_creates_nothing_new(client, generic_source):
    first = send(client, generic_source, LEAD)
    again = send(client, generic_source, LEAD)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["leads"] == first.json()["leads"]
    assert Lead.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_timestamped_signature_closes_the_replay_window(client, generic_source):
    now = int(time.time())
    fresh = send(client, generic_source, LEAD, timestamp=now)
    assert fresh.status_code == 201
    stale = send(client, generic_source, {**LEAD, "id": "web-2"}, timestamp=now - 3600)
    assert stale.status_code == 401
    assert "timestamp" in rejections().get().changes["reason"][1]
    # a timestamp header not covered by the signature does not verify
    body = json.dumps({**LEAD, "id": "web-3"}).encode()
    response = client.post(
        hook(generic_source.slug), body, content_type="application/json",
        headers={
            webhooks.SIGNATURE_HEADER: webhooks.sign(generic_source.secret, body),
            webhooks.TIMESTAMP_HEADER: str(now),
        },
    )  # fmt: skip
    assert response.status_code == 401
    assert Lead.objects.count() == 1


def test_rotated_secret_overlap(client, generic_source, actor):
    old = generic_source.secret
    new = webhooks.rotate_secret(actor, generic_source, dt.timedelta(hours=24))
    assert send(client, generic_source, {**LEAD, "id": "a"}, secret=old).status_code == 201
    assert send(client, generic_source, {**LEAD, "id": "b"}, secret=new).status_code == 201
    newest = webhooks.rotate_secret(actor, generic_source, dt.timedelta(0))  # leaked: stop at once
    assert send(client, generic_source, {**LEAD, "id": "c"}, secret=new).status_code == 401
    assert send(client, generic_source, {**LEAD, "id": "d"}, secret=newest).status_code == 201


def test_bad_payloads_are_answered_per_field_and_write_nothing(client, generic_source):
    malformed = send(client, generic_source, None, raw=b'{"email": "a@b.example",')
    assert malformed.status_code == 400
    assert "Malformed JSON" in malformed.json()["errors"]["__all__"][0]
    not_object = send(client, generic_source, [LEAD])
    assert not_object.status_code == 400
    wrong_type = send(client, generic_source, {**LEAD, "email": {"address": "x"}})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"] == {"email": ["Must be text."]}
    invalid = send(client, generic_source, {**LEAD, "email": "grace@", "phone": "12"})
    assert invalid.status_code == 422
    assert set(invalid.json()["errors"]) == {"email", "phone"}
    nobody = send(client, generic_source, {"first_name": "No", "message": "contact"})
    assert nobody.status_code == 422
    assert "__all__" in nobody.json()["errors"]
    too_big = send(client, generic_source, {**LEAD, "message": "x" * (300 * 1024)})
    assert too_big.status_code == 413
    assert not Lead.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_mapped_field_errors_name_the_payload_path(client, generic_source, actor):
    webhooks.update_source(actor, generic_source, mapping={"email": "contact.mail"})
    response = send(client, generic_source, {"contact": {"mail": "broken@"}})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["contact.mail"]


def test_unknown_source_is_404(client, org):
    response = client.post(hook("nobody"), b"{}", content_type="application/json")
    assert response.status_code == 404


def test_hook_rate_limit(client, generic_source, monkeypatch):
    from throughline.intake.channels.views import public

    monkeypatch.setattr(public, "HOOK_RATE", "2/m")
    assert send(client, generic_source, {**LEAD, "id": "1"}).status_code == 201
    assert send(client, generic_source, {**LEAD, "id": "2"}).status_code == 201
    limited = send(client, generic_source, {**LEAD, "id": "3"})
    assert limited.status_code == 429
    assert "Retry-After" in limited
    assert Lead.objects.count() == 2


# --- Facebook Lead Ads ----------------------------------------------------------------------

FB_LEAD = {
    "id": "444555666",
    "created_time": "2025-03-01T09:30:00+0000",
    "ad_id": "2385",
    "form_id": "9911",
    "field_data": [
        {"name": "full_name", "values": ["Margaret Hamilton"]},
        {"name": "email", "values": ["margaret@apollo.example"]},
        {"name": "phone_number", "values": ["+44 7911 123456"]},
        {"name": "company_name", "values": ["Apollo Software"]},
        {"name": "what_do_you_need?", "values": ["Flight software review"]},
    ],
}


def test_facebook_field_data_becomes_a_lead(client, facebook_source):
    response = send(client, facebook_source, FB_LEAD)
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name) == ("Margaret", "Hamilton")
    assert (lead.email, lead.phone) == ("margaret@apollo.example", "+447911123456")
    assert lead.company_name == "Apollo Software"
    assert lead.message == "What do you need?: Flight software review"
    assert lead.external_id == "facebook:444555666"
    assert lead.received_at == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert lead.utm == {"utm_ad_id": "2385", "utm_form_id": "9911"}


def test_facebook_webhook_envelope_with_several_leads(client, facebook_source):
    second = {
        **FB_LEAD,
        "id": "777",
        "field_data": [{"name": "email", "values": ["b@apollo.example"]}],
    }
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {"field": "leadgen", "value": FB_LEAD},
                    {"field": "leadgen", "value": second},
                ],
            }
        ],
    }
    response = send(client, facebook_source, payload)
    assert response.status_code == 201
    assert Lead.objects.count() == 2


def test_facebook_uses_its_own_signature_header(client, facebook_source):
    wrong_header = send(client, facebook_source, FB_LEAD, header=webhooks.SIGNATURE_HEADER)
    assert wrong_header.status_code == 401
    assert not Lead.objects.exists()


def test_facebook_bad_field_data_writes_nothing(client, facebook_source):
    bad = {**FB_LEAD, "field_data": [{"name": "email", "values": "not-a-list"}]}
    response = send(client, facebook_source, bad)
    assert response.status_code == 422
    assert response.json()["errors"] == {"field_data.0.values": ["Must be a list."]}
    bad_email = {**FB_LEAD, "field_data": [{"name": "email", "values": ["x@"]}]}
    response = send(client, facebook_source, bad_email)
    assert response.status_code == 422
    assert "field_data.email" in response.json()["errors"]
    assert not Lead.objects.exists()


def test_verification_challenge(client, facebook_source):
    ok = client.get(
        hook("facebook"),
        {"hub.mode": "subscribe", "hub.verify_token": "let-me-in", "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200
    assert ok.content == b"1158201444"
    assert ok["Content-Type"].startswith("text/plain")
    wrong = client.get(
        hook("facebook"),
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
    )
    assert wrong.status_code == 403
