"""REST API v1 for invoices, credit notes and payments (DESIGN §6); every JSON answer is checked
against the OpenAPI document."""

from __future__ import annotations

import io
import uuid

import facturx
import pytest
from pypdf import PdfReader

from throughline.billing.models import Invoice, Payment
from throughline.core.models import DomainEvent

V1 = "/api/v1"
CONTRACT_FIELDS = {
    "id",
    "number",
    "status",
    "currency",
    "net_total",
    "tax_total",
    "gross_total",
    "amount_due",
    "issue_date",
    "due_date",
}


@pytest.fixture
def draft_body(client_contact):
    return {
        "contact_id": str(client_contact.pk),
        "currency": "GBP",
        "issue_date": "2025-03-14",
        "due_date": "2025-04-13",
        "notes": "Thank you",
        "lines": [
            {
                "description": "Consulting",
                "quantity": "2.5",
                "unit_price": "800",
                "tax_rate": "20",
                "discount": "10",
            },
            {"description": "Book", "quantity": 3, "unit_price": 12.5, "tax_rate": "5"},
        ],
    }


def test_create_get_issue_send_pay(api, draft_body, smtp_server, run_jobs):
    client = api("billing")
    created = client.post(f"{V1}/invoices", draft_body, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert CONTRACT_FIELDS <= set(body)
    assert body["number"] == "" and body["status"] == "draft"
    # 2.5 × 800 − 10% = 1800.00; 3 × 12.50 = 37.50; VAT 360.00 + 1.88
    assert (body["net_total"], body["tax_total"], body["gross_total"], body["amount_due"]) == (
        "1837.50",
        "361.88",
        "2199.38",
        "2199.38",
    )
    assert body["issue_date"] == "2025-03-14" and body["currency"] == "GBP"
    invoice_id = body["id"]

    fetched = client.get(f"{V1}/invoices/{invoice_id}").json()
    assert fetched == body

    issued = client.post(f"{V1}/invoices/{invoice_id}/issue")
    assert issued.status_code == 200, issued.json()
    assert issued.json()["number"] == "INV-2025-00001" and issued.json()["status"] == "issued"

    sent = client.post(f"{V1}/invoices/{invoice_id}/send", {}, format="json")
    assert sent.status_code == 200 and sent.json()["sent_at"]
    run_jobs()
    assert any(
        m["message"]["Subject"].startswith("Invoice INV-2025-00001") for m in smtp_server.messages
    )

    paid = client.post(
        f"{V1}/invoices/{invoice_id}/payments",
        {
            "amount": "1000.00",
            "currency": "GBP",
            "date": "2025-03-14",
            "method": "bank_transfer",
            "reference": "BACS 9",
        },
        format="json",
    )
    assert paid.status_code == 201, paid.json()
    assert paid.json()["amount"] == "1000.00" and paid.json()["credit"] == "0.00"
    after = client.get(f"{V1}/invoices/{invoice_id}").json()
    assert (after["status"], after["amount_due"]) == ("partially_paid", "1199.38")

    listed = client.get(f"{V1}/invoices?status=partially_paid").json()
    assert [row["id"] for row in listed["results"]] == [invoice_id] and listed["next"] is None
    payments = client.get(f"{V1}/payments").json()["results"]
    assert (
        payments[0]["invoice_id"] == invoice_id
        and payments[0]["allocations"][0]["amount"] == "1000.00"
    )


def test_documents(api, draft_body):
    client = api()
    invoice_id = client.post(f"{V1}/invoices", draft_body, format="json").json()["id"]
    client.post(f"{V1}/invoices/{invoice_id}/issue")
    pdf = client.get(f"{V1}/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    filename, xml = facturx.get_xml_from_pdf(pdf.content)
    assert filename == "factur-x.xml" and b"INV-2025-00001" in xml
    assert "INV-2025-00001" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    ubl = client.get(f"{V1}/invoices/{invoice_id}/ubl")
    assert ubl.status_code == 200 and ubl["Content-Type"] == "application/xml"
    assert facturx.xml_check_xsd(ubl.content, flavor="ubl-2.1-invoice")


def test_bad_input_is_a_problem_with_field_errors(api, draft_body):
    client = api()
    draft_body["currency"] = "XYZ"
    draft_body["lines"][0]["unit_price"] = "1.000001"
    draft_body["lines"][1]["quantity"] = "-1"
    response = client.post(f"{V1}/invoices", draft_body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert "currency" in errors
    draft_body["currency"] = "GBP"
    errors = client.post(f"{V1}/invoices", draft_body, format="json").json()["errors"]
    assert set(errors) == {"lines.0.unit_price", "lines.1.quantity"}
    unknown = client.post(
        f"{V1}/invoices", {**draft_body, "contact_id": str(uuid.uuid4())}, format="json"
    )
    assert unknown.status_code == 400 and "contact_id" in unknown.json()["errors"]
    assert not Invoice.objects.exists()


def test_issued_invoices_conflict_and_rule_failures_are_422(api, draft_body, seller):
    client = api()
    invoice_id = client.post(f"{V1}/invoices", draft_body, format="json").json()["id"]
    seller.vat_id = seller.tax_id = ""
    seller.save()
    refused = client.post(f"{V1}/invoices/{invoice_id}/issue")
    assert refused.status_code == 422
    rules = refused.json()["errors"]["rules"]
    assert any(rule.startswith("[BR-S-02]") for rule in rules)
    assert client.get(f"{V1}/invoices/{invoice_id}").json()["status"] == "draft"
    seller.vat_id = "GB123456789"
    seller.save()
    assert client.post(f"{V1}/invoices/{invoice_id}/issue").status_code == 200
    again = client.post(f"{V1}/invoices/{invoice_id}/issue")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    patch = client.patch(f"{V1}/invoices/{invoice_id}", {"notes": "changed"}, format="json")
    assert patch.status_code == 409
    assert client.delete(f"{V1}/invoices/{invoice_id}").status_code == 409


def test_drafts_can_be_patched_and_deleted(api, draft_body):
    client = api()
    invoice_id = client.post(f"{V1}/invoices", draft_body, format="json").json()["id"]
    patched = client.patch(
        f"{V1}/invoices/{invoice_id}",
        {
            "lines": [{"description": "One thing", "unit_price": "10", "tax_rate": "20"}],
            "discount_percent": "10",
        },
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["gross_total"] == "10.80" and len(patched.json()["lines"]) == 1
    assert client.delete(f"{V1}/invoices/{invoice_id}").status_code == 204
    assert client.get(f"{V1}/invoices/{invoice_id}").status_code == 404


def test_idempotency_key_makes_issue_and_payment_safe_to_retry(api, draft_body):
    client = api()
    invoice_id = client.post(f"{V1}/invoices", draft_body, format="json").json()["id"]
    first = client.post(f"{V1}/invoices/{invoice_id}/issue", HTTP_IDEMPOTENCY_KEY="issue-1")
    replay = client.post(f"{V1}/invoices/{invoice_id}/issue", HTTP_IDEMPOTENCY_KEY="issue-1")
    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    body = {"amount": "10.00", "method": "cash"}
    for _ in range(3):
        response = client.post(
            f"{V1}/invoices/{invoice_id}/payments",
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY="pay-1",
        )
        assert response.status_code == 201
    assert Payment.objects.count() == 1
    assert DomainEvent.objects.filter(name="payment.received").count() == 1


def test_credit_notes_and_refunds(api, draft_body):
    client = api("billing")
    invoice_id = client.post(f"{V1}/invoices", draft_body, format="json").json()["id"]
    client.post(f"{V1}/invoices/{invoice_id}/issue")
    client.post(f"{V1}/invoices/{invoice_id}/payments", {"amount": "2199.38"}, format="json")
    partial = client.post(
        f"{V1}/credit-notes",
        {
            "invoice_id": invoice_id,
            "reason": "Book returned",
            "lines": [
                {"description": "Book", "quantity": "1", "unit_price": "12.50", "tax_rate": "5"}
            ],
        },
        format="json",
    )
    assert partial.status_code == 201, partial.json()
    note = partial.json()
    assert note["number"] == "CN-2025-00001" and note["document_type"] == "credit_note"
    assert note["corrects_id"] == invoice_id and note["gross_total"] == "13.13"
    too_much = client.post(
        f"{V1}/credit-notes",
        {
            "invoice_id": invoice_id,
            "reason": "x",
            "lines": [
                {"description": "Book", "quantity": "9", "unit_price": "12.50", "tax_rate": "5"}
            ],
        },
        format="json",
    )
    assert too_much.status_code == 400
    assert client.get(f"{V1}/credit-notes/{note['id']}").json()["id"] == note["id"]
    assert client.get(f"{V1}/credit-notes/{note['id']}/pdf").status_code == 200
    payment = client.get(f"{V1}/payments").json()["results"][0]
    assert payment["credit"] == "13.13"  # released by the credit note
    refunded = client.post(
        f"{V1}/payments/{payment['id']}/refund",
        {"amount": "13.13", "reason": "book"},
        format="json",
    )
    assert refunded.status_code == 200 and refunded.json()["amount_refunded"] == "13.13"
    full = client.post(
        f"{V1}/credit-notes", {"invoice_id": invoice_id, "reason": "all"}, format="json"
    )
    assert full.status_code == 400  # partly credited already: lines needed


def test_payment_not_tied_to_an_invoice_is_client_credit(api, client_contact):
    response = api().post(
        f"{V1}/payments",
        {
            "contact_id": str(client_contact.pk),
            "amount": "50.00",
            "currency": "GBP",
            "method": "cash",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["credit"] == "50.00"


@pytest.mark.parametrize(
    "role, allowed",
    [("viewer", False), ("sales", False), ("delivery", False), ("billing", True), ("admin", True)],
)
def test_roles(api, draft_body, role, allowed):
    client = api(role)
    assert client.get(f"{V1}/invoices").status_code == 200  # everyone may look
    response = client.post(f"{V1}/invoices", draft_body, format="json")
    assert response.status_code == (201 if allowed else 403)
