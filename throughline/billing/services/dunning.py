"""Collections: reminders that neither go silent nor double up.

The policy (``DunningPolicy``) lists steps as offsets from the due date. An hourly sweep
(``billing.tasks.dunning_sweep``, ``core.scheduler``) looks at every open invoice near or past
its due date and, under the invoice's row lock:

1. emits ``invoice.overdue`` once, the first time it sees the invoice past due;
2. finds the latest step that is due (due date + offset ≤ today) and not yet in the ledger;
3. sends that one step only — earlier steps still missing (the worker was down, a date was
   missed) are written to the ledger as *skipped*, so a catch-up is one reminder, never a burst;
4. never more than one reminder per invoice per day: a day that already has one waits for
   tomorrow, and the unique (invoice, sent_on) key backs that up against a racing sweep.

A step may create a task for the client's owner (escalation) and charge late fees
(``late_fees.charge_late_fees``, once per period). Reminders stop at once when the invoice is
paid (the sweep only looks at open invoices; ``invoice.paid`` closes the case), when it is
disputed (``dispute_invoice``), and while the client is paused (``pause_dunning``).

Steps relative to a due date do not fit the automation sequence engine (business-day waits
from enrolment, chained jobs), so they run here; see ``billing.models.dunning``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from throughline.billing.documents.pdf import Formatter
from throughline.billing.models import (
    DunningCase,
    DunningPause,
    DunningPolicy,
    Invoice,
    ReferenceRate,
    Reminder,
)
from throughline.billing.services import late_fees
from throughline.billing.services.dates import org_today
from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm.models import Contact
from throughline.messaging.models import EmailTemplate, Kind

logger = logging.getLogger(__name__)

FRIENDLY, DUE, OVERDUE, FINAL = (
    "billing-reminder-friendly",
    "billing-reminder-due",
    "billing-reminder-overdue",
    "billing-reminder-final",
)

DEFAULT_STEPS: list[dict[str, Any]] = [
    {"offset": -3, "label": "Friendly reminder", "template": FRIENDLY, "task": False, "fee": False},
    {"offset": 0, "label": "Due today", "template": DUE, "task": False, "fee": False},
    {"offset": 7, "label": "Overdue reminder", "template": OVERDUE, "task": False, "fee": False},
    {"offset": 14, "label": "Escalation", "template": OVERDUE, "task": True, "fee": False},
    {"offset": 30, "label": "Final notice", "template": FINAL, "task": False, "fee": True},
]

_SIGNATURE = "\n\n{{ seller_name }}\n"
_LINKS = (
    "\n\nSee the invoice and pay: {{ url }}\nDownload the PDF: {{ pdf_url }}"
    "{% if fee_note %}\n\n{{ fee_note }}{% endif %}"
)
DEFAULT_TEMPLATES = {
    FRIENDLY: (
        "Friendly reminder: invoice {{ invoice_number }} falls due on {{ due_date }}",
        "Hello {{ greeting_name }},\n\nA friendly note that invoice {{ invoice_number }} "
        "({{ amount_due }}) falls due on {{ due_date }}." + _LINKS + _SIGNATURE,
    ),
    DUE: (
        "Invoice {{ invoice_number }} is due today",
        "Hello {{ greeting_name }},\n\nInvoice {{ invoice_number }} ({{ amount_due }}) is due "
        "today, {{ due_date }}." + _LINKS + _SIGNATURE,
    ),
    OVERDUE: (
        "Reminder: invoice {{ invoice_number }} is {{ days_overdue }} days overdue",
        "Hello {{ greeting_name }},\n\nInvoice {{ invoice_number }} was due on {{ due_date }} "
        "and {{ amount_due }} is still open. Please pay it, or tell us if something is wrong."
        + _LINKS
        + _SIGNATURE,
    ),
    FINAL: (
        "Final notice: invoice {{ invoice_number }}",
        "Hello {{ greeting_name }},\n\nInvoice {{ invoice_number }} is {{ days_overdue }} days "
        "overdue ({{ amount_due }} open). This is our final notice before further steps."
        + _LINKS
        + _SIGNATURE,
    ),
}
MAX_STEPS = 12
NOTHING_LEFT = dt.date.max  # next_check_on of a case whose steps are all done


def dunning_actor() -> Actor:
    return Actor.system(Channel.WORKER, label="dunning")


def ensure_templates() -> None:
    """The reminder e-mail templates exist (staff may edit them; never overwritten)."""
    for key, (subject, body) in DEFAULT_TEMPLATES.items():
        EmailTemplate.objects.get_or_create(
            key=key,
            defaults={
                "name": f"Payment reminder ({key.rsplit('-', 1)[-1]})",
                "kind": Kind.TRANSACTIONAL,
                "subject": subject,
                "body_text": body,
            },
        )


def current_policy() -> DunningPolicy:
    policy = DunningPolicy.objects.filter(key="default").first()
    if policy is None:
        try:
            with transaction.atomic():
                policy = DunningPolicy.objects.create(key="default", steps=DEFAULT_STEPS)
        except IntegrityError:
            policy = DunningPolicy.objects.get(key="default")
    return policy


def clean_steps(steps: Any) -> list[dict[str, Any]]:
    ensure_templates()
    if not isinstance(steps, list) or not steps:
        raise ValidationError({"steps": ["Give at least one step."]})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": [f"At most {MAX_STEPS} steps."]})
    errors: dict[str, list[str]] = {}
    cleaned = []
    previous = None
    for index, step in enumerate(steps, start=1):
        where = f"steps.{index}"
        if not isinstance(step, dict):
            errors[where] = ["Each step is an object."]
            continue
        offset = step.get("offset")
        if isinstance(offset, str) and offset.strip().lstrip("+-").isdigit():
            offset = int(offset)
        if not isinstance(offset, int) or isinstance(offset, bool) or not -60 <= offset <= 365:
            errors[where] = ["The offset is whole days from the due date, −60 to 365."]
            continue
        if previous is not None and offset <= previous:
            errors[where] = ["Steps go in order of their offset, each later than the last."]
            continue
        previous = offset
        template = str(step.get("template") or "")
        if not EmailTemplate.objects.filter(key=template).exists():
            errors[where] = [f"No e-mail template {template!r}."]
            continue
        label = " ".join(str(step.get("label") or "").split())[:120] or f"Day {offset:+d}"
        cleaned.append(
            {
                "offset": offset,
                "label": label,
                "template": template,
                "task": bool(step.get("task")),
                "fee": bool(step.get("fee")),
            }
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def set_policy(
    actor: Actor,
    *,
    kind: str,
    steps: list[dict] | None = None,
    is_active: bool = True,
    interest_margin: Any = None,
    recovery_fee: Any = None,
    recovery_fee_currency: str | None = None,
) -> DunningPolicy:
    """Choose the EU late-payment policy, reminders only, or custom steps (with fees if set)."""
    from throughline.billing.services.calculation import check_currency
    from throughline.billing.services.payments import parse_amount

    if kind not in DunningPolicy.Kind.values:
        raise ValidationError({"kind": [f"Choose one of {', '.join(DunningPolicy.Kind.values)}."]})
    policy = DunningPolicy.objects.select_for_update().get(pk=current_policy().pk)
    before = audit_log.snapshot(policy)
    policy.kind = kind
    policy.is_active = bool(is_active)
    if kind == DunningPolicy.Kind.CUSTOM:
        policy.steps = clean_steps(steps)
    else:
        policy.steps = clean_steps(DEFAULT_STEPS)
    eu = kind == DunningPolicy.Kind.EU_LATE_PAYMENT
    has_fee_step = any(step["fee"] for step in policy.steps)
    policy.charge_interest = eu or (kind == DunningPolicy.Kind.CUSTOM and has_fee_step)
    policy.charge_recovery_fee = policy.charge_interest
    if recovery_fee_currency:
        policy.recovery_fee_currency = check_currency(recovery_fee_currency)
    if recovery_fee not in (None, ""):
        policy.recovery_fee = parse_amount(recovery_fee, policy.recovery_fee_currency)
    if interest_margin not in (None, ""):
        margin = parse_amount(interest_margin, "EUR", "interest_margin")
        if margin > 100 or (eu and margin < 8):
            raise ValidationError(
                {"interest_margin": ["The EU rule asks for at least 8 points (at most 100)."]}
            )
        policy.interest_margin = margin
    policy.save()
    # New steps: every case is looked at again on the next sweep.
    DunningCase.objects.exclude(next_check_on=None).update(next_check_on=None)
    changes = audit_log.diff(before, audit_log.snapshot(policy))
    if changes:
        audit_log.record(actor, "dunning.policy_changed", policy, changes=changes)
    return policy


@transaction.atomic
def set_reference_rate(actor: Actor, period_start: dt.date, rate: Any) -> ReferenceRate:
    from throughline.billing.services.calculation import parse_decimal

    if period_start != late_fees.half_year_start(period_start) or period_start.day != 1:
        raise ValidationError({"period_start": ["A half-year starts on 1 January or 1 July."]})
    errors: dict = {}
    value = parse_decimal(rate, "rate", errors, places=3, low=Decimal(-5), high=Decimal(50))
    if errors:
        raise ValidationError(errors)
    row, _ = ReferenceRate.objects.update_or_create(
        period_start=period_start, defaults={"rate": value}
    )
    audit_log.record(
        actor, "dunning.reference_rate_set", row, changes={str(period_start): [None, value]}
    )
    return row


# --- pausing and disputes ------------------------------------------------------------------


@transaction.atomic
def pause_dunning(actor: Actor, contact: Contact, reason: str = "") -> DunningPause:
    pause, created = DunningPause.objects.get_or_create(
        contact=contact, defaults={"reason": (reason or "").strip()[:300], "paused_by": actor.user}
    )
    if created:
        audit_log.record(actor, "dunning.paused", contact, changes={"reason": [None, pause.reason]})
    return pause


@transaction.atomic
def resume_dunning(actor: Actor, contact: Contact) -> bool:
    deleted, _ = DunningPause.objects.filter(contact=contact).delete()
    DunningCase.objects.filter(invoice__contact=contact).update(next_check_on=None)
    if deleted:
        audit_log.record(actor, "dunning.resumed", contact)
    return bool(deleted)


def _case_for_update(invoice: Invoice) -> DunningCase:
    Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice.pk).first()
    case, _ = DunningCase.objects.get_or_create(invoice=invoice)
    return DunningCase.objects.select_for_update().get(pk=case.pk)


@transaction.atomic
def dispute_invoice(actor: Actor, invoice: Invoice, reason: str = "") -> DunningCase:
    """The client disputes the invoice: reminders stop until the dispute is resolved."""
    if invoice.is_draft or invoice.is_credit_note:
        raise ValidationError("Only an issued invoice can be disputed.")
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise ValidationError({"reason": ["Say what the client disputes."]})
    case = _case_for_update(invoice)
    if case.state == DunningCase.State.DISPUTED:
        return case
    before = case.state
    case.state = DunningCase.State.DISPUTED
    case.disputed_at = timezone.now()
    case.dispute_reason = reason
    case.save(update_fields=["state", "disputed_at", "dispute_reason", "updated_at"])
    audit_log.record(
        actor,
        "invoice.disputed",
        invoice,
        changes={"dunning": [before, case.state], "reason": [None, reason]},
    )
    return case


@transaction.atomic
def resolve_dispute(actor: Actor, invoice: Invoice) -> DunningCase:
    case = _case_for_update(invoice)
    if case.state != DunningCase.State.DISPUTED:
        raise ValidationError("This invoice is not disputed.")
    case.state = DunningCase.State.ACTIVE if invoice.is_open else DunningCase.State.CLOSED
    case.next_check_on = None
    case.save(update_fields=["state", "next_check_on", "updated_at"])
    audit_log.record(
        actor, "invoice.dispute_resolved", invoice, changes={"dunning": ["disputed", case.state]}
    )
    return case


REMINDER_KEY = "billing.dunning:"


def reminder_still_due(message) -> str:
    """Send-time check of a queued reminder: "" to send it, else why it is withdrawn.

    A payment, a dispute or a pause between queueing and sending stops the reminder at once,
    without waiting for ``invoice.paid``'s handler (e-mail jobs run first).
    """
    key = message.idempotency_key or ""
    if not key.startswith(REMINDER_KEY):
        return ""
    invoice_id = key.removeprefix(REMINDER_KEY).split(":", 1)[0]
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or not invoice.is_open:
        return "the invoice is no longer open"
    if DunningCase.objects.filter(invoice=invoice, state=DunningCase.State.DISPUTED).exists():
        return "the invoice is disputed"
    if DunningPause.objects.filter(contact_id=invoice.contact_id).exists():
        return "reminders to this client are paused"
    return ""


def stop_on_payment(invoice_id: str) -> bool:
    """``invoice.paid``: the case is closed (the sweep ignores paid invoices anyway).

    Only while the invoice is still paid: the event's job may run after the payment was
    taken back (an undone bank match), and must not stop the reminders of an open invoice.
    """
    return bool(
        DunningCase.objects.filter(
            invoice_id=invoice_id,
            state=DunningCase.State.ACTIVE,
            invoice__status=Invoice.Status.PAID,
        ).update(state=DunningCase.State.PAID, stopped_at=timezone.now(), updated_at=timezone.now())
    )


def resume_on_unpaid(invoices: list[Invoice]) -> int:
    """The payment that closed these invoices' cases was taken back (an undone bank match):
    the ones open again remind again, from the next step not yet in the ledger — steps
    already sent are not repeated, steps missed meanwhile are caught up as one reminder
    (``remind``). Runs in the caller's transaction; returns the cases resumed."""
    reopened = [invoice.pk for invoice in invoices if invoice.is_open]
    if not reopened:
        return 0
    return DunningCase.objects.filter(invoice_id__in=reopened, state=DunningCase.State.PAID).update(
        state=DunningCase.State.ACTIVE,
        stopped_at=None,
        next_check_on=None,  # look at it in the next sweep
        updated_at=timezone.now(),
    )


