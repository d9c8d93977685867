"""What ``capture_lead`` asks of scoring for each new lead, inside its transaction."""

from __future__ import annotations

from throughline.core.actor import Actor
from throughline.intake.models import Lead

REFRESHED = ["status", "status_reason", "score", "tier", "qualification", "conversion_probability"]


def score_and_qualify(actor: Actor, lead: Lead) -> None:
    """Rules score and tier, the learned model's probability, then the rubric's outcome.

    A known person's earlier open leads earn the "sent another inquiry" intent points. The
    ``lead`` instance is refreshed, so the caller answers with its final status and score.
    """
    from throughline.intake.scoring import learned, qualification, rules
    from throughline.intake.scoring.models import Signal

    rules.score_new_lead(actor, lead)
    prediction = learned.predict(lead)
    if prediction is not None:
        lead.conversion_probability = prediction.probability
        Lead.objects.filter(pk=lead.pk).update(conversion_probability=prediction.probability)
    evaluation = qualification.qualify_at_capture(actor, lead)
    if not lead.contact_created:
        earlier = Lead.objects.filter(
            contact_id=lead.contact_id,
            status__in=Lead.OPEN_STATUSES,
            received_at__lt=lead.received_at,
        ).exclude(pk=lead.pk)
        for other in earlier[:20]:
            rules.record_signal(
                actor, other, Signal.REPEAT_INQUIRY, ref=f"lead:{lead.pk}", at=lead.received_at
            )
    if evaluation is not None:
        # The outcome was applied on a locked copy of the lead (status, reason, qualification).
        lead.refresh_from_db(fields=REFRESHED)
