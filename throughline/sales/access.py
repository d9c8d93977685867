"""Fetch-and-check for sales records, with CRM's "sales see only their own records" rule.

Deals are scoped by owner; proposals by their deal's owner. Catalogue items and templates are
shared by everyone who may see sales.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from throughline.crm.access import own_records_only
from throughline.sales.models import (
    CatalogueItem,
    Deal,
    Proposal,
    ProposalTemplate,
)


def _get(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # Same answer for "absent" and "not yours": nothing leaks about other records.
        raise Http404("Not found") from exc


def deals_for(user) -> QuerySet[Deal]:
    deals = Deal.objects.select_related(
        "pipeline", "stage", "owner", "contact", "company", "lost_reason"
    )
    if own_records_only(user):
        deals = deals.filter(owner=user)
    return deals


def proposals_for(user) -> QuerySet[Proposal]:
    proposals = Proposal.objects.select_related(
        "deal", "deal__owner", "owner", "contact", "template_version__template"
    )
    if own_records_only(user):
        proposals = proposals.filter(deal__owner=user)
    return proposals


def access_deal(user, pk) -> Deal:
    return _get(deals_for(user), pk)


def access_proposal(user, pk) -> Proposal:
    return _get(proposals_for(user), pk)


def access_catalogue_item(user, pk) -> CatalogueItem:
    return _get(CatalogueItem.objects.all(), pk)


def access_template(user, pk) -> ProposalTemplate:
    return _get(ProposalTemplate.objects.all(), pk)
