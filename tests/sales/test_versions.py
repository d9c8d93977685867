"""Sent versions are frozen; a change is a new version; the diff between versions is readable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from throughline.core.models import DomainEvent
from throughline.crm import services as crm_services
from throughline.sales.services import proposals as proposal_services
from throughline.sales.services.diff import diff_versions, word_diff

pytestmark = pytest.mark.django_db


def test_a_sent_version_is_frozen_with_the_parties_of_that_moment(
    actor, sales_actor, sent_proposal, client_contact
):
    v1 = sent_proposal.latest_version()
    assert v1.status == "sent" and v1.parties["company"]["name"] == "Initech"
    with pytest.raises(ValidationError):
        proposal_services.update_draft(sales_actor, v1, discount_percent="5")
    crm_services.update_company(actor, client_contact.company, name="Initech Global")
    v1.refresh_from_db()
    assert v1.parties["company"]["name"] == "Initech"  # the snapshot did not move

    v2 = proposal_services.revise_proposal(sales_actor, sent_proposal, note="Client asked")
    assert v2.number == 2 and v2.status == "draft"
    assert v2.parties["company"]["name"] == "Initech Global"
    assert DomainEvent.objects.filter(name="proposal.revised").get().payload["version"] == 2
    # Revising again while a draft exists returns that draft.
    assert proposal_services.revise_proposal(sales_actor, sent_proposal).pk == v2.pk

    proposal_services.send_proposal(sales_actor, sent_proposal)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == ("superseded", "sent")
    assert sent_proposal.client_version() == v2


def test_the_diff_lists_lines_prices_totals_and_text(sales_actor, sent_proposal):
    v1 = sent_proposal.latest_version()
    v2 = proposal_services.revise_proposal(sales_actor, sent_proposal)
    lines = proposal_services.line_dicts(v2)
    lines[0]["unit_price"] = "900"  # consulting cheaper
    del lines[1]  # licences dropped
    lines.append(
        {
            "description": "Support retainer",
            "quantity": "1",
            "unit": "month",
            "unit_price": "250",
            "tax_rate": "20",
            "tax_category": "S",
            "discount_percent": "0",
            "option": "",
        }
    )
    content = {
        "sections": [
            {
                "title": "Introduction",
                "body": "<p>Dear {{ contact.first_name }}, here is the revised plan.</p>",
            },
            {
                "title": "Approach",
                "body": "<p>We start with a <strong>discovery</strong> workshop.</p>",
            },
        ],
        "out_of_scope": ["Hardware", "Data migration"],
    }
    proposal_services.update_draft(sales_actor, v2, lines=lines, content=content)
    v2.refresh_from_db()
    diff = diff_versions(v1, v2)

    kinds = {(c.kind, c.description) for c in diff.lines}
    assert ("changed", "Consulting day") in kinds
    assert ("removed", "Analytics licence") in kinds
    assert ("added", "Support retainer") in kinds
    changed = next(c for c in diff.lines if c.kind == "changed")
    assert ("Unit price", "£950.00", "£900.00") in changed.fields
    assert ("Amount", "£2,850.00", "£2,700.00") in changed.fields
    assert ("Total", "£4,558.73", "£3,540.00") in diff.totals
    scope = next(c for c in diff.lists if c.label == "Out of scope")
    assert scope.added == ["Data migration"] and scope.removed == []
    intro = next(t for t in diff.texts if t.label == "Introduction")
    assert "<ins>" in intro.html and "revised" in intro.html and "<del>" in intro.html


def test_word_diff_escapes_what_it_shows():
    html = word_diff("price <b>100</b>", "price <script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.startswith("price ")


def test_diff_and_version_pages(client_as, sales_actor, sent_proposal):
    proposal_services.revise_proposal(sales_actor, sent_proposal)
    client = client_as("sales")
    page = client.get(reverse("sales:proposal_diff", args=[sent_proposal.pk]) + "?from=1&to=2")
    assert page.status_code == 200
    assert "No differences" in page.content.decode()
    assert (
        client.get(reverse("sales:proposal_version", args=[sent_proposal.pk, 1])).status_code == 200
    )
    assert (
        client.get(
            reverse("sales:proposal_diff", args=[sent_proposal.pk]) + "?from=1&to=9"
        ).status_code
        == 404
    )
