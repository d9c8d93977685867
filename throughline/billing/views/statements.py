"""Staff pages for bank statements: upload, lines with their match, confirm, undo, unmatched list.

Bank data is the books: every page here needs ``billing.payments``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from throughline.billing.models import StatementImport, StatementLine
from throughline.billing.services import reconciliation
from throughline.billing.services.errors import InvoiceStateError
from throughline.billing.services.statements import import_statement
from throughline.billing.services.statements.csv_file import FIELDS
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm.views.listing import paginate

OPEN = (StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED)


def _list(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    statements = StatementImport.objects.annotate(
        open_lines=Count("lines", filter=Q(lines__status__in=OPEN)),
        matched=Count("lines", filter=Q(lines__status=StatementLine.Status.MATCHED)),
    ).order_by("-created_at")
    context = {
        "page": paginate(request, statements),
        "formats": StatementImport.Format.choices,
        "fields": FIELDS,
        "error": error,
        "posted": request.POST if request.method == "POST" else {},
    }
    return render(request, "billing/statements/list.html", context, status=status)


@requires("billing.payments")
@require_safe
def statement_list(request: HttpRequest) -> HttpResponse:
    return _list(request)


@requires("billing.payments")
@require_POST
def statement_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _list(request, "Choose a statement file.", 400)
    columns = {f: request.POST.get(f"col_{f}", "").strip() for f in FIELDS}
    mapping = None
    if any(columns.values()):
        mapping = {
            "columns": columns,
            "decimal_comma": request.POST.get("decimal_comma") == "on",
            "date_format": request.POST.get("date_format", "").strip(),
            "default_currency": request.POST.get("default_currency", "").strip(),
        }
    fmt = request.POST.get("format") or None
    if fmt and fmt not in StatementImport.Format.values:
        return _list(request, "Unknown format.", 400)
    actor = Actor.from_request(request)
    try:
        statement = import_statement(
            actor,
            content=upload.read(),
            filename=upload.name,
            fmt=fmt,
            account=request.POST.get("account", ""),
            mapping=mapping,
        )
    except ValidationError as exc:
        return _list(request, " ".join(exc.messages), 400)
    result = reconciliation.reconcile(actor, statement.lines.all())
    messages.success(
        request,
        f"{statement.line_count} new lines ({statement.duplicate_count} already imported): "
        f"{result.matched} matched, {result.suggested} to confirm, {result.unmatched} unmatched.",
    )
    return redirect("billing:statement_detail", pk=statement.pk)


@requires("billing.payments")
@require_safe
def statement_detail(request: HttpRequest, pk) -> HttpResponse:
    try:
        statement = StatementImport.objects.get(pk=pk)
    except (StatementImport.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("Not found") from exc
    lines = statement.lines.select_related("payment").order_by("booked_on", "pk")
    return render(
        request,
        "billing/statements/detail.html",
        {"statement": statement, "page": paginate(request, lines), "title": str(statement)},
    )


@requires("billing.payments")
@require_safe
def unmatched_lines(request: HttpRequest) -> HttpResponse:
    lines = (
        StatementLine.objects.filter(status__in=OPEN)
        .select_related("payment", "statement")
        .order_by("-confidence", "booked_on", "pk")
    )
    return render(
        request,
        "billing/statements/detail.html",
        {"statement": None, "page": paginate(request, lines), "title": "Lines to reconcile"},
    )


def _line(pk) -> StatementLine:
    try:
        return StatementLine.objects.select_related("statement").get(pk=pk)
    except (StatementLine.DoesNotExist, ValueError) as exc:
        raise Http404("Not found") from exc


def _back(request: HttpRequest, line: StatementLine) -> HttpResponse:
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("billing:statement_detail", pk=line.statement_id)


@requires("billing.payments")
@require_POST
def line_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(pk)
    try:
        payment = reconciliation.confirm_suggestion(Actor.from_request(request), line)
    except (ValidationError, InvoiceStateError) as exc:
        messages.error(request, " ".join(reconciliation._messages(exc)))
    else:
        messages.success(request, f"Payment of {payment.amount} {payment.currency} recorded.")
    return _back(request, line)


@requires("billing.payments")
@require_POST
def line_match(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(pk)
    try:
        payment = reconciliation.match_by_hand(
            Actor.from_request(request), line, request.POST.get("numbers", "")
        )
    except (ValidationError, InvoiceStateError) as exc:
        messages.error(request, " ".join(reconciliation._messages(exc)))
    else:
        messages.success(request, f"Payment of {payment.amount} {payment.currency} recorded.")
    return _back(request, line)


@requires("billing.payments")
@require_POST
def line_ignore(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(pk)
    try:
        reconciliation.ignore_line(Actor.from_request(request), line)
    except InvoiceStateError as exc:
        messages.error(request, str(exc))
    return _back(request, line)


@requires("billing.payments")
@require_POST
def line_undo(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(pk)
    try:
        payment = reconciliation.undo_match(
            Actor.from_request(request), line, reason=request.POST.get("reason", "")
        )
    except InvoiceStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Match undone: the payment of {payment.amount} {payment.currency} is reversed and "
            "its invoices are open again.",
        )
    return _back(request, line)


@requires("billing.payments")
@require_POST
def line_restore(request: HttpRequest, pk: int) -> HttpResponse:
    line = _line(pk)
    try:
        reconciliation.restore_line(Actor.from_request(request), line)
    except InvoiceStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The line is back on the list to reconcile.")
    return _back(request, line)
