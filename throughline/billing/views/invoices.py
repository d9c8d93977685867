"""Staff pages for invoices: the list, a new draft, the editor with live totals, issue, send.

Views are thin: they read forms and call billing.services; the totals shown while typing are
computed by the same code that stores them (services.calculation), on the server.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from throughline.billing import access
from throughline.billing.documents.pdf import Formatter
from throughline.billing.forms import (
    InvoiceHeaderForm,
    LineFormSet,
    NewInvoiceForm,
    SendForm,
    apply_service_errors,
    line_payloads,
)
from throughline.billing.models import Invoice, InvoiceDocument
from throughline.billing.services import calculation, documents, invoicing, sending
from throughline.billing.services.calculation import plain
from throughline.billing.services.dates import org_today
from throughline.billing.services.errors import InvoiceStateError, IssueRefused
from throughline.billing.views.common import detail_context
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm import access as crm_access
from throughline.crm.views.listing import (
    match_all_terms,
    paginate,
    parse_uuid,
    query_text,
    render_page_or_partial,
)

RESULTS_TARGET = "invoice-results"
STATUS_FILTERS = [("", "Any status"), *Invoice.Status.choices, ("overdue", "Overdue")]


@requires("billing.view")
@require_safe
def invoice_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    invoices = access.invoices_for(user)
    status = request.GET.get("status", "")
    today = org_today()
    if status == "overdue" or request.GET.get("overdue") in {"1", "true", "on"}:
        invoices = invoices.overdue(today)
        status = "overdue"
    elif status in Invoice.Status.values:
        invoices = invoices.filter(status=status)
    else:
        status = ""
    doc_type = request.GET.get("type", "")
    if doc_type in ("invoice", "credit_note"):
        invoices = invoices.filter(document_type=doc_type)
    else:
        doc_type = ""
    text = query_text(request)
    if text:
        invoices = invoices.filter(
            match_all_terms(
                text,
                (
                    "number",
                    "contact__first_name",
                    "contact__last_name",
                    "contact__email",
                    "company__name",
                ),
            )
        )
    contact_id = parse_uuid(request.GET.get("contact"))
    if contact_id:
        invoices = invoices.filter(contact_id=contact_id)
    invoices = invoices.order_by("-issue_date", "-created_at", "-pk")
    page = paginate(request, invoices)
    context = {
        "page": page,
        "today": today,
        "status": status,
        "doc_type": doc_type,
        "status_choices": STATUS_FILTERS,
        "q": text,
        "contact": str(contact_id) if contact_id else "",
        "filtered": bool(status or text or contact_id or doc_type),
        "can_edit": user.can("billing.edit"),
        "results_target": RESULTS_TARGET,
        "open_total": _open_totals(access.invoices_for(user), today),
    }
    return render_page_or_partial(
        request,
        "billing/invoices/list.html",
        "billing/invoices/_results.html",
        RESULTS_TARGET,
        context,
    )


def _open_totals(invoices, today: dt.date) -> list[dict]:
    """Outstanding and overdue per currency, for the list's summary line."""
    from django.db.models import Sum

    rows = []
    for row in (
        invoices.open().values("currency").annotate(due=Sum("amount_due")).order_by("currency")
    ):
        overdue = (
            invoices.overdue(today)
            .filter(currency=row["currency"])
            .aggregate(total=Sum("amount_due"))["total"]
        )
        fmt = Formatter(locale="en", currency=row["currency"])
        rows.append({"due": fmt.money(row["due"]), "overdue": fmt.money(overdue or 0)})
    return rows


@requires("billing.edit")
def invoice_create(request: HttpRequest) -> HttpResponse:
    """Pick the client and currency; the draft opens in the editor."""
    user = request.user
    org = Organization.current()
    contact = None
    contact_id = parse_uuid(request.POST.get("contact") or request.GET.get("contact"))
    if contact_id:
        contact = crm_access.contacts_for(user).filter(pk=contact_id).first()
    form = NewInvoiceForm(
        request.POST or None, initial={"currency": org.base_currency, "kind": Invoice.Kind.STANDARD}
    )
    if request.method == "POST" and form.is_valid():
        if contact is None:
            form.add_error(None, "Choose the client.")
        else:
            try:
                invoice = invoicing.create_invoice(
                    Actor.from_request(request),
                    contact=contact,
                    currency=form.cleaned_data["currency"],
                    kind=form.cleaned_data["kind"],
                    lines=[],
                )
            except ValidationError as exc:
                for error in apply_service_errors(exc, form, None, []):
                    form.add_error(None, error)
            else:
                return redirect("billing:invoice_detail", pk=invoice.pk)
    text = query_text(request)
    matches = []
    if text:
        matches = list(
            crm_access.contacts_for(user)
            .filter(match_all_terms(text, ("first_name", "last_name", "email", "company__name")))
            .order_by("last_name", "first_name")[:25]
        )
    context = {"form": form, "contact": contact, "q": text, "matches": matches}
    return render(request, "billing/invoices/new.html", context)


