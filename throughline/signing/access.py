"""Fetch-and-check for contracts: sales limited to their own records see their deals' only."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from throughline.crm.access import own_records_only
from throughline.signing.models import Contract, ContractTemplate


def contracts_for(user) -> QuerySet[Contract]:
    contracts = Contract.objects.select_related(
        "deal", "deal__owner", "proposal", "proposal_version", "owner", "template_version"
    )
    if own_records_only(user):
        contracts = contracts.filter(deal__owner=user)
    return contracts


def _get(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("Not found") from exc


def access_contract(user, pk) -> Contract:
    return _get(contracts_for(user), pk)


def access_template(user, pk) -> ContractTemplate:
    return _get(ContractTemplate.objects.all(), pk)
