"""The lead inbox, lead detail, quick actions and manual entry."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.core.roles import Role
from throughline.crm.models import Activity, Contact
from throughline.intake.models import Lead, LeadSource
from throughline.messaging.models import OutboundMessage

XSS = "<script>alert('pwned')</script>"
INBOX = reverse("intake:inbox")


@pytest.fixture
def leads(capture, users):
    ads = LeadSource.objects.create(slug="ads", name="Google Ads", default_owner=users[Role.SALES])
    monday = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(monday, tick=False):
        old = capture(first_name="Olga", last_name="Old", email="olga@old.example").lead
    fresh = capture(first_name="Fred", last_name="Fresh", email="fred@new.example", source=ads.slug)
    return {"old": old, "fresh": fresh.lead}


def test_inbox_lists_leads_with_their_sla_clock(client_as, leads):
    response = client_as("viewer").get(INBOX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Olga Old" in html and "Fred Fresh" in html
    assert f'data-sla-due="{leads["fresh"].sla_due_at.isoformat()}"' in html
    assert "overdue" in html  # Olga's deadline passed long ago
    assert 'hx-trigger="every 5s"' in html  # new leads arrive without reloading


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"source": "ads"}, "Fred Fresh", "Olga Old"),
        ({"sla": "breached"}, "Olga Old", "Fred Fresh"),
        ({"sla": "waiting"}, "Fred Fresh", "Olga Old"),
        ({"q": "olga"}, "Olga Old", "Fred Fresh"),
        ({"owner": "me"}, "Olga Old", "Fred Fresh"),  # the owner persona owns default leads
        ({"status": "new"}, "Fred Fresh", "nobody"),
    ],
)
def test_inbox_filters(client_as, leads, query, shown, hidden):
    html = client_as("owner").get(INBOX, query).content.decode()
    assert shown in html and hidden not in html


def test_inbox_filters_possible_duplicates(client_as, capture, leads):
    capture(first_name="Olga", last_name="Olde", email="olga.olde@old.example")
    html = client_as("owner").get(INBOX, {"duplicates": "1"}).content.decode()
    assert "Olga Olde" in html and "Fred Fresh" not in html
    assert "possible duplicate" in html


def test_the_polled_partial_shows_a_lead_captured_since_the_page_loaded(client_as, capture, leads):
    client = client_as("owner")
    client.get(INBOX)
    capture(first_name="Nina", last_name="Newcomer", email="nina@example.com")
    partial = client.get(INBOX, headers={"HX-Request": "true", "HX-Target": "lead-results"})
    html = partial.content.decode()
    assert "Nina Newcomer" in html
    assert "<html" not in html and 'id="lead-results"' in html


def test_markup_in_any_field_is_escaped_in_inbox_and_detail(client_as, capture):
    lead = capture(
        first_name=XSS,
        last_name=XSS,
        email="x@example.com",
        company=XSS,
        message=XSS,
        utm={"utm_campaign": XSS},
        referrer=XSS,
    ).lead
    client = client_as("owner")
    for url in (INBOX, reverse("intake:lead_detail", args=[lead.pk])):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html, url


def test_detail_shows_the_lead_and_the_contacts_timeline(client_as, leads, actor):
    lead = leads["old"]
    from throughline.crm import services as crm

    crm.log_activity(actor, kind="note", contact=lead.contact, body="Prefers mornings")
    html = client_as("viewer").get(reverse("intake:lead_detail", args=[lead.pk])).content.decode()
    assert "Prefers mornings" in html and "Lead via api" in html
    assert "Quick actions" not in html  # viewers cannot act
    assert reverse("intake_routing:lead_history", args=[lead.pk]) in html


def test_log_call_answers_the_lead(client_as, leads):
    lead = leads["fresh"]
    client = client_as("sales")
    response = client.post(
        reverse("intake:lead_log_call", args=[lead.pk]),
        {"call-direction": "out", "call-notes": "Booked a demo", "call-duration_minutes": "7"},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_response_at is not None and lead.status == Lead.Status.CONTACTED
    call = Activity.objects.get(contact=lead.contact, kind="call")
    assert call.duration_seconds == 420 and call.direction == "out"


def test_send_email_from_a_template(client_as, leads):
    lead = leads["fresh"]
    response = client_as("sales").post(
        reverse("intake:lead_send_email", args=[lead.pk]),
        {"email-template": "lead-acknowledgement"},
    )
    assert response.status_code == 302
    assert OutboundMessage.objects.filter(source=lead.task_source).count() == 2  # ack + this
    lead.refresh_from_db()
    assert lead.first_response_at is not None


def test_reject_with_a_reason(client_as, leads):
    lead = leads["fresh"]
    client = client_as("sales")
    bad = client.post(reverse("intake:lead_reject", args=[lead.pk]), {"reject-reason": "meh"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
    response = client.post(
        reverse("intake:lead_reject", args=[lead.pk]),
        {"reject-reason": "not_a_fit", "reject-note": "Wants plumbing"},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == Lead.Status.REJECTED
    assert lead.status_reason == "Not a fit for what we offer: Wants plumbing"
    assert AuditEntry.objects.filter(action="lead.rejected").exists()


def test_viewer_cannot_act(client_as, leads):
    lead = leads["fresh"]
    response = client_as("viewer").post(
        reverse("intake:lead_reject", args=[lead.pk]), {"reject-reason": "spam"}
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_manual_entry_creates_a_lead_owned_by_whoever_typed_it(client_as, users):
    client = client_as("sales")
    form = client.get(reverse("intake:lead_create"))
    assert form.status_code == 200
    response = client.post(
        reverse("intake:lead_create"),
        {
            "first_name": "Walter",
            "last_name": "White",
            "phone": "020 7946 0111",
            "message": "Called about a kitchen refit",
            "source": "manual",
            "marketing_consent": "on",
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.channel == "manual" and lead.owner == users[Role.SALES]
    assert lead.contact.consents.get().wording_version == "staff-recorded-v1"


def test_manual_entry_errors_come_back_on_the_fields_and_write_nothing(client_as):
    response = client_as("sales").post(
        reverse("intake:lead_create"),
        {"first_name": "Walter", "email": "not-an-email", "phone": "12", "source": "manual"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "not valid" in html
    assert Lead.objects.count() == 0 and Contact.objects.count() == 0


def test_a_referral_links_the_referring_contact(client_as, make_contact):
    referrer = make_contact(first_name="Rita", last_name="Referrer", email="rita@example.com")
    client = client_as("sales")
    page = client.get(reverse("intake:lead_create"), {"referred_by": str(referrer.pk)})
    assert 'value="rita@example.com"' in page.content.decode()
    suggestions = client.get(reverse("intake:contact_suggestions"), {"referred_by": "rita"})
    assert '<option value="rita@example.com">Rita Referrer' in suggestions.content.decode()
    response = client.post(
        reverse("intake:lead_create"),
        {
            "first_name": "Neil",
            "email": "neil@example.com",
            "source": "referral",
            "referred_by": "RITA@example.com",
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get(email="neil@example.com")
    assert lead.referred_by == referrer and lead.channel == "referral"
    assert list(referrer.referrals.all()) == [lead]


def test_the_contact_page_timeline_shows_the_lead(client_as, leads):
    lead = leads["old"]
    html = (
        client_as("viewer")
        .get(reverse("crm:contact_detail", args=[lead.contact.pk]))
        .content.decode()
    )
    assert "Lead via api" in html


def test_leads_is_in_the_navigation(client_as):
    html = client_as("viewer").get(INBOX).content.decode()
    assert f'href="{INBOX}"' in html


def test_detail_lists_possible_duplicates_open_first_with_a_link_to_decide(client_as, capture):
    original = capture(first_name="Olga", last_name="Old", email="olga@old.example").contact
    lead = capture(first_name="Olga", last_name="Olde", email="olga.olde@old.example").lead
    [flag] = lead.possible_duplicates.all()
    html = client_as("sales").get(reverse("intake:lead_detail", args=[lead.pk])).content.decode()
    assert str(original) in html
    assert reverse("intake:duplicate_review", args=[flag.pk]) in html
