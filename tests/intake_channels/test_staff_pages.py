"""Staff pages: form builder (typed fields, versioned consent), embed code, sources, mailboxes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.intake.channels.models import (
    ConsentWording,
    FormField,
    InboundMailbox,
    IntakeForm,
    WebhookSource,
)

pytestmark = pytest.mark.django_db


def test_build_a_form_with_typed_fields(client_as):
    client = client_as("admin")
    response = client.post(
        reverse("intake_channels:form_create"),
        {
            "name": "Quote request",
            "slug": "quote",
            "title": "Request a quote",
            "submit_label": "Send",
            "source_slug": "website",
            "thank_you_text": "Thanks!",
            "min_fill_seconds": "3",
            "submissions_per_hour": "20",
            "is_active": "on",
            "allowed_origins": "https://www.northwind.example/\nhttps://shop.northwind.example",
        },
    )
    intake_form = IntakeForm.objects.get(slug="quote")
    assert response.status_code == 302
    assert intake_form.allowed_origins == [
        "https://shop.northwind.example",
        "https://www.northwind.example",
    ]
    assert list(intake_form.fields.values_list("key", flat=True)) == [
        "full_name",
        "email",
        "phone",
        "company",
        "message",
    ]
    # a choice field and a consent field
    field_url = reverse("intake_channels:field_create", args=[intake_form.pk])
    client.post(
        field_url,
        {"label": "Budget", "key": "budget", "kind": "choice", "choices": "< 5k\n5–20k\n> 20k"},
    )
    client.post(
        field_url,
        {
            "label": "I accept the privacy policy.",
            "key": "privacy",
            "kind": "consent",
            "required": "on",
            "consent_purpose": "privacy",
        },
    )
    budget = FormField.objects.get(key="budget")
    assert budget.choices == ["< 5k", "5–20k", "> 20k"]
    privacy = FormField.objects.get(key="privacy")
    assert privacy.current_wording().text == "I accept the privacy policy."
    # changing the wording adds version 2; v1 stays
    client.post(
        reverse("intake_channels:field_edit", args=[intake_form.pk, privacy.pk]),
        {
            "label": "I accept the privacy policy (v2025).",
            "key": "privacy",
            "kind": "consent",
            "required": "on",
            "consent_purpose": "privacy",
        },
    )
    assert list(ConsentWording.objects.filter(field=privacy).values_list("version", "text")) == [
        (2, "I accept the privacy policy (v2025)."),
        (1, "I accept the privacy policy."),
    ]
    # invalid field: a choice without options, a reserved name
    bad = client.post(field_url, {"label": "X", "key": "_token", "kind": "choice", "choices": ""})
    assert bad.status_code == 200
    assert FormField.objects.filter(form=intake_form).count() == 7
    # reorder
    client.post(
        reverse("intake_channels:field_move", args=[intake_form.pk, privacy.pk]),
        {"direction": "up"},
    )
    assert list(intake_form.fields.order_by("position").values_list("key", flat=True))[-2:] == [
        "privacy",
        "budget",
    ]
    # the public page shows the new fields
    page = client.get(reverse("intake_channels:form_page", args=["quote"])).content.decode()
    assert "I accept the privacy policy (v2025)." in page and "5–20k" in page
    assert AuditEntry.objects.filter(action__startswith="intake_form.").count() >= 9


def test_embed_page_offers_link_iframe_snippet_and_json(client_as, contact_form):
    client = client_as("sales")
    response = client.get(reverse("intake_channels:form_embed_code", args=[contact_form.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/f/contact-us/embed" in html and "&lt;iframe" in html
    assert "&lt;form method=&quot;post&quot;" in html
    assert "/f/contact-us.json" in html


def test_webhook_source_secret_shown_once_and_rotated(client_as):
    client = client_as("owner")
    response = client.post(
        reverse("intake_channels:source_create"),
        {
            "name": "Site",
            "slug": "site",
            "kind": "generic",
            "mapping": '{"email": "contact.email"}',
            "is_active": "on",
        },
    )
    source = WebhookSource.objects.get()
    assert source.mapping == {"email": "contact.email"}
    page = client.get(response["Location"]).content.decode()
    assert source.secret in page
    assert source.secret not in client.get(response["Location"]).content.decode()  # once
    client.post(reverse("intake_channels:source_rotate", args=[source.pk]))
    source.refresh_from_db()
    assert source.previous_secret and source.previous_secret_expires_at
    bad = client.post(
        reverse("intake_channels:source_edit", args=[source.pk]),
        {"name": "Site", "kind": "generic", "mapping": '{"password": "x"}', "is_active": "on"},
    )
    assert bad.status_code == 200 and "Unknown lead field" in bad.content.decode()


def test_mailbox_settings_keep_the_password_and_make_a_token(client_as, media):
    client = client_as("owner")
    data = {
        "address": "leads@northwind.example",
        "lead_source_slug": "email",
        "imap_enabled": "on",
        "imap_host": "imap.northwind.example",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_username": "leads",
        "imap_password": "s3cret",
        "imap_folder": "INBOX",
        "max_attachment_bytes": "1000000",
    }
    response = client.post(reverse("intake_channels:mailbox_create"), data)
    mailbox = InboundMailbox.objects.get()
    assert response.status_code == 302
    client.post(
        reverse("intake_channels:mailbox_edit", args=[mailbox.pk]), {**data, "imap_password": ""}
    )
    mailbox.refresh_from_db()
    assert mailbox.imap_password == "s3cret"
    page = client.get(reverse("intake_channels:mailbox_edit", args=[mailbox.pk])).content.decode()
    assert "s3cret" not in page
    assert not any("s3cret" in str(e.changes) for e in AuditEntry.objects.all())
    client.post(reverse("intake_channels:mailbox_token", args=[mailbox.pk]))
    page = client.get(reverse("intake_channels:mailbox_edit", args=[mailbox.pk])).content.decode()
    token = re.search(r"(mbx_[A-Za-z0-9_-]+)", page).group(1)
    mailbox.refresh_from_db()
    assert mailbox.hook_token_hint == token[-4:]
    assert token not in str(mailbox.hook_token_hash)


@pytest.mark.parametrize("role", ["viewer", "delivery", "billing"])
def test_configuration_needs_leads_edit(client_as, role, contact_form):
    client = client_as(role)
    for name, args in [
        ("intake_channels:form_list", []),
        ("intake_channels:form_edit", [contact_form.pk]),
        ("intake_channels:source_list", []),
        ("intake_channels:mailbox_list", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403
