"""Fetch-and-check for leads and possible duplicates (as ``crm.access`` does for contacts)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from throughline.crm.access import own_records_only
from throughline.intake.models import Lead, PossibleDuplicate


def leads_for(user) -> QuerySet[Lead]:
    """Leads ``user`` may see: all, or only their own for sales limited to their records."""
    queryset = Lead.objects.select_related("contact", "company", "source", "owner")
    if own_records_only(user):
        queryset = queryset.filter(owner=user)
    return queryset


def duplicates_for(user) -> QuerySet[PossibleDuplicate]:
    queryset = PossibleDuplicate.objects.select_related(
        "lead", "lead__source", "contact", "contact__company", "candidate", "candidate__company"
    )
    if own_records_only(user):
        queryset = queryset.filter(lead__owner=user)
    return queryset


def _get(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # "Absent" and "not yours" look the same: nothing leaks about other records.
        raise Http404("Not found") from exc


def access_lead(user, pk) -> Lead:
    return _get(leads_for(user), pk)


def access_duplicate(user, pk) -> PossibleDuplicate:
    return _get(duplicates_for(user), pk)
