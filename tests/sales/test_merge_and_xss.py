"""Merge fields are filled from CRM data; nothing anyone types can put markup on a page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.sales.conftest import template_content
from throughline.core.actor import Actor
from throughline.crm import services as crm_services
from throughline.sales.content import clean_content
from throughline.sales.merge import check_merge_source, merge_context, render_html
from throughline.sales.services import comments, templates
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


def test_merge_fields_come_from_contact_company_deal_owner_and_organization(
    actor, sales_actor, items, client_contact, org
):
    content = template_content(items)
    content["sections"] = [
        {
            "title": "Parties",
            "body": "<p>{{ contact.full_name }} ({{ contact.email }}) at {{ company.name }}, "
            "VAT {{ company.vat_id }}; deal {{ deal.title }} worth {{ deal.value }}; "
            "your contact {{ owner.name }} &lt;{{ owner.email }}&gt; at "
            "{{ organization.legal_name }}; proposal {{ proposal.number }} v{{ proposal.version }}.</p>",
        }
    ]
    template = templates.create_template(actor, name="Merge", currency="GBP", content=content)
    templates.approve_version(actor, template.versions.get())
    deal = pipeline_services.create_deal(
        sales_actor, title="Rollout", contact=client_contact, value="9999.5", currency="GBP"
    )
    proposal = proposal_services.create_proposal(sales_actor, deal, template)
    html = proposal.latest_version().rendered["sections"][0]["html"]
    assert html == (
        "<p>Peter Gibbons (peter@initech.example) at Initech, VAT GB123456789; deal Rollout "
        "worth £9,999.50; your contact Sam &lt;sam@example.com&gt; at Northwind Consulting Ltd; "
        f"proposal {proposal.number} v1.</p>"
    )


def test_a_missing_value_renders_empty_and_bad_syntax_is_refused(actor, items):
    assert render_html("<p>Hi {{ contact.nickname }}!</p>", merge_context({})) == "<p>Hi !</p>"
    content = template_content(items)
    content["sections"][0]["body"] = "<p>{% if contact.first_name %}Hi{% endif</p>"
    with pytest.raises(ValidationError) as exc:
        clean_content(content, with_lines=True)
    assert "sections.0.body" in exc.value.message_dict


@pytest.mark.parametrize(
    "source",
    [
        "{% debug %}",
        "{% include 'base.html' %}",
        "{% load static %}",
        "{% url 'sales:deal_board' %}",
        "{% csrf_token %}",
    ],
)
def test_dangerous_template_tags_are_refused(source):
    with pytest.raises(ValidationError):
        check_merge_source(source)
    assert "could not be filled in" in render_html(source, merge_context({}))


def test_template_sections_are_sanitized_when_saved(actor, items):
    content = template_content(items)
    content["sections"][0]["body"] = f'<p>Hello</p>{SCRIPT}{IMG}<a href="javascript:alert(1)">x</a>'
    content["terms"] = f"<p>Terms</p>{SCRIPT}"
    template = templates.create_template(actor, name="XSS", currency="GBP", content=content)
    stored = template.versions.get().content
    assert "<script" not in stored["sections"][0]["body"]
    assert "onerror" not in stored["sections"][0]["body"]
    assert "javascript:" not in stored["sections"][0]["body"]
    assert "<script" not in stored["terms"]


def test_crm_values_are_escaped_inside_merged_text(actor, sales_actor, approved_template):
    company = crm_services.create_company(actor, name=f"Evil {SCRIPT} Corp")
    contact = crm_services.create_contact(
        actor,
        first_name="<b onmouseover=alert(1)>Eve</b>",
        email="eve@evil.example",
        company=company,
    )
    deal = pipeline_services.create_deal(
        sales_actor, title=f"Deal {IMG}", contact=contact, currency="GBP"
    )
    proposal = proposal_services.create_proposal(sales_actor, deal, approved_template)
    html = proposal.latest_version().rendered["sections"][0]["html"]
    assert_no_markup_from_users(html)  # shown as text, not run


def _xss_proposal(sales_actor, proposal, media):
    version = proposal.latest_version()
    lines = proposal_services.line_dicts(version)
    lines[0]["description"] = f"Consulting {SCRIPT} {IMG}"
    proposal_services.update_draft(
        sales_actor,
        version,
        lines=lines,
        content={
            "in_scope": [f"Scope {SCRIPT}"],
            "sections": [{"title": f"Intro {IMG}", "body": f"<p>Body</p>{SCRIPT}"}],
        },
    )
    comments.add_comment(sales_actor, proposal, body=f"Team says {SCRIPT}")
    comments.add_comment(
        Actor.system(label="client"),
        proposal,
        body=f"Client says {IMG}",
        client=True,
        client_name=f"Peter {SCRIPT}",
    )


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def assert_no_markup_from_users(body: str):
    parser = _Elements()
    parser.feed(body)
    handlers = [(t, a) for t, a in parser.found for name in a if name.startswith("on")]
    assert handlers == []
    assert not [a for t, a in parser.found if t == "img" and a.get("src") == "x"]
    assert not [s for s in parser.scripts if "alert" in s]
    assert not [a for t, a in parser.found if "javascript:" in (a.get("href") or "")]
    # What was typed is still there, as text.
    assert "&lt;script&gt;" in body


def test_staff_page_escapes_sections_lines_scope_and_comments(
    client_as, sales_actor, proposal, media
):
    _xss_proposal(sales_actor, proposal, media)
    body = (
        client_as("sales")
        .get(reverse("sales:proposal_detail", args=[proposal.pk]))
        .content.decode()
    )
    assert_no_markup_from_users(body)


def test_client_page_escapes_everything_too(client, sales_actor, proposal, media):
    _xss_proposal(sales_actor, proposal, media)
    proposal_services.send_proposal(sales_actor, proposal)
    from throughline.core import public_tokens

    raw = public_tokens.issue_token("proposal", proposal, __import__("datetime").timedelta(days=1))
    body = client.get(reverse("sales_portal:proposal", args=[raw])).content.decode()
    assert_no_markup_from_users(body)
    assert "Client says" in body and "Team says" in body
