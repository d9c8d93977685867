"""The intake half of converting a lead: the lead becomes "converted", ``lead.converted``.

The deal itself is made by sales (``throughline.sales.services.lead_conversion``), which may
import intake; intake never imports sales (DESIGN §2). Sales calls ``mark_converted`` in the
same transaction as it creates the deal, so both happen or neither.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.crm import services as crm
from throughline.crm.custom_fields import definitions
from throughline.crm.models import Task
from throughline.intake.models import Lead


def lock_convertible(lead: Lead) -> Lead:
    """The lead, locked, if it may still be converted (caller holds the transaction)."""
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("contact", "company", "source", "owner")
        .get(pk=lead.pk)
    )
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError({"__all__": "This lead is already converted."})
    if lead.status == Lead.Status.REJECTED:
        raise ValidationError({"__all__": "This lead was rejected; reopen it before converting."})
    return lead


def answers(lead: Lead) -> list[tuple[str, str]]:
    """Everything the person told us, labelled, for the deal's notes (nothing retyped)."""
    labels = {d.key: d.label for d in definitions("lead")}
    rows: list[tuple[str, str]] = []
    for key, value in (lead.custom or {}).items():
        rows.append(
            (
                labels.get(key, key),
                "Yes" if value is True else "No" if value is False else str(value),
            )
        )
    for key, value in (lead.utm or {}).items():
        rows.append((key, str(value)))
    for label, value in (
        ("Job title", lead.title),
        ("Website", lead.website),
        ("Phone", lead.phone),
        ("E-mail", lead.email),
        ("Referrer", lead.referrer),
    ):
        if value:
            rows.append((label, value))
    return rows


def deal_notes(lead: Lead) -> str:
    lines = [
        f"Converted from a lead via {lead.get_channel_display().lower()} "
        f"({lead.source.name}), received {lead.received_at:%Y-%m-%d %H:%M} UTC."
    ]
    if lead.message:
        lines += ["", "Their message:", lead.message]
    rows = answers(lead)
    if rows:
        lines += ["", "Their answers:"] + [f"- {label}: {value}" for label, value in rows]
    if (lead.qualification or {}).get("reasons"):
        lines += ["", "Qualification:"] + [f"- {r}" for r in lead.qualification["reasons"]]
    return "\n".join(lines)


def mark_converted(actor: Actor, lead: Lead, *, deal_id, facts: dict[str, Any]) -> Lead:
    """Record the conversion on a lead locked by ``lock_convertible`` (same transaction)."""
    before = lead.status
    lead.status = Lead.Status.CONVERTED
    lead.status_reason = "Converted to a deal"
    lead.converted_deal_id = deal_id
    lead.save(update_fields=["status", "status_reason", "converted_deal_id", "updated_at"])
    audit_log.record(
        actor,
        "lead.converted",
        lead,
        changes={"status": [before, lead.status], "deal": [None, str(deal_id)]},
    )
    for task in Task.objects.filter(source=lead.task_source, done_at__isnull=True):
        crm.complete_task(actor, task)
    events.emit(
        actor,
        "lead.converted",
        lead,
        deal_id=str(deal_id),
        contact_id=str(lead.contact_id),
        company_id=str(lead.company_id) if lead.company_id else None,
        owner_id=str(lead.owner_id) if lead.owner_id else None,
        source=lead.source.name,
        qualified_at=(lead.qualification or {}).get("at") or timezone.now().isoformat(),
        **facts,
    )
    return lead
