"""Hosted forms at /f/<slug>: plain POST (no JavaScript), iframe, JSON; spam defences."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.urls import reverse

from throughline.crm.models import ConsentRecord
from throughline.intake.channels import builder
from throughline.intake.channels import forms as intake_forms
from throughline.intake.models import Lead

pytestmark = pytest.mark.django_db


def page_url(slug="contact-us"):
    return reverse("intake_channels:form_page", args=[slug])


def token_from(html: str) -> str:
    return re.search(r'name="_token" value="([^"]+)"', html).group(1)


def answers(**extra):
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@analytical.example",
        "phone": "",
        "company": "Analytical Engines",
        "message": "We need a new website.",
    }
    data.update(extra)
    return data


def test_plain_post_without_javascript_captures_the_lead(client, contact_form):
    # given: the page as a browser without JavaScript gets it
    page = client.get(page_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert 'method="post"' in html and "<script" not in html  # nothing needs JavaScript
    # when
    response = client.post(
        page_url() + "?utm_source=newsletter",
        answers(_token=token_from(html), newsletter="on"),
        HTTP_REFERER="https://www.northwind.example/contact",
    )
    # then
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.channel, lead.source.slug) == ("form", "website")
    assert (lead.first_name, lead.last_name, lead.email) == (
        "Ada",
        "Lovelace",
        "ada@analytical.example",
    )
    assert lead.company_name == "Analytical Engines"
    assert lead.message == "We need a new website."
    assert lead.utm == {"utm_source": "newsletter"}
    assert lead.referrer == "https://www.northwind.example/contact"
    assert lead.ip == "127.0.0.1"
    assert lead.raw["form"] == "contact-us"


def test_consent_records_the_wording_version_the_visitor_saw(client, contact_form, actor):
    # given: the page is rendered with wording v1 …
    token = token_from(client.get(page_url()).content.decode())
    field = contact_form.fields.get(key="newsletter")
    v1 = field.current_wording()
    # … and staff change the wording while the visitor types
    builder.save_field(actor, contact_form, field, label="Send me news and offers.")
    assert field.current_wording().version == 2
    # when
    client.post(page_url(), answers(_token=token, newsletter="on"))
    # then: v1 — what the person agreed to — is on record, with its exact text
    consent = ConsentRecord.objects.get()
    assert (consent.purpose, consent.granted) == ("marketing", True)
    assert consent.wording_version == v1.code == "contact-us.newsletter.v1"
    assert consent.wording == "Send me the monthly newsletter. Unsubscribe any time."
    # and a fresh page offers (and records) v2
    token = token_from(client.get(page_url()).content.decode())
    client.post(page_url(), answers(_token=token, newsletter="on", email="bob@example.com"))
    assert ConsentRecord.objects.latest("recorded_at").wording_version == "contact-us.newsletter.v2"


def test_unchecked_consent_records_nothing(client, contact_form):
    token = token_from(client.get(page_url()).content.decode())
    client.post(page_url(), answers(_token=token))
    assert Lead.objects.count() == 1
    assert not ConsentRecord.objects.exists()


def test_honeypot_filled_is_refused_and_writes_nothing(client, contact_form):
    token = token_from(client.get(page_url()).content.decode())
    response = client.post(page_url(), answers(_token=token, fax_number="+1 555 0100"))
    assert response.status_code == 400
    assert "meant to stay empty" in response.content.decode()
    assert not Lead.objects.exists()


def test_too_fast_is_refused_then_accepted_after_a_human_pause(client, contact_form, actor):
    builder.update_form(actor, contact_form, min_fill_seconds=4)
    with time_machine.travel("2025-03-03 10:00:00 +0000", tick=False) as clock:
        token = token_from(client.get(page_url()).content.decode())
        clock.shift(1)
        response = client.post(page_url(), answers(_token=token))
        assert response.status_code == 400
        assert "faster than a person" in response.content.decode()
        # the answers are shown again, with a new token
        assert "Ada Lovelace" in response.content.decode()
        assert not Lead.objects.exists()
        clock.shift(10)
        assert client.post(page_url(), answers(_token=token)).status_code == 200
    assert Lead.objects.count() == 1


def test_missing_or_forged_token_is_refused(client, contact_form):
    assert client.post(page_url(), answers()).status_code == 400
    forged = token_from(client.get(page_url()).content.decode())[:-3] + "abc"
    assert client.post(page_url(), answers(_token=forged)).status_code == 400
    assert not Lead.objects.exists()


def test_rate_limit_per_ip(client, contact_form, actor):
    builder.update_form(actor, contact_form, submissions_per_hour=2)
    for n in range(2):
        token = token_from(client.get(page_url()).content.decode())
        response = client.post(page_url(), answers(_token=token, email=f"p{n}@example.com"))
        assert response.status_code == 200
    token = token_from(client.get(page_url()).content.decode())
    response = client.post(page_url(), answers(_token=token, email="p9@example.com"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert Lead.objects.count() == 2
    # another visitor (address) is not affected
    other = client.post(
        page_url(), answers(_token=token, email="p10@example.com"), REMOTE_ADDR="203.0.113.9"
    )
    assert other.status_code == 200


def test_field_errors_are_shown_on_their_fields_and_nothing_is_written(client, contact_form):
    token = token_from(client.get(page_url()).content.decode())
    response = client.post(page_url(), answers(_token=token, email="not an address", message=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="errorlist') >= 2
    assert "This field is required." in html
    assert not Lead.objects.exists()


def test_double_submit_gives_one_lead(client, contact_form):
    token = token_from(client.get(page_url()).content.decode())
    client.post(page_url(), answers(_token=token))
    client.post(page_url(), answers(_token=token))
    assert Lead.objects.count() == 1


def test_redirect_after_sending(client, contact_form, actor):
    builder.update_form(actor, contact_form, redirect_url="https://www.northwind.example/thanks")
    token = token_from(client.get(page_url()).content.decode())
    response = client.post(page_url(), answers(_token=token))
    assert response.status_code == 303
    assert response["Location"] == "https://www.northwind.example/thanks"


def test_unknown_or_closed_form_is_404(client, contact_form, actor):
    assert client.get(page_url("no-such-form")).status_code == 404
    assert client.post(page_url("no-such-form"), answers()).status_code == 404
    builder.update_form(actor, contact_form, is_active=False)
    assert client.get(page_url()).status_code == 404
    response = client.get(reverse("intake_channels:form_json", args=["contact-us"]))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_html_in_labels_and_answers_is_escaped_everywhere(client, contact_form, actor, users):
    builder.save_field(
        actor,
        contact_form,
        None,
        key="budget",
        label="<script>alert('label')</script> Budget",
        help_text="<b>in EUR</b>",
    )
    html = client.get(page_url()).content.decode()
    assert "<script>alert('label')" not in html
    assert "&lt;script&gt;alert(&#x27;label&#x27;)&lt;/script&gt; Budget" in html
    assert "&lt;b&gt;in EUR&lt;/b&gt;" in html
    token = token_from(html)
    payload = "<script>alert('xss')</script>"
    client.post(
        page_url(), answers(_token=token, message=payload, budget="<img src=x onerror=alert(1)>")
    )
    lead = Lead.objects.get()
    assert payload in lead.message  # stored as the text it was
    assert "<img src=x onerror=alert(1)>" in lead.message
    client.force_login(actor.user)
    detail = client.get(reverse("intake:lead_detail", args=[lead.pk])).content.decode()
    assert payload not in detail and "<img src=x" not in detail
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in detail


def test_iframe_variant_may_be_framed_only_by_allowed_origins(client, contact_form, actor):
    builder.update_form(actor, contact_form, allowed_origins="https://www.northwind.example")
    url = reverse("intake_channels:form_embed", args=["contact-us"])
    response = client.get(url)
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://www.northwind.example"
    )
    token = token_from(response.content.decode())
    posted = client.post(url, answers(_token=token))
    assert posted.status_code == 200 and "X-Frame-Options" not in posted
    # the normal page may not be framed
    assert client.get(page_url())["X-Frame-Options"] == "DENY"


def test_embed_snippet_token_has_no_fill_time(client, contact_form, actor):
    builder.update_form(actor, contact_form, min_fill_seconds=30)
    client.force_login(actor.user)
    snippet = client.get(reverse("intake_channels:form_embed_code", args=[contact_form.pk]))
    token = re.search(
        r"name=&quot;_token&quot; value=&quot;([^&]+)&quot;", snippet.content.decode()
    )
    client.logout()
    response = client.post(page_url(), answers(_token=token.group(1)))
    assert response.status_code == 200
    assert Lead.objects.count() == 1


# --- JSON variant ---------------------------------------------------------------------------


def json_url(slug="contact-us"):
    return reverse("intake_channels:form_json", args=[slug])


def post_json(client, body, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(json_url(), data, content_type="application/json", **headers)


def test_json_definition_and_submission(client, contact_form, actor):
    builder.update_form(actor, contact_form, allowed_origins=["https://www.northwind.example"])
    definition = client.get(json_url(), HTTP_ORIGIN="https://www.northwind.example")
    assert definition.status_code == 200
    assert definition["Access-Control-Allow-Origin"] == "https://www.northwind.example"
    body = definition.json()
    assert [f["key"] for f in body["fields"]] == [
        "full_name", "email", "phone", "company", "message", "newsletter",
    ]  # fmt: skip
    assert body["fields"][-1]["wording_version"] == "contact-us.newsletter.v1"
    response = post_json(client, {**answers(), "newsletter": True, "_token": body["token"]})
    assert response.status_code == 201, response.content
    assert response.json()["ok"] is True
    lead = Lead.objects.get(pk=response.json()["lead_id"])
    assert lead.email == "ada@analytical.example"
    assert ConsentRecord.objects.get().wording_version == "contact-us.newsletter.v1"
    # a site that is not allowed gets no CORS grant
    assert "Access-Control-Allow-Origin" not in client.get(
        json_url(), HTTP_ORIGIN="https://evil.example"
    )


def test_json_bad_input_is_answered_per_field_and_writes_nothing(client, contact_form):
    token = client.get(json_url()).json()["token"]
    malformed = post_json(client, b'{"email": ')
    assert malformed.status_code == 400
    assert malformed["Content-Type"] == "application/problem+json"
    assert "Malformed JSON" in malformed.json()["detail"]
    wrong_types = post_json(client, {**answers(), "email": ["a@b.example"], "_token": token})
    assert wrong_types.status_code == 422
    assert wrong_types.json()["errors"] == {"email": ["Must be text, a number or true/false."]}
    invalid = post_json(client, {**answers(email="nobody@", message=""), "_token": token})
    assert invalid.status_code == 422
    assert set(invalid.json()["errors"]) == {"email", "message"}
    too_big = post_json(client, {**answers(message="x" * 70_000), "_token": token})
    assert too_big.status_code == 413
    honeypot = post_json(client, {**answers(), "fax_number": "1", "_token": token})
    assert (honeypot.status_code, honeypot.json()["code"]) == (400, "honeypot")
    assert not Lead.objects.exists()


def test_json_rate_limit(client, contact_form, actor):
    builder.update_form(actor, contact_form, submissions_per_hour=1)
    token = client.get(json_url()).json()["token"]
    assert post_json(client, {**answers(), "_token": token}).status_code == 201
    token = client.get(json_url()).json()["token"]
    response = post_json(client, {**answers(email="x@example.com"), "_token": token})
    assert response.status_code == 429
    assert "Retry-After" in response


def test_required_lead_details_missing_is_a_clear_error(client, actor, org):
    intake_form = builder.create_form(
        actor,
        slug="callback",
        name="Callback",
        title="Call me",
        min_fill_seconds=0,
        starter_fields=False,
    )
    builder.save_field(actor, intake_form, None, key="full_name", label="Name")
    token = intake_forms.issue_token(intake_form)
    response = client.post(page_url("callback"), {"full_name": "Ada", "_token": token})
    assert response.status_code == 400
    assert "e-mail address or a phone number" in response.content.decode()
    assert not Lead.objects.exists()


def test_oversize_plain_post_is_413(client, contact_form):
    token = token_from(client.get(page_url()).content.decode())
    response = client.post(page_url(), answers(_token=token, message="x" * 70_000))
    assert response.status_code == 413
    assert not Lead.objects.exists()
