"""REST API v1 of billing: invoices, credit notes, payments (DESIGN §6).

Same pattern as crm/api.py: one ``ApiViewSet`` per resource with ``required_permissions`` per
action, reads through ``billing.access``, writes through ``billing.services`` with
``self.actor`` (the base view wraps writes in one transaction and honours Idempotency-Key).
A state conflict (editing an issued invoice, issuing twice) answers 409; EN 16931 rule
failures on issue answer 422 with the rules in ``errors.rules``.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.errors import PROBLEM_CONTENT_TYPE, Conflict, problem
from throughline.api.schema import ProblemSerializer
from throughline.api.views import ApiViewSet
from throughline.billing import access
from throughline.billing.models import DocumentType, Invoice, InvoiceDocument, Payment
from throughline.billing.serializers import (
    CreditNoteCreateSerializer,
    InvoicePaymentSerializer,
    InvoiceSendSerializer,
    InvoiceSerializer,
    InvoiceWriteSerializer,
    PaymentCreateSerializer,
    PaymentRefundInputSerializer,
    PaymentSerializer,
)
from throughline.billing.services import (
    credit_notes,
    documents,
    invoicing,
    payments,
    sending,
)
from throughline.billing.services.dates import org_today
from throughline.billing.services.errors import InvoiceStateError, IssueRefused
from throughline.crm.views.listing import parse_uuid

STATUS = OpenApiParameter("status", str, description="draft, issued, partially_paid, paid, void.")
OVERDUE = OpenApiParameter("overdue", bool, description="Only open invoices past their due date.")
CONTACT = OpenApiParameter("contact_id", str, description="Only this contact's documents.")
# PATCH and DELETE of an issued invoice: it cannot change (POSTs document 409 already).
CONFLICT = {(409, PROBLEM_CONTENT_TYPE): ProblemSerializer}


def _filtered(queryset, request):
    params = request.query_params
    state = params.get("status", "").strip()
    if state:
        queryset = queryset.filter(status=state)
    if params.get("overdue", "").lower() in {"1", "true"}:
        queryset = queryset.overdue(org_today())
    contact_id = parse_uuid(params.get("contact_id"))
    if params.get("contact_id") and contact_id is None:
        return queryset.none()
    if contact_id:
        queryset = queryset.filter(contact_id=contact_id)
    return queryset


def _document(invoice, kind: str, content_type: str) -> HttpResponse:
    response = HttpResponse(documents.document_bytes(invoice, kind), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{documents.filename(invoice, kind)}"'
    return response


def _conflict(exc: InvoiceStateError) -> Conflict:
    return Conflict(str(exc))


class InvoiceViewSet(ApiViewSet):
    serializer_class = InvoiceSerializer
    required_permissions = {
        "list": "billing.view",
        "retrieve": "billing.view",
        "pdf": "billing.view",
        "ubl": "billing.view",
        "create": "billing.edit",
        "partial_update": "billing.edit",
        "destroy": "billing.edit",
        "issue": "billing.issue",
        "send": "billing.issue",
        "payments": "billing.payments",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Invoice.objects.none()
        queryset = access.invoices_for(self.request.user).filter(document_type=DocumentType.INVOICE)
        return queryset.prefetch_related("lines")

    def get_object(self):
        return access._get(self.get_queryset(), self.kwargs["pk"])

    def _out(self, invoice, code=status.HTTP_200_OK) -> Response:
        return Response(InvoiceSerializer(invoice).data, status=code)

    @extend_schema(parameters=[STATUS, OVERDUE, CONTACT])
    def list(self, request):
        page = self.paginate_queryset(_filtered(self.get_queryset(), request))
        return self.get_paginated_response(InvoiceSerializer(page, many=True).data)

    def retrieve(self, request, pk):
        return self._out(self.get_object())

    @extend_schema(request=InvoiceWriteSerializer, responses={201: InvoiceSerializer})
    def create(self, request):
        serializer = InvoiceWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        invoice = invoicing.create_invoice(self.actor, **serializer.service_kwargs())
        return self._out(invoice, status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceWriteSerializer, responses={200: InvoiceSerializer, **CONFLICT})
    def partial_update(self, request, pk):
        invoice = self.get_object()
        serializer = InvoiceWriteSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        try:
            invoice = invoicing.update_invoice(self.actor, invoice, **serializer.service_kwargs())
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        return self._out(invoice)

    @extend_schema(responses={204: None, **CONFLICT})
    def destroy(self, request, pk):
        try:
            invoicing.delete_invoice(self.actor, self.get_object())
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: InvoiceSerializer})
    @action(detail=True, methods=["post"])
    def issue(self, request, pk):
        """Check the EN 16931 rules, freeze the parties, assign the number.

        422 when the business rules fail (the invoice stays a draft): ``errors.rules`` lists
        them as ``[BR-S-02] message``; 409 when it is already issued.
        """
        try:
            invoice = invoicing.issue_invoice(self.actor, self.get_object())
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        except IssueRefused as exc:
            response = problem(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "The invoice breaks EN 16931 business rules; it stays a draft.",
                {"rules": exc.messages},
            )
            return response
        return self._out(invoice)

    @extend_schema(request=InvoiceSendSerializer, responses={200: InvoiceSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, pk):
        """E-mail the Factur-X PDF with a link to the client page."""
        serializer = InvoiceSendSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        invoice = self.get_object()
        try:
            sending.send_invoice(self.actor, invoice, **serializer.validated_data)
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        invoice.refresh_from_db()
        return self._out(invoice)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk):
        """The Factur-X PDF/A-3 (EN 16931 CII XML embedded); a preview while a draft."""
        return _document(self.get_object(), InvoiceDocument.Kind.FACTURX_PDF, "application/pdf")

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def ubl(self, request, pk):
        """The UBL 2.1 invoice (Peppol BIS Billing 3.0)."""
        return _document(self.get_object(), InvoiceDocument.Kind.UBL, "application/xml")

    @extend_schema(request=InvoicePaymentSerializer, responses={201: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def payments(self, request, pk):
        """Record money received for this invoice (more than is due: client credit)."""
        serializer = InvoicePaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            payment = payments.record_payment(
                self.actor,
                invoice=self.get_object(),
                amount=data["amount"],
                currency=data.get("currency"),
                received_on=data.get("date"),
                method=data["method"],
                reference=data.get("reference", ""),
                notes=data.get("notes", ""),
                send_receipt=data["send_receipt"],
            )
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class CreditNoteViewSet(ApiViewSet):
    serializer_class = InvoiceSerializer
    required_permissions = {
        "list": "billing.view",
        "retrieve": "billing.view",
        "pdf": "billing.view",
        "ubl": "billing.view",
        "create": "billing.issue",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invoice.objects.none()
        return (
            access.invoices_for(self.request.user)
            .filter(document_type=DocumentType.CREDIT_NOTE)
            .prefetch_related("lines")
        )

    def get_object(self):
        return access._get(self.get_queryset(), self.kwargs["pk"])

    @extend_schema(parameters=[CONTACT])
    def list(self, request):
        page = self.paginate_queryset(_filtered(self.get_queryset(), request))
        return self.get_paginated_response(InvoiceSerializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(InvoiceSerializer(self.get_object()).data)

    @extend_schema(request=CreditNoteCreateSerializer, responses={201: InvoiceSerializer})
    def create(self, request):
        """Issue a credit note for an invoice: all of it, or the lines given."""
        serializer = CreditNoteCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            note = credit_notes.credit_invoice(
                self.actor, data["invoice_id"], reason=data["reason"], lines=data.get("lines")
            )
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        except IssueRefused as exc:
            return problem(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "The credit note breaks EN 16931 business rules.",
                {"rules": exc.messages},
            )
        return Response(InvoiceSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk):
        return _document(self.get_object(), InvoiceDocument.Kind.FACTURX_PDF, "application/pdf")

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def ubl(self, request, pk):
        return _document(self.get_object(), InvoiceDocument.Kind.UBL, "application/xml")


class PaymentViewSet(ApiViewSet):
    serializer_class = PaymentSerializer
    required_permissions = {
        "list": "billing.view",
        "retrieve": "billing.view",
        "create": "billing.payments",
        "refund": "billing.payments",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        queryset = access.payments_for(self.request.user).prefetch_related("allocations", "refunds")
        contact_id = parse_uuid(self.request.query_params.get("contact_id"))
        if contact_id:
            queryset = queryset.filter(contact_id=contact_id)
        return queryset

    def get_object(self):
        return access._get(self.get_queryset(), self.kwargs["pk"])

    @extend_schema(parameters=[CONTACT])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PaymentSerializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(PaymentSerializer(self.get_object()).data)

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer})
    def create(self, request):
        """Money from a client not tied to one invoice: kept as credit, or spread over
        ``allocations`` (a grouped transfer)."""
        serializer = PaymentCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            payment = payments.record_payment(
                self.actor,
                contact=data["contact_id"],
                amount=data["amount"],
                currency=data["currency"],
                received_on=data.get("date"),
                method=data["method"],
                reference=data.get("reference", ""),
                notes=data.get("notes", ""),
                allocations=[(a["invoice_id"], a["amount"]) for a in data.get("allocations", [])],
                send_receipt=data["send_receipt"],
            )
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PaymentRefundInputSerializer, responses={200: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk):
        """Record money given back (from the client's credit first, then off invoices)."""
        serializer = PaymentRefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = self.get_object()
        try:
            payments.refund_payment(self.actor, payment, **serializer.validated_data)
        except InvoiceStateError as exc:
            raise _conflict(exc) from exc
        return Response(PaymentSerializer(self.get_object()).data)


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [
    ("invoices", InvoiceViewSet, "invoice"),
    ("credit-notes", CreditNoteViewSet, "credit-note"),
    ("payments", PaymentViewSet, "payment"),
]
