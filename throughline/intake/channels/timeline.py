"""What the channels add to a contact's timeline: e-mails that started a lead.

An e-mail from a known contact is an activity already (shown by the CRM); one that made a
new lead is shown here, with its attachments, so the first message is on the person's page.
"""

from __future__ import annotations

from collections.abc import Iterable

from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source
from throughline.intake.channels.models import InboundEmail


@timeline_source
def inbound_emails(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    rows = (
        InboundEmail.objects.filter(contact=contact, outcome=InboundEmail.Outcome.LEAD)
        .prefetch_related("attachments")
        .order_by("-created_at")[:limit]
    )
    for email in rows:
        names = [a.filename for a in email.attachments.all()]
        yield TimelineEntry(
            at=email.sent_at or email.created_at,
            kind="email",
            title=f"E-mail received: {email.subject or '(no subject)'}",
            body=email.text,
            actor=email.from_address,
            extra={"direction": "in", "attachments": names},
        )