# --- the sweep -----------------------------------------------------------------------------


@dataclass
class SweepResult:
    sent: int = 0
    skipped: int = 0
    overdue: int = 0
    fees: int = 0
    looked_at: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def sweep(today: dt.date | None = None) -> SweepResult:
    """Bring every open invoice's reminders up to date for ``today`` (idempotent)."""
    today = today or org_today()
    result = SweepResult()
    policy = current_policy()
    if not policy.is_active or not policy.steps:
        return result
    ensure_templates()
    earliest = min(step["offset"] for step in policy.steps)
    # Paused and disputed invoices are looked at too: they still become overdue (the event).
    candidates = (
        Invoice.objects.open()
        .filter(due_date__isnull=False, due_date__lte=today - dt.timedelta(days=earliest))
        .filter(
            Q(dunning_case__isnull=True)
            | Q(dunning_case__next_check_on__isnull=True)
            | Q(dunning_case__next_check_on__lte=today)
            | Q(dunning_case__overdue_emitted_at__isnull=True, due_date__lt=today)
        )
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)
    )
    for invoice_id in candidates.iterator(chunk_size=1000):
        result.looked_at += 1
        try:
            remind(invoice_id, policy, today, result)
        except Exception:
            # One broken invoice (a deleted template …) must not silence the others.
            logger.exception("Dunning of invoice %s failed", invoice_id)
    return result