def _deposit_choices(invoice: Invoice):
    return Invoice.objects.filter(
        contact=invoice.contact,
        currency=invoice.currency,
        kind=Invoice.Kind.DEPOSIT,
        amount_paid__gt=0,
    ).exclude(Q(pk=invoice.pk) | Q(status=Invoice.Status.DRAFT))


def _editor_forms(invoice: Invoice, data=None):
    initial = {
        "currency": invoice.currency,
        "kind": invoice.kind,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "delivery_date": invoice.delivery_date,
        "payment_terms": invoice.payment_terms,
        "buyer_reference": invoice.buyer_reference,
        "discount_percent": plain(invoice.discount_percent) if invoice.discount_percent else "",
        "exchange_rate": plain(invoice.exchange_rate),
        "notes": invoice.notes,
        "deposits": list(invoice.deposits.all()),
    }
    deposits = _deposit_choices(invoice)
    header = InvoiceHeaderForm(
        data,
        initial=initial,
        deposit_choices=deposits if invoice.kind == Invoice.Kind.STANDARD else None,
    )
    lines = [
        {
            "description": line.description,
            "quantity": plain(line.quantity),
            "unit": line.unit,
            "unit_price": plain(line.unit_price),
            "discount_percent": plain(line.discount_percent) if line.discount_percent else "",
            "vat_category": line.vat_category,
            "vat_rate": plain(line.vat_rate),
            "exemption_reason_code": line.exemption_reason_code,
            "exemption_reason": line.exemption_reason,
        }
        for line in invoice.lines.all()
    ]
    if data is None:
        lines.append({"quantity": "1", "vat_category": "S"})  # one empty row to type into
    formset = LineFormSet(data, initial=lines if data is None else None, prefix="lines")
    return header, formset


def _editor_page(request, invoice, header, formset, *, status=200, errors=(), failures=None):
    context = detail_context(request, invoice)
    context.update(
        {
            "header_form": header,
            "formset": formset,
            "editor_errors": list(errors),
            "issue_failures": failures or [],
            "totals": _totals_context(invoice, header, formset),
        }
    )
    return render(request, "billing/invoices/editor.html", context, status=status)


def _totals_context(invoice: Invoice, header, formset) -> dict:
    """Figures of what is in the form (unsaved), or of the stored draft."""
    currency = invoice.currency
    discount = invoice.discount_percent
    lines = list(invoice.lines.all())
    error = ""
    if header is not None and header.is_bound and formset is not None:
        header.is_valid()
        formset.is_valid()
        currency = (header.data.get("currency") or invoice.currency).upper()
        try:
            currency = calculation.check_currency(currency)
            errors: dict = {}
            discount = calculation.parse_decimal(
                header.data.get("discount_percent"),
                "discount_percent",
                errors,
                places=2,
                default=calculation.ZERO,
            )
            lines = calculation.clean_lines(line_payloads(formset), currency)
            if errors or discount is None:
                raise ValidationError(errors)
        except ValidationError:
            error = "Some values are not valid yet; the totals show once they are."
            lines, discount = [], calculation.ZERO
    figures = calculation.compute(
        lines, currency, discount_percent=discount, prepaid=invoice.prepaid_amount
    )
    fmt = Formatter(locale=documents.locale_of(invoice), currency=currency)
    totals = figures.totals
    return {
        "error": error,
        "lines": [fmt.money(f.net) for f in figures.lines],
        "lines_total": fmt.money(totals.lines_net),
        "allowance": fmt.money(totals.allowance) if totals.allowance else "",
        "net": fmt.money(totals.net),
        "vat": [
            {
                "label": f"{g['category']} {g['rate']}%",
                "base": fmt.money(g["base"]),
                "tax": fmt.money(g["tax"]),
            }
            for g in figures.breakdown
        ],
        "tax": fmt.money(totals.tax),
        "gross": fmt.money(totals.gross),
        "prepaid": fmt.money(figures.prepaid) if figures.prepaid else "",
        "payable": fmt.money(figures.payable),
    }


