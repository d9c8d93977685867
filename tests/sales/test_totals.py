"""Proposal figures: discounts, several tax rates, options — always computed by the server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from throughline.sales.services import pricing
from throughline.sales.services import proposals as proposal_services

pytestmark = pytest.mark.django_db
D = Decimal


def test_totals_with_line_discounts_and_three_tax_rates(proposal):
    version = proposal.latest_version()
    # 3 × 950.00 at 20 %; 10 × 120.50 − 10 % at 5 %; training (0 %, zero rated) is an
    # add-on not chosen by default.
    assert [line.net_amount for line in version.lines.all()] == [
        D("2850.00"),
        D("1084.50"),
        D("400.00"),
    ]
    assert version.net_total == D("3934.50")
    assert version.tax_total == D("624.23")  # 570.00 + 54.225 → 54.23
    assert version.gross_total == D("4558.73")
    breakdown = {b["rate"]: b for b in version.totals["breakdown"]}
    assert breakdown["20.00"]["tax"] == "570.00"
    assert breakdown["5.00"]["tax"] == "54.23"
    assert "0.00" not in breakdown  # the unchosen option is not in the totals


def test_choosing_the_option_and_a_document_discount(sales_actor, proposal):
    version = proposal.latest_version()
    lines = list(version.lines.all())
    with_training = pricing.totals(lines, "GBP", selection=["training"])
    assert with_training.net == D("4334.50")
    assert {(b.category, b.rate): b.tax for b in with_training.breakdown}[("Z", D("0.00"))] == D(
        "0.00"
    )
    proposal_services.update_draft(sales_actor, version, discount_percent="10")
    version.refresh_from_db()
    # 10 % off per VAT category: 2850 → 2565 (tax 513.00), 1084.50 → 976.05 (tax 48.80)
    assert version.net_total == D("3541.05")
    assert version.tax_total == D("561.80")
    assert version.gross_total == D("4102.85")


def test_edited_lines_are_recomputed(sales_actor, proposal):
    version = proposal.latest_version()
    lines = proposal_services.line_dicts(version)
    lines[0].update(quantity="2.5", unit_price="1000", discount_percent="12.5")
    lines.append(
        {
            "description": "Travel",
            "quantity": "1",
            "unit": "trip",
            "unit_price": "333.333",
            "tax_rate": "20",
            "tax_category": "S",
            "discount_percent": "0",
            "option": "",
        }
    )
    proposal_services.update_draft(sales_actor, version, lines=lines)
    version.refresh_from_db()
    nets = [line.net_amount for line in version.lines.all()]
    assert nets == [D("2187.50"), D("1084.50"), D("400.00"), D("333.33")]
    # 20 %: 2187.50 + 333.33 = 2520.83 → tax 504.166 → 504.17 ; 5 %: 54.23
    assert version.net_total == D("3605.33")
    assert version.tax_total == D("558.40")
    assert version.gross_total == D("4163.73")


def test_totals_posted_by_a_browser_are_ignored(client_as, proposal):
    client = client_as("sales")
    version = proposal.latest_version()
    data = _form_data(version)
    data.update(
        {
            "net_total": "1.00",
            "gross_total": "1.00",
            "lines-0-net_amount": "0.01",
            "lines-0-quantity": "4",
        }
    )
    response = client.post(reverse("sales:proposal_save", args=[proposal.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    version.refresh_from_db()
    assert version.lines.first().net_amount == D("3800.00")
    assert version.net_total == D("4884.50")


def test_live_totals_are_recomputed_without_saving(client_as, proposal):
    client = client_as("sales")
    version = proposal.latest_version()
    data = _form_data(version)
    data["lines-0-quantity"] = "10"
    data["discount_percent"] = "0"
    response = client.post(
        reverse("sales:proposal_totals", args=[proposal.pk]),
        data,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="live-totals"' in body
    # 10 × 950 = 9500 (tax 1900) + 1084.50 (tax 54.23) = 12,538.73
    assert "£12,538.73" in body
    version.refresh_from_db()
    assert version.gross_total == D("4558.73")  # nothing saved


def _form_data(version) -> dict:
    lines = list(version.lines.all())
    data = {
        "title": version.proposal.title,
        "discount_percent": "0",
        "valid_until": version.valid_until.isoformat(),
        "change_note": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(lines)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        data.update(
            {
                f"lines-{i}-catalogue_item": str(line.catalogue_item_id or ""),
                f"lines-{i}-description": line.description,
                f"lines-{i}-quantity": str(line.quantity),
                f"lines-{i}-unit": line.unit,
                f"lines-{i}-unit_price": str(line.unit_price),
                f"lines-{i}-discount_percent": str(line.discount_percent),
                f"lines-{i}-tax_rate": str(line.tax_rate),
                f"lines-{i}-tax_category": line.tax_category,
                f"lines-{i}-option": line.option,
            }
        )
    return data


def test_payment_schedule_amounts_add_up(proposal):
    from throughline.sales.document import document_context

    doc = document_context(proposal.latest_version())
    amounts = [item["amount"] for item in doc["schedule_items"]]
    assert amounts == [D("2279.37"), D("2279.36")]
    assert sum(amounts) == doc["totals"].gross
