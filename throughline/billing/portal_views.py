"""The client's invoice pages: ``/c/<token>/invoice`` and its PDF, UBL and "Pay now" (no login).

The token (core.public_tokens, scope "invoice") opens the one invoice it was issued for until
it expires. Each view of the page is counted (``invoice.viewed``, sending.record_view).
"Pay now" opens the gateway's hosted checkout for what is due; the payment itself is recorded
when the gateway's signed webhook (or the periodic check) says so, never from the return URL.

TRICKY: these views live in billing until the client portal app (DESIGN §2) exists; the URL
names (``billing_portal:…``) are the contract to keep when they move.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from throughline.billing.documents.pdf import Formatter
from throughline.billing.models import Invoice, InvoiceDocument
from throughline.billing.services import documents, online, sending
from throughline.billing.services.dates import org_today
from throughline.billing.services.errors import GatewayError, InvoiceStateError
from throughline.core import public_tokens
from throughline.core.access import public
from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization


class LinkProblem(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def _protect(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: never leak it in a Referer to another site (the gateway's
    # page), never cache or index the page. "same-origin", not "no-referrer": with the latter
    # browsers send "Origin: null" on our own "Pay now" form, which CSRF protection refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _problem(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    context = {"title": title, "text": text, "organization": Organization.current()}
    return _protect(render(request, "billing/portal/problem.html", context, status=status))


def _invoice(request: HttpRequest, token: str, *, touch: bool = True) -> Invoice:
    try:
        invoice = public_tokens.resolve(token, sending.TOKEN_SCOPE, touch=touch).obj
    except public_tokens.TokenExpired as exc:
        raise LinkProblem(
            _problem(request, 410, "This link has expired", "Ask us for a new link to the invoice.")
        ) from exc
    except public_tokens.TokenInvalid as exc:
        raise LinkProblem(
            _problem(
                request,
                404,
                "Link not found",
                "Check that you copied the whole link from the e-mail.",
            )
        ) from exc
    if not isinstance(invoice, Invoice) or invoice.is_draft:
        raise LinkProblem(
            _problem(request, 404, "Link not found", "This document is not available.")
        )
    return invoice


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, channel=Channel.PORTAL)


@public
@require_safe
def invoice_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invoice = _invoice(request, token)
    except LinkProblem as problem:
        return problem.response
    if request.method == "GET":
        sending.record_view(_actor(request), invoice)
        invoice.refresh_from_db()
    context = {
        "organization": Organization.current(),
        "invoice": invoice,
        "document_html": documents.render_html(invoice),
        "token": token,
        "amounts": _amounts(invoice),
        "overdue": invoice.is_overdue(org_today()),
        "can_pay": sending.can_pay_online(invoice),
        "payment_returned": request.GET.get("payment") == "success",
        "payment_cancelled": request.GET.get("payment") == "cancelled",
        "error": "",
    }
    return _protect(render(request, "billing/portal/invoice.html", context))


def _amounts(invoice: Invoice) -> dict[str, str]:
    fmt = Formatter(locale=documents.locale_of(invoice), currency=invoice.currency)
    return {"due": fmt.money(invoice.amount_due), "paid": fmt.money(invoice.amount_paid)}


def _download(request: HttpRequest, token: str, kind: str, content_type: str) -> HttpResponse:
    try:
        invoice = _invoice(request, token, touch=False)
    except LinkProblem as problem:
        return problem.response
    content = documents.document_bytes(invoice, kind)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{documents.filename(invoice, kind)}"'
    return _protect(response)


@public
@require_safe
def invoice_pdf(request: HttpRequest, token: str) -> HttpResponse:
    return _download(request, token, InvoiceDocument.Kind.FACTURX_PDF, "application/pdf")


@public
@require_safe
def invoice_ubl(request: HttpRequest, token: str) -> HttpResponse:
    return _download(request, token, InvoiceDocument.Kind.UBL, "application/xml")


@public
@require_POST
def invoice_pay(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invoice = _invoice(request, token, touch=False)
    except LinkProblem as problem:
        return problem.response
    page = request.build_absolute_uri(reverse("billing_portal:invoice", args=[token]))
    try:
        session = online.start_checkout(
            _actor(request),
            invoice,
            success_url=f"{page}?payment=success",
            cancel_url=f"{page}?payment=cancelled",
        )
    except (GatewayError, InvoiceStateError) as exc:
        context = {
            "organization": Organization.current(),
            "invoice": invoice,
            "document_html": documents.render_html(invoice),
            "token": token,
            "amounts": _amounts(invoice),
            "overdue": invoice.is_overdue(org_today()),
            "can_pay": False,
            "error": str(exc),
        }
        return _protect(render(request, "billing/portal/invoice.html", context, status=409))
    response = HttpResponse(status=303)  # See Other: the browser GETs the gateway's page
    response["Location"] = session.url
    return _protect(response)
