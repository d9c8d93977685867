"""Staff pages for payments: the list, one payment with its allocations, refunds."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from throughline.billing import access
from throughline.billing.forms import RefundForm
from throughline.billing.models import Payment, StatementLine
from throughline.billing.services import online, payments
from throughline.billing.services.errors import GatewayError, InvoiceStateError
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm.views.listing import (
    match_all_terms,
    paginate,
    query_text,
    render_page_or_partial,
)

RESULTS_TARGET = "payment-results"


@requires("billing.view")
@require_safe
def payment_list(request: HttpRequest) -> HttpResponse:
    found = access.payments_for(request.user)
    method = request.GET.get("method", "")
    if method in Payment.Method.values:
        found = found.filter(method=method)
    else:
        method = ""
    status = request.GET.get("status", "")
    if status in Payment.Status.values:
        found = found.filter(status=status)
    else:
        status = ""
    text = query_text(request)
    if text:
        found = found.filter(
            match_all_terms(
                text,
                (
                    "reference",
                    "invoice__number",
                    "contact__first_name",
                    "contact__last_name",
                    "contact__email",
                ),
            )
        )
    page = paginate(request, found.order_by("-received_on", "-created_at", "-pk"))
    context = {
        "page": page,
        "q": text,
        "method": method,
        "status": status,
        "methods": Payment.Method.choices,
        "statuses": Payment.Status.choices,
        "filtered": bool(text or method or status),
        "results_target": RESULTS_TARGET,
    }
    return render_page_or_partial(
        request,
        "billing/payments/list.html",
        "billing/payments/_results.html",
        RESULTS_TARGET,
        context,
    )


def _detail(request, payment, form=None, status=200):
    # The bank statement line this payment was matched from (an undo reverses it).
    statement_line = (
        StatementLine.objects.filter(payment=payment, status=StatementLine.Status.MATCHED)
        .select_related("statement")
        .first()
        if payment.gateway == "bank"
        else None
    )
    context = {
        "statement_line": statement_line,
        "can_undo": statement_line is not None
        and request.user.can("billing.payments")
        and payment.status == Payment.Status.SUCCEEDED,
        "payment": payment,
        "allocations": payment.allocations.select_related("invoice").order_by("created_at"),
        "refunds": payment.refunds.order_by("-created_at"),
        "refund_form": form or RefundForm(initial={"amount": payment.refundable}),
        "can_refund": request.user.can("billing.payments")
        and payment.status == Payment.Status.SUCCEEDED
        and payment.refundable > 0,
        "online": payment.gateway != "manual" and bool(payment.gateway_reference),
    }
    return render(request, "billing/payments/detail.html", context, status=status)


@requires("billing.view")
@require_safe
def payment_detail(request: HttpRequest, pk) -> HttpResponse:
    return _detail(request, access.access_payment(request.user, pk))


@requires("billing.payments")
@require_POST
def payment_refund(request: HttpRequest, pk) -> HttpResponse:
    payment = access.access_payment(request.user, pk)
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _detail(request, payment, form)
    data = form.cleaned_data
    actor = Actor.from_request(request)
    try:
        if data["through_gateway"]:
            online.refund_online(actor, payment, amount=data["amount"], reason=data["reason"])
        else:
            payments.refund_payment(actor, payment, amount=data["amount"], reason=data["reason"])
    except ValidationError as exc:
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
        return _detail(request, payment, form)
    except (InvoiceStateError, GatewayError) as exc:
        form.add_error(None, str(exc))
        return _detail(request, payment, form)
    messages.success(request, f"Refund of {data['amount']} {payment.currency} recorded.")
    return redirect("billing:payment_detail", pk=payment.pk)
