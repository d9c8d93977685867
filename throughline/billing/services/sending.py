"""Getting invoices to clients: the e-mail with the Factur-X PDF, the client link, view tracking.

The client link (``/c/<token>/invoice``) is a magic link (core.public_tokens) scoped to one
invoice; a fresh one goes into every e-mail. Views of the client page are counted, and
``invoice.viewed`` is emitted on the first view and then at most once an hour (a client
reloading the page is one view, not a stream of events).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from throughline.billing.documents.pdf import Formatter
from throughline.billing.models import Invoice, InvoiceDocument
from throughline.billing.services import documents
from throughline.billing.services.errors import InvoiceStateError
from throughline.core import audit_log, events, public_tokens
from throughline.core.actor import Actor
from throughline.crm.normalize import normalize_email
from throughline.messaging.models import Kind, OutboundMessage
from throughline.messaging.services import queue_email

TOKEN_SCOPE = "invoice"  # noqa: S105 - a link scope, not a secret
LINK_MIN_DAYS = 90
LINK_AFTER_DUE_DAYS = 180
VIEW_EVENT_EVERY = dt.timedelta(hours=1)


def client_url(raw_token: str) -> str:
    return settings.BASE_URL + reverse("billing_portal:invoice", args=[raw_token])


def new_client_link(invoice: Invoice) -> str:
    """A fresh magic link to the client page (valid past the due date, for late payers)."""
    now = timezone.now()
    expires = now + dt.timedelta(days=LINK_MIN_DAYS)
    if invoice.due_date:
        due = dt.datetime.combine(invoice.due_date, dt.time(), tzinfo=dt.UTC)
        expires = max(expires, due + dt.timedelta(days=LINK_AFTER_DUE_DAYS))
    return client_url(public_tokens.issue_token(TOKEN_SCOPE, invoice, expires_at=expires))


@transaction.atomic
def create_client_link(actor: Actor, invoice: Invoice) -> str:
    """A new client link for staff to pass on (shown once: only its hash is kept)."""
    if invoice.is_draft:
        raise InvoiceStateError("Drafts have no client page.")
    url = new_client_link(invoice)
    audit_log.record(actor, "invoice.link_created", invoice)
    return url


def _greeting(invoice: Invoice) -> str:
    buyer = invoice.buyer or {}
    name = buyer.get("contact_name") or buyer.get("name") or invoice.contact.full_name
    return (name or "there").split(" ")[0] if name else "there"


def can_pay_online(invoice: Invoice) -> bool:
    from throughline.billing.gateways import online_gateway

    return invoice.is_open and online_gateway() is not None


@transaction.atomic
def send_invoice(
    actor: Actor, invoice: Invoice, *, to: str = "", message: str = ""
) -> OutboundMessage:
    """E-mail the issued invoice (or credit note) with its Factur-X PDF and a client link."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("contact", "corrects")
        .get(pk=invoice.pk)
    )
    if invoice.is_draft:
        raise InvoiceStateError("Issue the invoice before sending it.")
    recipient = (to or "").strip() or invoice.contact.email or (invoice.buyer or {}).get("email")
    if not recipient:
        raise ValidationError({"to": ["The client has no e-mail address: give one."]})
    try:
        recipient, _ = normalize_email(recipient)
    except ValidationError as exc:
        raise ValidationError({"to": exc.messages}) from exc
    pdf = documents.archived(invoice, InvoiceDocument.Kind.FACTURX_PDF)
    locale = documents.locale_of(invoice)
    fmt = Formatter(locale=locale, currency=invoice.currency)
    context = {
        "invoice": invoice,
        "title": "Credit note" if invoice.is_credit_note else "Invoice",
        "seller_name": (invoice.seller or {}).get("trading_name")
        or (invoice.seller or {}).get("name", ""),
        "greeting_name": _greeting(invoice),
        "gross": fmt.money(invoice.gross_total),
        "due_date": fmt.date(invoice.due_date) if invoice.due_date else "",
        "url": new_client_link(invoice),
        "can_pay": can_pay_online(invoice),
        "message": (message or "").strip()[:2000],
    }
    outbound = queue_email(
        actor,
        to=recipient,
        subject=render_to_string("billing/emails/invoice_subject.txt", context).strip(),
        body_text=render_to_string("billing/emails/invoice_body.txt", context),
        body_html=render_to_string("billing/emails/invoice_body.html", context),
        contact=invoice.contact,
        kind=Kind.TRANSACTIONAL,
        source=f"billing.invoice:{invoice.pk}",
        attachments=[
            {
                "filename": documents.filename(invoice, InvoiceDocument.Kind.FACTURX_PDF),
                "content_type": "application/pdf",
                "storage_name": pdf.file.name,
            }
        ],
    )
    invoice.sent_at = timezone.now()
    invoice.sent_count += 1
    invoice.save(update_fields=["sent_at", "sent_count", "updated_at"])
    audit_log.record(
        actor,
        "invoice.sent",
        invoice,
        changes={"to": [None, recipient], "message": [None, str(outbound.pk)]},
    )
    events.emit(
        actor,
        "invoice.sent",
        invoice,
        number=invoice.number,
        to=recipient,
        message_id=str(outbound.pk),
        status=outbound.status,
    )
    return outbound


@transaction.atomic
def record_view(actor: Actor, invoice: Invoice) -> bool:
    """Count a view of the client page; returns True when ``invoice.viewed`` was emitted."""
    now = timezone.now()
    before = (
        Invoice.objects.select_for_update()
        .values("first_viewed_at", "last_viewed_at")
        .get(pk=invoice.pk)
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        view_count=F("view_count") + 1,
        last_viewed_at=now,
        first_viewed_at=Coalesce(F("first_viewed_at"), now),
    )
    first = before["first_viewed_at"] is None
    last = before["last_viewed_at"]
    if not first and last is not None and now - last < VIEW_EVENT_EVERY:
        return False
    invoice.refresh_from_db(fields=["view_count", "first_viewed_at", "last_viewed_at"])
    if first:
        audit_log.record(actor, "invoice.viewed", invoice, changes={"first_viewed_at": [None, now]})
    events.emit(
        actor,
        "invoice.viewed",
        invoice,
        number=invoice.number,
        first=first,
        view_count=invoice.view_count,
    )
    return True