def due_steps(policy: DunningPolicy, due_date: dt.date, today: dt.date) -> list[int]:
    return [
        index
        for index, step in enumerate(policy.steps)
        if due_date + dt.timedelta(days=step["offset"]) <= today
    ]


@transaction.atomic
def remind(invoice_id, policy: DunningPolicy, today: dt.date, result: SweepResult) -> str:
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None or not invoice.is_open or invoice.due_date is None:
        return "closed"
    case, _ = DunningCase.objects.get_or_create(invoice=invoice)
    actor = dunning_actor()
    if invoice.is_overdue(today) and case.overdue_emitted_at is None:
        case.overdue_emitted_at = timezone.now()
        case.save(update_fields=["overdue_emitted_at", "updated_at"])
        events.emit(
            actor,
            "invoice.overdue",
            invoice,
            number=invoice.number,
            contact_id=str(invoice.contact_id),
            due_date=invoice.due_date.isoformat(),
            amount_due=str(invoice.amount_due),
            currency=invoice.currency,
        )
        result.overdue += 1
    if case.state != DunningCase.State.ACTIVE:
        return case.state
    if DunningPause.objects.filter(contact_id=invoice.contact_id).exists():
        return "paused"
    indices = due_steps(policy, invoice.due_date, today)
    done = set(invoice.reminders.values_list("step_index", flat=True))
    _plan_next_check(case, policy, invoice, done, today)
    if not indices:
        return "not yet"
    latest = indices[-1]
    if latest in done or any(index > latest for index in done):
        return "up to date"
    if invoice.reminders.filter(sent_on=today).exists():
        case.next_check_on = today + dt.timedelta(days=1)
        case.save(update_fields=["next_check_on", "updated_at"])
        return "reminded today"  # the next step waits for tomorrow
    try:
        with transaction.atomic():
            for index in indices[:-1]:
                if index not in done:
                    _ledger(invoice, policy, index, Reminder.Outcome.SKIPPED).save()
                    result.skipped += 1
            _send_step(actor, invoice, policy, latest, today, result)
    except IntegrityError:
        return "raced"  # a concurrent sweep did it
    _plan_next_check(case, policy, invoice, done | set(indices), today)
    return "sent"


