"""Fetch-and-check for billing records: only what the user may see (as crm.access does)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from throughline.billing.models import Invoice, Payment
from throughline.crm.access import own_records_only


def invoices_for(user) -> QuerySet[Invoice]:
    queryset = Invoice.objects.select_related("contact", "company", "corrects")
    if own_records_only(user):
        queryset = queryset.filter(contact__owner=user)
    return queryset


def payments_for(user) -> QuerySet[Payment]:
    queryset = Payment.objects.select_related("contact", "invoice")
    if own_records_only(user):
        queryset = queryset.filter(contact__owner=user)
    return queryset


def _get(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # Same answer for "absent" and "not yours".
        raise Http404("Not found") from exc


def access_invoice(user, pk) -> Invoice:
    return _get(invoices_for(user), pk)


def access_payment(user, pk) -> Payment:
    return _get(payments_for(user), pk)
