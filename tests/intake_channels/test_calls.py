"""Calls: POST /hooks/calls/<provider> and "Log a call" in the UI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.crm import services as crm
from throughline.crm.models import Activity
from throughline.intake.channels import webhooks
from throughline.intake.channels.models import CallLog
from throughline.intake.models import Lead

pytestmark = pytest.mark.django_db


def report(client, source, payload, secret=None):
    body = json.dumps(payload).encode()
    return client.post(
        reverse("intake_channels:call_hook", args=[source.slug]),
        body,
        content_type="application/json",
        headers={webhooks.SIGNATURE_HEADER: webhooks.sign(secret or source.secret, body)},
    )


CALL = {
    "id": "call-0001",
    "caller": "020 7946 0018",
    "caller_name": "Mary Jackson",
    "time": "2025-02-03T14:05:00Z",
    "duration": 184,
    "recording_url": "https://recordings.phonely.example/0001.mp3",
    "notes": "Asked about a maintenance plan.",
}


def test_unknown_caller_becomes_a_lead(client, calls_source):
    response = report(client, calls_source, CALL)
    assert response.status_code == 201, response.content
    log = CallLog.objects.get()
    assert (log.caller, log.duration_seconds, log.provider) == ("+442079460018", 184, "phonely")
    lead = Lead.objects.get(pk=response.json()["lead_id"])
    assert (lead.channel, lead.source.slug, lead.phone) == ("call", "phone", "+442079460018")
    assert (lead.first_name, lead.last_name) == ("Mary", "Jackson")
    assert "Asked about a maintenance plan." in lead.message
    assert "https://recordings.phonely.example/0001.mp3" in lead.message
    assert lead.received_at == dt.datetime(2025, 2, 3, 14, 5, tzinfo=dt.UTC)
    call = Activity.objects.get(kind="call")
    assert (call.contact_id, call.duration_seconds, call.direction) == (lead.contact_id, 184, "in")
    assert call.metadata["recording_url"] == CALL["recording_url"]


def test_known_caller_gets_a_call_on_the_timeline(client, calls_source, actor):
    contact = crm.create_contact(
        actor, first_name="Mary", last_name="Jackson", phone="+442079460018"
    )
    response = report(client, calls_source, CALL)
    assert response.status_code == 201
    assert response.json()["lead_id"] is None
    assert not Lead.objects.exists()
    call = Activity.objects.get(kind="call")
    assert call.contact == contact
    assert call.subject == "Call from Mary Jackson"


def test_same_call_reported_twice_is_logged_once(client, calls_source):
    assert report(client, calls_source, CALL).status_code == 201
    again = report(client, calls_source, {**CALL, "notes": "retry"})
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert CallLog.objects.count() == 1 and Lead.objects.count() == 1


def test_bad_call_reports(client, calls_source):
    missing = report(client, calls_source, {"duration": 3})
    assert missing.status_code == 422
    assert "caller" in missing.json()["errors"]
    wrong = report(
        client, calls_source, {**CALL, "duration": "long", "caller": "12", "time": "yesterday"}
    )
    assert wrong.status_code == 422
    assert set(wrong.json()["errors"]) >= {"duration", "time"}
    bad_url = report(client, calls_source, {**CALL, "recording_url": "javascript:alert(1)"})
    assert bad_url.status_code == 422
    unsigned = client.post(
        reverse("intake_channels:call_hook", args=[calls_source.slug]),
        json.dumps(CALL),
        content_type="application/json",
    )
    assert unsigned.status_code == 401
    assert AuditEntry.objects.filter(action="security.webhook_rejected").count() == 1
    assert not CallLog.objects.exists() and not Lead.objects.exists()


def test_lead_sources_are_not_call_providers(client, generic_source):
    # a lead webhook's secret must not open the calls hook (and vice versa)
    response = report(client, generic_source, CALL)
    assert response.status_code == 404


def test_log_a_call_in_the_ui(client_as, org):
    client = client_as("owner")
    page = client.get(reverse("intake_channels:call_create"))
    assert page.status_code == 200
    response = client.post(
        reverse("intake_channels:call_create"),
        {
            "caller": "+44 20 7946 0999",
            "caller_name": "Dorothy Vaughan",
            "duration_minutes": "5",
            "notes": "Wants a quote",
        },
    )
    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:lead_detail", args=[lead.pk])
    assert lead.owner.email == "olivia@example.com"  # whoever took the call
    assert Activity.objects.get(kind="call").duration_seconds == 300
    # the same caller again: a call on their timeline, no second lead
    again = client.post(
        reverse("intake_channels:call_create"), {"caller": "020 7946 0999", "notes": "Follow-up"}
    )
    assert again.status_code == 302
    assert Lead.objects.count() == 1
    assert Activity.objects.filter(kind="call").count() == 2
    invalid = client.post(reverse("intake_channels:call_create"), {"caller": "123"})
    assert invalid.status_code == 400
    assert CallLog.objects.count() == 2


def test_viewer_cannot_log_calls(client_as, org):
    client = client_as("viewer")
    assert (
        client.post(reverse("intake_channels:call_create"), {"caller": "+442079460999"}).status_code
        == 403
    )
    assert not CallLog.objects.exists()
