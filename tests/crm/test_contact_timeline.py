"""The contact page: timeline, quick actions (htmx and plain POST), consent, tasks."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from throughline.crm import services
from throughline.crm.models import Activity

HTMX = {"HX-Request": "true", "HX-Target": "timeline-panel"}


def log_url(contact, kind):
    return reverse("crm:contact_log_activity", args=[contact.pk, kind])


def test_note_added_with_htmx_comes_back_as_the_timeline_partial(client_as, make_contact):
    contact = make_contact(first_name="Ada", last_name="Lovelace")
    client = client_as("sales")

    response = client.post(
        log_url(contact, "note"), {"note-body": "Prefers calls after 3pm."}, headers=HTMX
    )

    assert response.status_code == 200
    assert "<html" not in response.text  # a partial, swapped in place
    assert 'id="timeline-panel"' in response.text
    assert "Prefers calls after 3pm." in response.text
    assert "Note added." in response.text
    note = Activity.objects.get(contact=contact)
    assert (note.kind, note.body, note.author.email) == (
        "note",
        "Prefers calls after 3pm.",
        "sam@example.com",
    )

    detail = client.get(reverse("crm:contact_detail", args=[contact.pk]))
    timeline = detail.text[detail.text.index('id="timeline"') :]
    assert "Prefers calls after 3pm." in timeline


def test_note_without_javascript_is_a_post_and_redirect(client_as, make_contact):
    contact = make_contact(first_name="Ada")
    client = client_as("owner")
    response = client.post(log_url(contact, "note"), {"note-body": "Plain form post."})
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:contact_detail", args=[contact.pk]) + "#timeline"
    page = client.get(response["Location"])
    assert "Plain form post." in page.text
    assert "Note added." in page.text


def test_empty_note_shows_the_error_and_writes_nothing(client_as, make_contact):
    contact = make_contact(first_name="Ada")
    client = client_as("owner")

    partial = client.post(log_url(contact, "note"), {"note-body": "  "}, headers=HTMX)
    assert partial.status_code == 200  # htmx swaps only 2xx; the error must show
    assert 'id="id_note-body_error"' in partial.text

    page = client.post(log_url(contact, "note"), {"note-body": ""})
    assert page.status_code == 200
    assert "<html" in page.text
    assert not Activity.objects.exists()


def test_call_and_meeting_are_logged_with_their_details(client_as, make_contact):
    contact = make_contact(first_name="Ada")
    client = client_as("owner")

    client.post(
        log_url(contact, "call"),
        {
            "call-direction": "out",
            "call-subject": "Intro call",
            "call-body": "",
            "call-occurred_at": "2025-03-04T10:30",
            "call-duration_minutes": "15",
        },
    )
    client.post(
        log_url(contact, "meeting"), {"meeting-subject": "Workshop", "meeting-body": "On site"}
    )

    call = Activity.objects.get(kind="call")
    assert call.direction == "out"
    assert call.duration_seconds == 900
    assert call.occurred_at == dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.UTC)
    assert Activity.objects.filter(kind="meeting", subject="Workshop").exists()

    page = client.get(reverse("crm:contact_detail", args=[contact.pk])).text
    assert "Intro call" in page and "outgoing, 15 min" in page
    assert "Workshop" in page


def test_call_without_subject_or_notes_is_refused_by_the_service(client_as, make_contact):
    contact = make_contact(first_name="Ada")
    response = client_as("owner").post(
        log_url(contact, "call"), {"call-direction": "in"}, headers=HTMX
    )
    assert "Write something." in response.text
    assert not Activity.objects.exists()


def test_unknown_activity_kind_is_404(client_as, make_contact):
    contact = make_contact(first_name="Ada")
    assert client_as("owner").post(log_url(contact, "email"), {}).status_code == 404
    assert client_as("owner").get(log_url(contact, "note")).status_code == 405


def test_timeline_shows_every_kind_of_entry(client_as, make_contact, actor):
    contact = make_contact(first_name="Ada", email="ada@example.com")
    services.update_contact(actor, contact, title="Countess")
    services.log_activity(actor, kind="email", contact=contact, subject="Proposal sent")
    services.create_task(actor, title="Send the contract", contact=contact)
    services.record_consent(
        actor, contact, purpose="marketing", granted=True, wording_version="3", wording="Yes, news."
    )

    page = client_as("viewer").get(reverse("crm:contact_detail", args=[contact.pk])).text

    timeline = page[page.index('id="timeline"') :]
    for text in (
        "Proposal sent",
        "Task open: Send the contract",
        "Gave consent: marketing (wording v3)",
        "Contact updated",
        "Changed: title",
        "Contact created",
    ):
        assert text in timeline
    # Consent also has its own table; the open task its own list.
    consent = page[page.index('id="consent-heading"') :]
    assert "marketing" in consent and "Granted" in consent and "v3" in consent
    # A viewer gets no forms they cannot submit.
    assert "Add note" not in page
    assert "Mark done" not in page


def test_user_typed_text_is_escaped_everywhere(client_as, make_contact, make_company, actor):
    evil = "<script>alert(1)</script>"
    company = make_company(name=f"{evil} Ltd")
    contact = make_contact(first_name=evil, last_name="<b>bold</b>", company=company, tags=[evil])
    services.log_activity(actor, kind="note", contact=contact, body=f"{evil}\nline two")
    services.create_task(actor, title=evil, contact=contact)
    client = client_as("owner")

    pages = [
        client.get(reverse("crm:contact_detail", args=[contact.pk])),
        client.get(reverse("crm:contact_list")),
        client.get(reverse("crm:contact_list"), {"q": evil}),
        client.get(reverse("crm:contact_edit", args=[contact.pk])),
        client.get(reverse("crm:contact_delete", args=[contact.pk])),
        client.get(reverse("crm:company_detail", args=[company.pk])),
        client.get(reverse("crm:company_list")),
        client.get(reverse("crm:task_list"), {"show": "all"}),
        client.post(
            reverse("crm:contact_log_activity", args=[contact.pk, "note"]),
            {"note-body": evil},
            headers=HTMX,
        ),
    ]
    for response in pages:
        assert response.status_code == 200, response.request
        # Lower-cased: names typed in one case are title-cased on save (<Script>…).
        html = response.text.lower()
        assert "<script>alert(1)</script>" not in html
        assert "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>line two" in pages[0].text
