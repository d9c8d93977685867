"""Invoices and payments on the contact's timeline (crm.timeline), without crm importing us."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.billing.models import Invoice, Payment
from throughline.crm.timeline import TimelineEntry, timeline_source


@timeline_source
def _invoices(contact, limit: int) -> Iterable[TimelineEntry]:
    invoices = contact.invoices.exclude(status=Invoice.Status.DRAFT).order_by("-issued_at")
    for invoice in invoices[:limit]:
        label = "Credit note" if invoice.is_credit_note else "Invoice"
        yield TimelineEntry(
            at=invoice.issued_at or invoice.created_at,
            kind="invoice",
            title=f"{label} {invoice.number} issued: {invoice.gross_total} {invoice.currency}",
            body=f"Status: {invoice.get_status_display()}",
            url=reverse("billing:invoice_detail", args=[invoice.pk]),
        )


@timeline_source
def _payments(contact, limit: int) -> Iterable[TimelineEntry]:
    for payment in contact.payments.select_related("invoice").order_by("-created_at")[:limit]:
        if payment.status == Payment.Status.FAILED:
            title = f"Payment failed: {payment.amount} {payment.currency}"
        elif payment.status == Payment.Status.REVERSED:
            title = f"Payment reversed (booked by mistake): {payment.amount} {payment.currency}"
        else:
            title = f"Payment received: {payment.amount} {payment.currency}"
        if payment.invoice_id:
            title += f" for {payment.invoice.number}"
        yield TimelineEntry(
            at=payment.created_at,
            kind="payment",
            title=title,
            body=payment.failure_reason or payment.reference,
            url=reverse("billing:payment_detail", args=[payment.pk]),
        )


@timeline_source
def _reminders(contact, limit: int) -> Iterable[TimelineEntry]:
    from throughline.billing.models import Reminder

    reminders = (
        Reminder.objects.filter(contact=contact)
        .exclude(outcome=Reminder.Outcome.SKIPPED)
        .select_related("invoice")
        .order_by("-created_at")
    )
    for reminder in reminders[:limit]:
        yield TimelineEntry(
            at=reminder.created_at,
            kind="reminder",
            title=f"Payment reminder “{reminder.step_label}” for {reminder.invoice.number}",
            body=reminder.get_outcome_display(),
            url=reverse("billing:invoice_reminders", args=[reminder.invoice_id]),
        )
