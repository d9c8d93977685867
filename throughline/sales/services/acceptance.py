"""The client's side of a proposal's life: acceptance, expiry, and the reminder before it.

Only the newest sent version can be accepted, before its validity date, with a valid choice of
options; the amounts are computed here for that choice. A client looking at an older version
(a stale page) is refused and shown the new one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.sales.content import check_selection
from throughline.sales.models import Proposal, ProposalAcceptance, ProposalVersion
from throughline.sales.services import notify, pricing
from throughline.sales.services.pipeline import touch
from throughline.sales.services.proposals import client_address, client_link, today

VStatus = ProposalVersion.Status
REMINDER_DAYS_BEFORE = 3


class StaleVersion(ValidationError):
    """The client tried to accept a version that is no longer the current one."""


@transaction.atomic
def accept_proposal(
    actor: Actor,
    proposal: Proposal,
    *,
    version_id: Any,
    options: list[str],
    name: str,
    email: str = "",
    agreed: bool,
    user_agent: str = "",
) -> ProposalAcceptance:
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("deal", "owner")
        .get(pk=proposal.pk)
    )
    if proposal.status == Proposal.Status.ACCEPTED:
        raise ValidationError({"__all__": "This proposal was accepted already."})
    if proposal.status == Proposal.Status.EXPIRED:
        raise ValidationError({"__all__": "This proposal has expired; ask us for a new one."})
    if proposal.status != Proposal.Status.SENT:
        raise ValidationError({"__all__": "This proposal cannot be accepted."})
    current = proposal.client_version()
    version = proposal.versions.filter(pk=version_id).first() if version_id else None
    if version is None or current is None or version.pk != current.pk:
        raise StaleVersion(
            {
                "__all__": "A newer version of this proposal has been sent; "
                "please review it before accepting."
            }
        )
    if version.valid_until < today():
        raise ValidationError({"__all__": "This proposal has expired; ask us for a new one."})
    name = " ".join((name or "").split())[:200]
    errors = {}
    if not name:
        errors["name"] = "Type your full name to accept."
    if not agreed:
        errors["agreed"] = "Tick the box to confirm you accept the proposal and its terms."
    if errors:
        raise ValidationError(errors)
    selection = check_selection(version.content.get("options", []), list(options or []))
    lines = list(version.lines.all())
    totals = pricing.totals(
        lines, proposal.currency, discount_percent=version.discount_percent, selection=selection
    )
    now = timezone.now()
    acceptance = ProposalAcceptance.objects.create(
        proposal=proposal,
        version=version,
        selected_options=selection,
        name=name,
        email=(email or "").strip()[:254],
        ip=actor.ip,
        user_agent=(user_agent or "")[:300],
        accepted_at=now,
        currency=proposal.currency,
        net_total=totals.net,
        tax_total=totals.tax,
        gross_total=totals.gross,
        content_hash=version.content_hash,
    )
    version.status = VStatus.ACCEPTED
    version.save(update_fields=["status", "updated_at"])
    proposal.status = Proposal.Status.ACCEPTED
    proposal.accepted_at = now
    proposal.accepted_version = version
    proposal.save(update_fields=["status", "accepted_at", "accepted_version", "updated_at"])
    audit_log.record(
        actor,
        "proposal.accepted",
        proposal,
        changes={
            "version": [None, version.number],
            "options": [None, selection],
            "name": [None, name],
            "gross_total": [None, str(totals.gross)],
            "content_hash": [None, version.content_hash],
        },
    )
    events.emit(
        actor,
        "proposal.accepted",
        proposal,
        version=version.number,
        options=selection,
        currency=proposal.currency,
        net_total=str(totals.net),
        tax_total=str(totals.tax),
        gross_total=str(totals.gross),
        deal_id=str(proposal.deal_id),
        acceptance_id=acceptance.pk,
    )
    owner = proposal.owner or proposal.deal.owner
    notify.email_users(
        actor,
        [owner],
        subject=f"Accepted: proposal {proposal.number} ({proposal.title})",
        template="sales/email/proposal_accepted_staff.txt",
        context={
            "proposal": proposal,
            "version": version,
            "acceptance": acceptance,
            "url": notify.staff_url("sales:proposal_detail", proposal.pk),
        },
        source=f"sales.proposal:{proposal.pk}",
    )
    try:
        to, contact = client_address(proposal)
    except ValidationError:
        to = ""
    if to:
        notify.email_client(
            actor,
            to=to,
            contact=contact,
            subject=f"You accepted proposal {proposal.number}: {proposal.title}",
            template="sales/email/proposal_accepted_client.txt",
            context={
                "proposal": proposal,
                "version": version,
                "acceptance": acceptance,
                "link": client_link(proposal, version),
            },
            source=f"sales.proposal:{proposal.pk}",
        )
    touch(proposal.deal)
    return acceptance


def expire_due(actor: Actor | None = None) -> int:
    """Sent proposals whose current version's validity has passed become expired."""
    actor = actor or Actor.system(label="proposal expiry")
    done = 0
    cutoff = today()
    candidates = Proposal.objects.filter(
        status=Proposal.Status.SENT, versions__status=VStatus.SENT, versions__valid_until__lt=cutoff
    ).distinct()
    for proposal in candidates:
        with transaction.atomic():
            locked = Proposal.objects.select_for_update(of=("self",)).get(pk=proposal.pk)
            version = locked.client_version()
            if locked.status != Proposal.Status.SENT or version is None:
                continue
            if version.valid_until >= cutoff:
                continue
            locked.status = Proposal.Status.EXPIRED
            locked.expired_at = timezone.now()
            locked.save(update_fields=["status", "expired_at", "updated_at"])
            audit_log.record(
                actor,
                "proposal.expired",
                locked,
                changes={"status": ["sent", "expired"], "valid_until": [None, version.valid_until]},
            )
            done += 1
    return done


