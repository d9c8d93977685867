"""The deposit invoice issues itself when a proposal is accepted / a contract is signed and the
event carries the payment schedule and the accepted amounts (billing/handlers.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from throughline.billing.models import Invoice
from throughline.core import events
from throughline.core.actor import Actor


@pytest.fixture
def payload(client_contact):
    return {
        "proposal_id": str(uuid.uuid4()),
        "number": "P-2025-0007",
        "contact_id": str(client_contact.pk),
        "currency": "GBP",
        "payment_schedule": {
            "kind": "installments",
            "items": [
                {"label": "On signing", "percent": "30", "due": "signing", "milestone": None},
                {"label": "On completion", "percent": "70", "due": "completion", "milestone": None},
            ],
        },
        "tax_breakdown": [
            {"category": "S", "rate": "20.00", "base": "10000.00"},
            {"category": "S", "rate": "5.00", "base": "333.33"},
        ],
    }


def emit(name, **payload):
    with transaction.atomic():
        events.emit(
            Actor.system(),
            name,
            subject_type="sales.proposal",
            subject_id=payload.get("proposal_id", "p"),
            **payload,
        )


def test_contract_signed_issues_and_sends_the_deposit_invoice(
    payload, run_jobs, smtp_server, seller
):
    emit("contract.signed", **payload)
    run_jobs()
    invoice = Invoice.objects.get()
    assert invoice.kind == Invoice.Kind.DEPOSIT and invoice.status == Invoice.Status.ISSUED
    assert invoice.source == f"sales.proposal:{payload['proposal_id']}:deposit"
    # 30% of each VAT group: 3000.00 at 20% and 100.00 at 5%
    assert invoice.net_total == Decimal("3100.00")
    assert invoice.tax_total == Decimal("605.00")
    assert invoice.buyer_reference == "P-2025-0007"
    assert [m["message"]["Subject"] for m in smtp_server.messages] == [
        f"Invoice {invoice.number} from Northwind"
    ]


def test_both_events_for_one_proposal_make_one_deposit(payload, run_jobs, seller):
    emit("proposal.accepted", **payload)
    emit("contract.signed", **payload)
    run_jobs()
    assert Invoice.objects.count() == 1


def test_a_payload_without_schedule_or_amounts_invoices_nothing(payload, run_jobs, seller):
    emit("contract.signed", **{k: v for k, v in payload.items() if k != "tax_breakdown"})
    emit("proposal.accepted", proposal_id="x", contact_id=payload["contact_id"])
    no_deposit = dict(
        payload, payment_schedule={"items": [{"percent": "100", "due": "completion"}]}
    )
    emit("contract.signed", **no_deposit)
    run_jobs()
    assert not Invoice.objects.exists()


def test_a_deposit_that_breaks_the_rules_stays_a_draft(payload, run_jobs, seller):
    seller.vat_id = seller.tax_id = ""
    seller.save()
    emit("contract.signed", **payload)
    run_jobs()
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.DRAFT and invoice.number == ""


def test_the_signing_apps_payload_shape_is_understood(payload, run_jobs, seller):
    # signing's commercial_facts(): totals as pricing.totals_json, the contract number
    facts = {k: v for k, v in payload.items() if k != "tax_breakdown"}
    facts["number"] = "C-2025-0003"
    facts["totals"] = {
        "currency": "GBP",
        "breakdown": [
            {
                "category": "S",
                "rate": "20.00",
                "lines_net": "1000.00",
                "allowance": "0.00",
                "base": "1000.00",
                "tax": "200.00",
            },
            {
                "category": "E",
                "rate": "0.00",
                "lines_net": "100.00",
                "allowance": "0.00",
                "base": "100.00",
                "tax": "0.00",
            },
        ],
    }
    emit("contract.signed", **facts)
    run_jobs()
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.net_total == Decimal("330.00") and invoice.tax_total == Decimal("60.00")
    assert invoice.buyer_reference == "C-2025-0003"


def test_an_unusable_currency_is_acknowledged_not_retried(payload, run_jobs, seller):
    emit("contract.signed", **dict(payload, currency="XYZ"))
    run_jobs()
    assert not Invoice.objects.exists()
