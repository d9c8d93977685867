"""What every page about one invoice shows around it: amounts, payments, credit notes, actions."""

from __future__ import annotations

from django.http import HttpRequest

from throughline.billing.documents.pdf import Formatter
from throughline.billing.forms import CreditNoteForm, PaymentForm, SendForm
from throughline.billing.models import Allocation, Invoice
from throughline.billing.services import credit_notes, documents, sending, settlement
from throughline.billing.services.dates import org_today
from throughline.core.models import AuditEntry


def detail_context(request: HttpRequest, invoice: Invoice) -> dict:
    user = request.user
    today = org_today()
    fmt = Formatter(locale=documents.locale_of(invoice), currency=invoice.currency)
    credit = (
        settlement.credit_balance(invoice.contact, invoice.currency)
        if invoice.is_open and user.can("billing.payments")
        else 0
    )
    allocations = (
        Allocation.objects.filter(invoice=invoice)
        .select_related("payment", "credit_note")
        .order_by("created_at", "id")
    )
    return {
        "invoice": invoice,
        "fmt": {
            "gross": fmt.money(invoice.gross_total),
            "paid": fmt.money(invoice.amount_paid),
            "credited": fmt.money(invoice.amount_credited),
            "due": fmt.money(invoice.amount_due),
            "prepaid": fmt.money(invoice.prepaid_amount) if invoice.prepaid_amount else "",
            "credit": fmt.money(credit) if credit else "",
            "base_gross": (
                Formatter(locale="en", currency=invoice.base_currency).money(
                    invoice.base_gross_total
                )
                if invoice.base_gross_total is not None
                and invoice.base_currency != invoice.currency
                else ""
            ),
        },
        "overdue": invoice.is_overdue(today),
        "allocations": allocations,
        "payments": invoice.payments.order_by("-created_at"),
        "credit_notes": invoice.credit_notes.order_by("created_at"),
        "left_to_credit": credit_notes.left_to_credit(invoice)
        if not invoice.is_draft and not invoice.is_credit_note
        else 0,
        "can_edit": user.can("billing.edit"),
        "can_issue": user.can("billing.issue"),
        "can_pay": user.can("billing.payments"),
        "online_payment": sending.can_pay_online(invoice),
        "payment_form": PaymentForm(
            initial={"amount": invoice.amount_due, "received_on": today, "send_receipt": True}
        ),
        "send_form": SendForm(initial={"to": invoice.contact.email}),
        "credit_form": CreditNoteForm(),
        "history": AuditEntry.objects.filter(
            object_type="billing.invoice", object_id=str(invoice.pk)
        ).order_by("-seq")[:30],
    }