def remind_expiring(actor: Actor | None = None, days_before: int = REMINDER_DAYS_BEFORE) -> int:
    """E-mail the client (and the owner) once, a few days before the current version expires.

    Each version is claimed with a conditional UPDATE on ``reminder_sent_at``, so two workers
    (or a retried job) never send the same reminder twice.
    """
    actor = actor or Actor.system(label="proposal reminders")
    start = today()
    end = start + dt.timedelta(days=days_before)
    due = ProposalVersion.objects.filter(
        status=VStatus.SENT,
        reminder_sent_at__isnull=True,
        valid_until__gte=start,
        valid_until__lte=end,
        proposal__status=Proposal.Status.SENT,
    ).select_related("proposal", "proposal__deal", "proposal__owner")
    sent = 0
    for version in due:
        with transaction.atomic():
            claimed = ProposalVersion.objects.filter(
                pk=version.pk, reminder_sent_at__isnull=True, status=VStatus.SENT
            ).update(reminder_sent_at=timezone.now())
            if claimed != 1:
                continue
            proposal = version.proposal
            days_left = (version.valid_until - start).days
            try:
                to, contact = client_address(proposal)
            except ValidationError:
                to = ""
            if to:
                notify.email_client(
                    actor,
                    to=to,
                    contact=contact,
                    subject=f"Reminder: proposal {proposal.number} is open until "
                    f"{version.valid_until:%d %b %Y}",
                    template="sales/email/proposal_reminder.txt",
                    context={
                        "proposal": proposal,
                        "version": version,
                        "days_left": days_left,
                        "link": client_link(proposal, version),
                    },
                    source=f"sales.proposal:{proposal.pk}",
                    idempotency_key=f"sales.proposal-reminder:{version.pk}",
                )
            notify.email_users(
                actor,
                [proposal.owner or proposal.deal.owner],
                subject=f"Proposal {proposal.number} expires in {days_left} day(s)",
                template="sales/email/proposal_reminder_staff.txt",
                context={
                    "proposal": proposal,
                    "version": version,
                    "days_left": days_left,
                    "url": notify.staff_url("sales:proposal_detail", proposal.pk),
                },
                source=f"sales.proposal:{proposal.pk}",
            )
            audit_log.record(
                actor,
                "proposal.reminder_sent",
                proposal,
                changes={
                    "version": [None, version.number],
                    "valid_until": [None, version.valid_until],
                },
            )
            sent += 1
    return sent