def _plan_next_check(
    case: DunningCase, policy: DunningPolicy, invoice: Invoice, done: set[int], today: dt.date
) -> None:
    """Remember the day of the next step not yet done (far future when none is left)."""
    upcoming = [
        invoice.due_date + dt.timedelta(days=step["offset"])
        for index, step in enumerate(policy.steps)
        if index not in done and index > max(done, default=-1)
    ]
    later = [day for day in upcoming if day > today]
    next_on = min(later) if later else (today if upcoming else NOTHING_LEFT)
    if case.next_check_on != next_on:
        case.next_check_on = next_on
        case.save(update_fields=["next_check_on", "updated_at"])


def _ledger(invoice: Invoice, policy: DunningPolicy, index: int, outcome: str) -> Reminder:
    step = policy.steps[index]
    return Reminder(
        invoice=invoice,
        contact_id=invoice.contact_id,
        step_index=index,
        step_label=step["label"][:120],
        offset_days=step["offset"],
        scheduled_on=invoice.due_date + dt.timedelta(days=step["offset"]),
        outcome=outcome,
    )


def reminder_context(invoice: Invoice, today: dt.date, fee_note: str = "") -> dict[str, Any]:
    from throughline.billing.services import documents, sending

    fmt = Formatter(locale=documents.locale_of(invoice), currency=invoice.currency)
    url = sending.new_client_link(invoice)
    seller = invoice.seller or {}
    return {
        "contact": invoice.contact,
        "greeting_name": sending._greeting(invoice),
        "invoice_number": invoice.number,
        "amount_due": fmt.money(invoice.amount_due),
        "due_date": fmt.date(invoice.due_date),
        "days_overdue": max(0, (today - invoice.due_date).days),
        "url": url,
        "pdf_url": f"{url}/pdf",
        "seller_name": seller.get("trading_name") or seller.get("name", ""),
        "fee_note": fee_note,
    }


