"""Invoice drafts and issuing: every write is one transaction with its audit entry and event.

Drafts are created and changed freely (by hand, the API, or an event handler); their figures are
recomputed and stored on every change. ``issue_invoice`` checks the EN 16931 business rules on
the exact XML the client will receive, freezes the parties, takes the next number and makes the
document immutable. Views, the API, tasks and handlers all call these functions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.billing.documents import pdf, schematron
from throughline.billing.models import DocumentType, Invoice, InvoiceLine
from throughline.billing.services import calculation, documents, numbering, parties
from throughline.billing.services.dates import DEFAULT_TERMS_DAYS, org_today
from throughline.billing.services.errors import InvoiceStateError, IssueRefused
from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm.models import Company, Contact

HEADER_FIELDS = (
    "contact",
    "company",
    "currency",
    "kind",
    "locale",
    "issue_date",
    "due_date",
    "delivery_date",
    "payment_terms",
    "buyer_reference",
    "notes",
    "discount_percent",
    "exchange_rate",
)
AUDITED = (*HEADER_FIELDS, "prepaid_amount", "gross_total", "number", "status")
PENDING_NUMBER = "PENDING"


def _lock(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("contact", "company")
        .get(pk=invoice.pk)
    )


def _clean_header(data: dict[str, Any], invoice: Invoice | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "contact" in data:
        if not isinstance(data["contact"], Contact):
            errors["contact"] = ["Choose the client."]
        else:
            cleaned["contact"] = data["contact"]
            if "company" not in data:
                cleaned["company"] = data["contact"].company
    if "company" in data:
        if data["company"] is not None and not isinstance(data["company"], Company):
            errors["company"] = ["Choose a company."]
        else:
            cleaned["company"] = data["company"]
    if "currency" in data:
        try:
            cleaned["currency"] = calculation.check_currency(data["currency"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "kind" in data:
        if data["kind"] not in Invoice.Kind.values:
            errors["kind"] = [f"Choose one of {', '.join(Invoice.Kind.values)}."]
        else:
            cleaned["kind"] = data["kind"]
    for key in ("issue_date", "due_date", "delivery_date"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, dt.date):
                errors[key] = ["Give a date (YYYY-MM-DD)."]
            else:
                cleaned[key] = value
    for key, limit in (("payment_terms", 300), ("buyer_reference", 200), ("locale", 16)):
        if key in data:
            text = str(data[key] or "").strip()
            if len(text) > limit:
                errors[key] = [f"At most {limit} characters."]
            cleaned[key] = text
    if "notes" in data:
        cleaned["notes"] = str(data["notes"] or "").strip()[:10_000]
    if "discount_percent" in data:
        value = calculation.parse_decimal(
            data["discount_percent"],
            "discount_percent",
            errors,
            places=2,
            low=Decimal(0),
            high=Decimal(100),
            default=Decimal(0),
        )
        if value is not None:
            cleaned["discount_percent"] = value
    if "exchange_rate" in data:
        raw = data["exchange_rate"]
        if raw in (None, ""):
            cleaned["exchange_rate"] = None
        else:
            value = calculation.parse_decimal(
                raw, "exchange_rate", errors, places=8, low=Decimal(0), low_inclusive=False
            )
            if value is not None:
                cleaned["exchange_rate"] = value
    issue = cleaned.get("issue_date", invoice.issue_date if invoice else None)
    due = cleaned.get("due_date", invoice.due_date if invoice else None)
    if issue and due and due < issue and "due_date" not in errors:
        errors["due_date"] = ["The due date cannot be before the issue date."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_deposits(invoice: Invoice, deposits: list[Invoice]) -> list[Invoice]:
    errors = []
    for deposit in deposits:
        if (
            deposit.pk == invoice.pk
            or deposit.kind != Invoice.Kind.DEPOSIT
            or deposit.is_draft
            or deposit.is_credit_note
        ):
            errors.append(f"{deposit} is not an issued deposit invoice.")
        elif deposit.contact_id != invoice.contact_id or deposit.currency != invoice.currency:
            errors.append(f"{deposit} is for another client or currency.")
        elif deposit.amount_paid <= 0:
            errors.append(f"{deposit} has not been paid yet.")
        elif (
            Invoice.objects.filter(deposits=deposit)
            .exclude(pk=invoice.pk)
            .exclude(status=Invoice.Status.VOID)
            .exists()
        ):
            errors.append(f"{deposit} is already deducted on another invoice.")
    if errors:
        raise ValidationError({"deposits": errors})
    return deposits


def _recompute(invoice: Invoice, lines: list[InvoiceLine] | None = None) -> calculation.Figures:
    """Store every figure of a draft (totals, breakdown, base values, line amounts)."""
    if lines is None:
        lines = list(invoice.lines.all())
    if (
        invoice.kind == Invoice.Kind.STANDARD
        and not invoice.is_credit_note
        and not invoice._state.adding
        and invoice.deposits.exists()
    ):
        invoice.prepaid_amount = sum((d.amount_paid for d in invoice.deposits.all()), Decimal(0))
    base_currency = invoice.base_currency or Organization.current().base_currency
    figures = calculation.compute(
        lines,
        invoice.currency,
        discount_percent=invoice.discount_percent,
        prepaid=invoice.prepaid_amount,
        exchange_rate=invoice.exchange_rate,
        base_currency=base_currency,
    )
    if figures.payable < 0:
        raise ValidationError(
            {"deposits": ["The deposits deducted are more than this invoice's total."]}
        )
    for line, f in zip(lines, figures.lines, strict=True):
        line.allowance_amount, line.net_amount = f.allowance, f.net
    totals = figures.totals
    invoice.lines_total = totals.lines_net
    invoice.allowance_total = totals.allowance
    invoice.net_total = totals.net
    invoice.tax_total = totals.tax
    invoice.gross_total = totals.gross
    invoice.prepaid_amount = figures.prepaid
    invoice.payable_total = figures.payable
    invoice.tax_breakdown = list(figures.breakdown)
    invoice.base_currency = base_currency
    invoice.exchange_rate = figures.exchange_rate or invoice.exchange_rate
    invoice.base_net_total = figures.base_net
    invoice.base_tax_total = figures.base_tax
    invoice.base_gross_total = figures.base_gross
    invoice.amount_due = figures.payable
    return figures


def _replace_lines(invoice: Invoice, cleaned: list[calculation.CleanLine]) -> list[InvoiceLine]:
    invoice.lines.all().delete()
    lines = [
        InvoiceLine(invoice=invoice, position=index, **line.as_fields())
        for index, line in enumerate(cleaned, start=1)
    ]
    return lines


def _save_lines(lines: list[InvoiceLine]) -> None:
    InvoiceLine.objects.bulk_create(lines)


@transaction.atomic
def create_invoice(
    actor: Actor,
    *,
    contact: Contact,
    currency: str | None = None,
    lines: list[Any] | None = None,
    deposits: list[Invoice] | None = None,
    source: str = "",
    document_type: str = DocumentType.INVOICE,
    corrects: Invoice | None = None,
    credit_reason: str = "",
    **header: Any,
) -> Invoice:
    """A new draft. ``lines`` are dicts (or objects) with description, quantity, unit_price,
    tax_rate, tax_category, discount (percent), discount_amount, unit, exemption reason."""
    org = Organization.current()
    cleaned = _clean_header(
        {"contact": contact, "currency": currency or org.base_currency, **header}, None
    )
    clean = calculation.clean_lines(lines, cleaned["currency"])
    invoice = Invoice(
        document_type=document_type,
        corrects=corrects,
        credit_reason=(credit_reason or "").strip()[:2000],
        source=source[:120],
        created_by=actor.user,
        base_currency=org.base_currency,
        **cleaned,
    )
    if invoice.currency == org.base_currency:
        invoice.exchange_rate = Decimal(1)
    line_rows = [
        InvoiceLine(invoice=invoice, position=i, **line.as_fields())
        for i, line in enumerate(clean, start=1)
    ]
    _recompute(invoice, line_rows)
    invoice.save(force_insert=True)
    _save_lines(line_rows)
    if deposits:
        invoice.deposits.set(_clean_deposits(invoice, deposits))
        _recompute(invoice, line_rows)
        invoice.save()
    audit_log.record(
        actor,
        "credit_note.drafted" if invoice.is_credit_note else "invoice.drafted",
        invoice,
        changes=audit_log.diff({}, audit_log.snapshot(invoice, list(AUDITED)))
        | {"lines": [None, len(line_rows)]},
    )
    return invoice


@transaction.atomic
def update_invoice(
    actor: Actor,
    invoice: Invoice,
    *,
    lines: list[Any] | None = None,
    deposits: list[Invoice] | None = None,
    **header: Any,
) -> Invoice:
    """Change a draft; ``lines`` (when given) replace all lines."""
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise InvoiceStateError(f"{invoice} is issued; correct it with a credit note.")
    before = audit_log.snapshot(invoice, list(AUDITED))
    cleaned = _clean_header(header, invoice)
    currency_changed = "currency" in cleaned and cleaned["currency"] != invoice.currency
    for key, value in cleaned.items():
        setattr(invoice, key, value)
    if invoice.currency == (invoice.base_currency or Organization.current().base_currency):
        invoice.exchange_rate = Decimal(1)
    elif currency_changed and "exchange_rate" not in cleaned:
        invoice.exchange_rate = None  # the old rate was for another currency
    changes: dict[str, list[Any]] = {}
    if lines is not None:
        line_rows = _replace_lines(invoice, calculation.clean_lines(lines, invoice.currency))
        changes["lines"] = [None, len(line_rows)]
    else:
        line_rows = list(invoice.lines.all())
        if currency_changed:  # line amounts must fit the new currency's minor unit
            calculation.clean_lines(line_rows, invoice.currency)
    if deposits is not None:
        invoice.deposits.set(_clean_deposits(invoice, deposits))
    _recompute(invoice, line_rows)
    invoice.save()
    if lines is not None:
        _save_lines(line_rows)
    else:
        InvoiceLine.objects.bulk_update(line_rows, ["net_amount", "allowance_amount"])
    changes |= audit_log.diff(before, audit_log.snapshot(invoice, list(AUDITED)))
    audit_log.record(actor, "invoice.updated", invoice, changes=changes)
    return invoice


@transaction.atomic
def delete_invoice(actor: Actor, invoice: Invoice) -> None:
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise InvoiceStateError(f"{invoice} is issued; it can only be credited.")
    audit_log.record(actor, "invoice.deleted", invoice, changes={"status": ["draft", None]})
    invoice.deposits.clear()
    invoice.delete()


def check_rules(invoice: Invoice) -> list[schematron.RuleFailure]:
    """The EN 16931 failures the invoice would have if issued now (fatal and warnings)."""
    return documents.rule_failures(invoice, number=invoice.number or PENDING_NUMBER)


@transaction.atomic
def issue_invoice(actor: Actor, invoice: Invoice, *, today: dt.date | None = None) -> Invoice:
    """Check, freeze, number: the draft becomes a legal document.

    Refused with ``IssueRefused`` (rule ids and messages) when the EN 16931 business rules
    fail, and with ``ValidationError`` for missing or inconsistent data. The number is taken
    last, after every check, so that the counter lock is held as briefly as possible.
    """
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise InvoiceStateError(f"{invoice} is already issued.")
    today = today or org_today()
    lines = list(invoice.lines.all())
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = ["Add at least one line before issuing."]
    issue_date = invoice.issue_date or today
    if issue_date > today:
        errors["issue_date"] = ["An invoice cannot be issued with a date in the future."]
    due_date = invoice.due_date
    if invoice.is_credit_note:
        due_date = None
    elif due_date is None:
        due_date = issue_date + dt.timedelta(days=DEFAULT_TERMS_DAYS)
    elif due_date < issue_date:
        errors["due_date"] = ["The due date cannot be before the issue date."]
    try:
        calculation.clean_lines(lines, invoice.currency)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    org = Organization.current()
    invoice.issue_date, invoice.due_date = issue_date, due_date
    invoice.seller = parties.seller_snapshot(org)
    invoice.buyer = parties.buyer_snapshot(invoice.contact, invoice.company, org)
    if not invoice.locale:
        invoice.locale = pdf.locale_for(org.country)
    invoice.base_currency = invoice.base_currency or org.base_currency
    stored = [(line.net_amount, line.allowance_amount) for line in lines]
    figures = _recompute(invoice, lines)
    changed = [
        line
        for line, before in zip(lines, stored, strict=True)
        if (line.net_amount, line.allowance_amount) != before
    ]
    if changed:  # still a draft: lines may change
        InvoiceLine.objects.bulk_update(changed, ["net_amount", "allowance_amount"])

    # The rules run on the XML the client will get (with a stand-in number: BT-1 is only
    # required to be present).
    try:
        failures = documents.rule_failures(
            invoice, number=PENDING_NUMBER, lines=lines, parties=(invoice.seller, invoice.buyer)
        )
    except schematron.SchematronUnavailable as exc:
        raise IssueRefused([], str(exc)) from exc
    fatal = schematron.fatal(failures)
    if fatal:
        raise IssueRefused(fatal)

    invoice.number = numbering.next_number(invoice.document_type, issue_date)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = timezone.now()
    invoice.issued_by = actor.user
    invoice.amount_due = figures.payable
    if not invoice.is_credit_note and figures.payable == 0:
        invoice.status, invoice.paid_at = Invoice.Status.PAID, invoice.issued_at
    if invoice.is_credit_note:
        invoice.amount_due = Decimal(0)
    invoice.save()

    label = "credit_note" if invoice.is_credit_note else "invoice"
    audit_log.record(
        actor,
        f"{label}.issued",
        invoice,
        changes={
            "number": [None, invoice.number],
            "status": ["draft", invoice.status],
            "gross_total": [None, invoice.gross_total],
            "warnings": [None, [str(f) for f in failures if not f.is_fatal]],
        },
    )
    events.emit(
        actor,
        "invoice.issued",
        invoice,
        number=invoice.number,
        document_type=invoice.document_type,
        kind=invoice.kind,
        contact_id=str(invoice.contact_id),
        currency=invoice.currency,
        gross_total=str(invoice.gross_total),
        amount_due=str(invoice.amount_due),
        issue_date=invoice.issue_date.isoformat(),
        due_date=invoice.due_date.isoformat() if invoice.due_date else None,
        corrects_id=str(invoice.corrects_id) if invoice.corrects_id else None,
    )
    from throughline.billing.tasks import archive_documents

    archive_documents.enqueue(str(invoice.pk))
    return invoice