@requires("billing.view")
@require_safe
def invoice_detail(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    if invoice.is_draft:
        header, formset = _editor_forms(invoice)
        return _editor_page(request, invoice, header, formset)
    context = detail_context(request, invoice)
    context["document_html"] = documents.render_html(invoice)
    return render(request, "billing/invoices/detail.html", context)


@requires("billing.edit")
@require_POST
def invoice_save(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    if not invoice.is_draft:
        messages.error(request, f"{invoice} is issued; correct it with a credit note.")
        return redirect("billing:invoice_detail", pk=invoice.pk)
    header, formset = _editor_forms(invoice, request.POST)
    if "add_line" in request.POST and formset.is_valid():
        # No JavaScript needed: re-show the form with one more empty row.
        data = request.POST.copy()
        total = int(data.get("lines-TOTAL_FORMS", 0))
        data["lines-TOTAL_FORMS"] = str(total + 1)
        data[f"lines-{total}-quantity"] = "1"
        data[f"lines-{total}-vat_category"] = "S"
        header, formset = _editor_forms(invoice, data)
        return _editor_page(request, invoice, header, formset)
    if not (header.is_valid() and formset.is_valid()):
        return _editor_page(request, invoice, header, formset)
    rows = line_payloads(formset)
    data = dict(header.cleaned_data)
    deposits = data.pop("deposits", None)
    try:
        invoicing.update_invoice(
            Actor.from_request(request),
            invoice,
            lines=[{k: v for k, v in row.items() if k != "form_index"} for row in rows],
            deposits=list(deposits) if deposits is not None else None,
            **data,
        )
    except ValidationError as exc:
        errors = apply_service_errors(exc, header, formset, rows)
        return _editor_page(request, invoice, header, formset, errors=errors)
    except InvoiceStateError as exc:
        messages.error(request, str(exc))
        return redirect("billing:invoice_detail", pk=invoice.pk)
    if "issue" in request.POST:
        return invoice_issue(request, pk)
    messages.success(request, "Draft saved.")
    return redirect("billing:invoice_detail", pk=invoice.pk)


@requires("billing.view")
@require_POST
def invoice_totals(request: HttpRequest, pk) -> HttpResponse:
    """htmx: the totals of what is typed, recomputed on the server (nothing is saved)."""
    invoice = access.access_invoice(request.user, pk)
    if not invoice.is_draft:
        raise Http404("Only drafts are edited")
    header, formset = _editor_forms(invoice, request.POST)
    context = {"totals": _totals_context(invoice, header, formset), "invoice": invoice}
    return render(request, "billing/invoices/_totals.html", context)


@requires("billing.edit")
@require_POST
def invoice_delete(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    try:
        invoicing.delete_invoice(Actor.from_request(request), invoice)
    except InvoiceStateError as exc:
        messages.error(request, str(exc))
        return redirect("billing:invoice_detail", pk=invoice.pk)
    messages.success(request, "Draft deleted.")
    return redirect("billing:invoice_list")


@requires("billing.issue")
@require_POST
def invoice_issue(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    try:
        invoice = invoicing.issue_invoice(Actor.from_request(request), invoice)
    except IssueRefused as exc:
        header, formset = _editor_forms(invoice)
        return _editor_page(request, invoice, header, formset, status=422, failures=exc.messages)
    except ValidationError as exc:
        header, formset = _editor_forms(invoice)
        return _editor_page(request, invoice, header, formset, status=422, errors=exc.messages)
    except InvoiceStateError as exc:
        messages.error(request, str(exc))
        return redirect("billing:invoice_detail", pk=invoice.pk)
    messages.success(request, f"{invoice} issued.")
    return redirect("billing:invoice_detail", pk=invoice.pk)


@requires("billing.issue")
@require_POST
def invoice_send(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    form = SendForm(request.POST)
    if form.is_valid():
        try:
            outbound = sending.send_invoice(
                Actor.from_request(request),
                invoice,
                to=form.cleaned_data["to"],
                message=form.cleaned_data["message"],
            )
        except (ValidationError, InvoiceStateError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, f"Not sent: {text}")
        else:
            messages.success(request, f"{invoice} is on its way to {outbound.to_email}.")
    return redirect("billing:invoice_detail", pk=invoice.pk)


@requires("billing.issue")
@require_POST
def invoice_client_link(request: HttpRequest, pk) -> HttpResponse:
    """A fresh client link, shown once (only its hash is kept)."""
    invoice = access.access_invoice(request.user, pk)
    if invoice.is_draft:
        raise Http404("Drafts have no client page")
    url = sending.create_client_link(Actor.from_request(request), invoice)
    context = detail_context(request, invoice)
    context["document_html"] = documents.render_html(invoice)
    context["new_link"] = url
    return render(request, "billing/invoices/detail.html", context)


def _document_response(
    invoice: Invoice, kind: str, content_type: str, inline: bool
) -> HttpResponse:
    content = documents.document_bytes(invoice, kind)
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = (
        f'{disposition}; filename="{documents.filename(invoice, kind)}"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@requires("billing.view")
@require_safe
def invoice_pdf(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    return _document_response(
        invoice, InvoiceDocument.Kind.FACTURX_PDF, "application/pdf", inline=True
    )


@requires("billing.view")
@require_safe
def invoice_ubl(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    if invoice.is_draft:
        raise Http404("A draft has no e-invoice yet")
    return _document_response(invoice, InvoiceDocument.Kind.UBL, "application/xml", inline=False)
