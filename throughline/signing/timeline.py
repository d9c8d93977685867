"""Contracts on the contact's timeline (crm.timeline's extension point)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source
from throughline.signing.models import Signer


@timeline_source
def _signing(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    signers = (
        Signer.objects.filter(contact=contact)
        .select_related("request__contract")
        .order_by("-created_at")[:limit]
    )
    for signer in signers:
        contract = signer.request.contract
        url = reverse("signing:contract_detail", args=[contract.pk])
        for what, at in (
            ("sent for signature", signer.invited_at),
            ("viewed", signer.first_viewed_at),
            ("signed", signer.signed_at),
            ("declined", signer.declined_at),
        ):
            if at is not None:
                yield TimelineEntry(
                    at=at, kind="contract", title=f"Contract {contract.number} {what}", url=url
                )