def _send_step(
    actor: Actor,
    invoice: Invoice,
    policy: DunningPolicy,
    index: int,
    today: dt.date,
    result: SweepResult,
) -> Reminder:
    from throughline.crm import services as crm
    from throughline.messaging.services import queue_templated_email

    step = policy.steps[index]
    entry = _ledger(invoice, policy, index, Reminder.Outcome.SENT)
    entry.sent_on = today
    entry.save(force_insert=True)  # the unique keys say "not twice" before anything is sent
    fee_note = ""
    if step.get("fee") and (policy.charge_interest or policy.charge_recovery_fee):
        fees = late_fees.charge_late_fees(actor, invoice, policy, today)
        result.fees += len(fees)
        if fees:
            listed = ", ".join(f"{fee.amount} {fee.currency}" for fee in fees)
            fee_note = f"Late-payment charges of {listed} apply under the late-payment rules."
    contact = invoice.contact
    if contact.email:
        entry.message = queue_templated_email(
            actor,
            step["template"],
            to=contact.email,
            context=reminder_context(invoice, today, fee_note),
            contact=contact,
            source=f"billing.invoice:{invoice.pk}",
            idempotency_key=f"{REMINDER_KEY}{invoice.pk}:{index}",
        )
    else:
        entry.outcome = Reminder.Outcome.NO_ADDRESS
    if step.get("task"):
        owner = contact.owner if contact.owner_id and contact.owner.is_active else None
        entry.task = crm.create_task(
            actor,
            title=f"Follow up overdue invoice {invoice.number} with {contact}",
            description=f"{invoice.amount_due} {invoice.currency} due since {invoice.due_date}.",
            owner=owner,
            contact=contact,
            due_at=timezone.now() + dt.timedelta(days=1),
            source=f"billing.invoice:{invoice.pk}:dunning",
        )
    entry.save(update_fields=["message", "task", "outcome"])
    audit_log.record(
        actor,
        "invoice.reminder_sent",
        invoice,
        changes={"step": [None, step["label"]], "outcome": [None, entry.outcome]},
    )
    result.sent += 1
    return entry
