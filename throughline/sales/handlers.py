"""Reactions of the sales app to other apps' events (DESIGN §4).

``lead.converted`` (intake): intake cannot import sales (DESIGN §2 — sales is to its right),
so a converted lead becomes a deal here. The event's payload carries the facts::

    {"deal_id": "<uuid allocated by intake, returned by POST /leads/{id}/convert>",
     "contact_id": …, "company_id": …, "owner_id": …, "title": …, "value": "1200.00",
     "currency": "EUR", "pipeline_id": …, "stage_id": …, "qualified_at": "<ISO 8601>",
     "source": "web form"}

Every key is optional except that the lead is the event's subject. The handler is idempotent
(``Deal.lead_id`` is unique) — a replayed event finds the deal it made the first time.
"""

from __future__ import annotations

import uuid

from django.utils.dateparse import parse_datetime

from throughline.core.actor import Actor
from throughline.core.events import on
from throughline.core.models import DomainEvent, User
from throughline.crm.models import Company, Contact
from throughline.sales.models import Deal, Pipeline, Stage
from throughline.sales.services import pipeline as pipeline_services


def _get(model, pk):
    if not pk:
        return None
    try:
        return model.objects.filter(pk=pk).first()
    except (ValueError, TypeError):
        return None


@on("lead.converted")
def deal_from_converted_lead(event: DomainEvent) -> Deal | None:
    payload = event.payload or {}
    try:
        lead_id = uuid.UUID(str(event.subject_id))
    except ValueError:
        return None
    existing = Deal.objects.filter(lead_id=lead_id).first()
    if existing is not None:
        return existing
    contact = _get(Contact, payload.get("contact_id"))
    stage = _get(Stage, payload.get("stage_id"))
    pipeline = _get(Pipeline, payload.get("pipeline_id")) or (stage.pipeline if stage else None)
    qualified = payload.get("qualified_at")
    data = {
        "title": payload.get("title")
        or (f"{contact} — new deal" if contact else f"Deal from lead {str(lead_id)[:8]}"),
        "contact": contact,
        "company": _get(Company, payload.get("company_id"))
        or (contact.company if contact else None),
        "owner": _get(User, payload.get("owner_id")) or (contact.owner if contact else None),
        "source": str(payload.get("source") or "")[:100],
    }
    if payload.get("value") not in (None, ""):
        data["value"] = payload["value"]
    if payload.get("currency"):
        data["currency"] = payload["currency"]
    actor = Actor.system(label="lead conversion")
    deal = pipeline_services.create_deal(
        actor,
        pipeline=pipeline,
        stage=stage,
        lead_id=lead_id,
        qualified_at=parse_datetime(qualified) if isinstance(qualified, str) else None,
        deal_id=payload.get("deal_id"),
        **data,
    )
    return deal
