"""Convert a lead into a deal in one action (issue 5): nothing is typed again.

Sales may import intake (DESIGN §2), so the conversion lives here: in one transaction the lead
is locked and checked (``intake.scoring.conversion``), the deal is created with the lead's
contact, company, owner and source and every answer in its notes, and the lead is marked
converted (``lead.converted``, whose sales handler then finds this deal: ``Deal.lead_id`` is
unique).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.core.actor import Actor
from throughline.intake.models import Lead
from throughline.intake.scoring import conversion
from throughline.sales.models import Deal, Pipeline, Stage
from throughline.sales.services import pipeline as pipeline_services


def deal_title(lead: Lead) -> str:
    who = lead.company_name or (lead.company.name if lead.company_id else "") or lead.display_name
    return f"{who} — {lead.source.name}"[:200]


@transaction.atomic
def convert_lead(
    actor: Actor,
    lead: Lead,
    *,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    value: Any = None,
    currency: str = "",
    title: str = "",
    expected_close_date: dt.date | None = None,
) -> Deal:
    """The deal the lead becomes (``lead.converted``); refused when already converted/rejected."""
    if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": "This stage belongs to another pipeline."})
    lead = conversion.lock_convertible(lead)
    data: dict[str, Any] = {
        "title": (title or "").strip() or deal_title(lead),
        "contact": lead.contact,
        "company": lead.company or lead.contact.company,
        "owner": lead.owner if lead.owner and lead.owner.is_active else actor.user,
        "source": lead.source.name[:100],
        "notes": conversion.deal_notes(lead),
    }
    if value not in (None, ""):
        data["value"] = value
    if currency:
        data["currency"] = currency
    if expected_close_date:
        data["expected_close_date"] = expected_close_date
    qualified = (lead.qualification or {}).get("at")
    deal = pipeline_services.create_deal(
        actor,
        pipeline=pipeline,
        stage=stage,
        lead_id=lead.pk,
        qualified_at=dt.datetime.fromisoformat(qualified) if qualified else None,
        **data,
    )
    conversion.mark_converted(
        actor,
        lead,
        deal_id=deal.pk,
        facts={
            "title": deal.title,
            "value": str(deal.value),
            "currency": deal.currency,
            "pipeline_id": str(deal.pipeline_id),
            "stage_id": str(deal.stage_id),
        },
    )
    return deal
