"""Running an enrolment: each step is a job; the next one is enqueued with the step's effect.

``advance_enrollment(enrollment, position)`` locks the enrolment and acts only when
``next_position`` is still ``position`` (a duplicated job finds it moved on) and no ledger row
exists for that position (unique). Waits enqueue the next step with ``run_after``; after
downtime that job runs once, late, and the lateness is logged and kept in the ledger.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from throughline.automation import registry
from throughline.automation.business_days import Calendar
from throughline.automation.models import (
    Enrollment,
    EnrollmentStep,
    SequenceStep,
    StopReason,
)
from throughline.automation.sequences.services import stop
from throughline.core.actor import Actor
from throughline.core.jobs import PermanentJobError, job
from throughline.core.models import Channel, Organization
from throughline.crm.models import Contact
from throughline.messaging.models import EmailTemplate, OutboundMessage, Suppression

logger = logging.getLogger(__name__)
LATE_AFTER_SECONDS = 120


def sequence_actor() -> Actor:
    return Actor.system(Channel.WORKER, label="sequences")


def unsubscribed(contact: Contact) -> bool:
    """The contact withdrew marketing consent or unsubscribed with a link."""
    from throughline.messaging.services import MARKETING_CONSENT_PURPOSE, suppression_for

    latest = contact.consents.filter(purpose=MARKETING_CONSENT_PURPOSE).order_by("-recorded_at")
    consent = latest.first()
    if consent is not None and not consent.granted:
        return True
    suppression = suppression_for(contact.email) if contact.email else None
    return suppression is not None and suppression.reason == Suppression.Reason.UNSUBSCRIBED


@job(max_attempts=8)
def advance_enrollment(enrollment_id: str, position: int) -> str:
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("sequence", "contact")
            .filter(pk=enrollment_id)
            .first()
        )
        if enrollment is None:
            return "enrolment gone"
        if enrollment.status != Enrollment.Status.ACTIVE:
            return enrollment.status
        if (
            enrollment.next_position != position
            or enrollment.steps.filter(position=position).exists()
        ):
            return "already done"
        now = timezone.now()
        lateness = max(0.0, (now - (enrollment.next_step_at or now)).total_seconds())
        if lateness > LATE_AFTER_SECONDS:
            logger.warning(
                "Sequence %s step %d for enrolment %s ran %.0f s late (fell due while no "
                "worker ran)",
                enrollment.sequence.key,
                position,
                enrollment.pk,
                lateness,
            )
        actor = sequence_actor()
        sequence = enrollment.sequence
        if StopReason.UNSUBSCRIBED in (sequence.stop_on or []) and unsubscribed(enrollment.contact):
            stop(actor, enrollment, StopReason.UNSUBSCRIBED)
            return "stopped: unsubscribed"
        steps = list(sequence.steps.order_by("position", "id"))
        if position >= len(steps):
            _complete(enrollment)
            return "completed"
        step = steps[position]
        entry = EnrollmentStep(
            enrollment=enrollment,
            step=step,
            position=position,
            scheduled_for=enrollment.next_step_at,
            executed_at=now,
            lateness_seconds=lateness,
        )
        next_at = now
        if step.kind == SequenceStep.Kind.EMAIL:
            _send(actor, enrollment, step, entry)
        elif step.kind == SequenceStep.Kind.TASK:
            _task(actor, enrollment, step, entry, now)
        else:
            next_at = Calendar.for_organization().add_business_days(now, step.wait_business_days)
            entry.outcome = EnrollmentStep.Outcome.WAITED
            entry.detail = f"until {next_at.isoformat()}"
        entry.save(force_insert=True)
        enrollment.last_position = position
        enrollment.last_step = step
        enrollment.next_position = position + 1
        enrollment.next_step_at = next_at
        enrollment.save(
            update_fields=[
                "last_position",
                "last_step",
                "next_position",
                "next_step_at",
                "updated_at",
            ]
        )
        if position + 1 < len(steps) or step.kind == SequenceStep.Kind.WAIT:
            task = (
                advance_enrollment.using(run_after=next_at) if next_at > now else advance_enrollment
            )
            task.enqueue(str(enrollment.pk), position + 1)
        else:
            _complete(enrollment)
        return entry.outcome


def _complete(enrollment: Enrollment) -> None:
    enrollment.status = Enrollment.Status.COMPLETED
    enrollment.next_step_at = None
    enrollment.save(update_fields=["status", "next_step_at", "updated_at"])


def _send(actor: Actor, enrollment: Enrollment, step: SequenceStep, entry: EnrollmentStep) -> None:
    from throughline.messaging.services import queue_templated_email

    contact = enrollment.contact
    if not EmailTemplate.objects.filter(key=step.template_key).exists():
        raise PermanentJobError(f"No e-mail template {step.template_key!r}")
    if not contact.email:
        entry.outcome = EnrollmentStep.Outcome.SUPPRESSED
        entry.detail = "the contact has no e-mail address"
        return
    message = queue_templated_email(
        actor,
        step.template_key,
        to=contact.email,
        context={
            **registry.merge_fields_for(enrollment.subject_type, enrollment.subject_id),
            "contact": contact,
            "organization": Organization.current(),
        },
        contact=contact,
        source=f"automation.enrollment:{enrollment.pk}",
        idempotency_key=f"enrollment:{enrollment.pk}:{entry.position}",
    )
    entry.message = message
    if message.status == OutboundMessage.Status.SUPPRESSED:
        # Messaging decided: no consent for marketing, or a suppressed address.
        no_consent = "consent" in message.status_reason
        entry.outcome = (
            EnrollmentStep.Outcome.NO_CONSENT if no_consent else EnrollmentStep.Outcome.SUPPRESSED
        )
        entry.detail = message.status_reason[:300]
    else:
        entry.outcome = EnrollmentStep.Outcome.SENT


def _task(
    actor: Actor, enrollment: Enrollment, step: SequenceStep, entry: EnrollmentStep, now
) -> None:
    from throughline.crm import services as crm
    from throughline.messaging.rendering import render_string

    contact = enrollment.contact
    title = " ".join(render_string(step.task_title, {"contact": contact}, html=False).split())
    task = crm.create_task(
        actor,
        title=title or step.task_title,
        owner=contact.owner if contact.owner and contact.owner.is_active else None,
        contact=contact,
        due_at=Calendar.for_organization().add_business_days(now, step.task_due_business_days),
        source=f"automation.enrollment:{enrollment.pk}",
    )
    entry.task = task
    entry.outcome = EnrollmentStep.Outcome.TASK_CREATED
