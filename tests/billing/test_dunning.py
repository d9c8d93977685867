"""Dunning in frozen time: reminders on the right days, e-mailed to a real SMTP server, one
catch-up after a gap, never two a day, stopped by payment, dispute or pause."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from throughline.billing import services, tasks
from throughline.billing.models import DunningCase, DunningPolicy, Reminder
from throughline.billing.services import dunning
from throughline.core.models import DomainEvent
from throughline.crm.models import Task
from throughline.crm.timeline import timeline_for

from .conftest import TODAY

DUE = TODAY + dt.timedelta(days=10)  # 2025-03-24


def at(day: dt.date, time_machine) -> dt.date:
    time_machine.move_to(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))
    return day


def day(offset: int) -> dt.date:
    return DUE + dt.timedelta(days=offset)


@pytest.fixture
def invoice(make_invoice):
    return make_invoice(issue=True, due_date=DUE)


def sent_steps(invoice) -> list[tuple[str, dt.date]]:
    rows = invoice.reminders.filter(outcome=Reminder.Outcome.SENT).order_by("step_index")
    return [(r.step_label, r.sent_on) for r in rows]


def subjects(smtp_server) -> list[str]:
    return [m["message"]["Subject"] for m in smtp_server.messages]


def test_reminders_go_out_on_their_days_and_reach_the_client(
    invoice, smtp_server, run_jobs, time_machine, client_contact
):
    # given the default policy (-3, 0, +7, +14 with a task, +30), walked one day at a time
    sent_on: dict[dt.date, int] = {}
    current = TODAY
    while current <= day(35):
        at(current, time_machine)
        sent_on[current] = dunning.sweep().sent
        run_jobs()
        current += dt.timedelta(days=1)

    # then one reminder on each step's day, none on the others
    assert {d for d, n in sent_on.items() if n} == {day(-3), day(0), day(7), day(14), day(30)}
    assert all(n <= 1 for n in sent_on.values())
    assert sent_steps(invoice) == [
        ("Friendly reminder", day(-3)),
        ("Due today", day(0)),
        ("Overdue reminder", day(7)),
        ("Escalation", day(14)),
        ("Final notice", day(30)),
    ]
    assert subjects(smtp_server) == [
        f"Friendly reminder: invoice {invoice.number} falls due on 24 March 2025",
        f"Invoice {invoice.number} is due today",
        f"Reminder: invoice {invoice.number} is 7 days overdue",
        f"Reminder: invoice {invoice.number} is 14 days overdue",
        f"Final notice: invoice {invoice.number}",
    ]
    assert all(m["envelope"].rcpt_tos == ["ada@acme.example"] for m in smtp_server.messages)
    body = smtp_server.messages[0]["message"].get_body(preferencelist=("plain",)).get_content()
    assert "£120.00" in body and "/c/" in body and "/invoice/pdf" in body

    # the escalation made a task for the owner; invoice.overdue came once, the day after due
    [task] = Task.objects.filter(source=f"billing.invoice:{invoice.pk}:dunning")
    assert invoice.number in task.title
    [overdue] = DomainEvent.objects.filter(name="invoice.overdue")
    assert overdue.subject_id == str(invoice.pk) and overdue.occurred_at.date() == day(1)

    # every reminder is on the client's timeline
    titles = [e.title for e in timeline_for(client_contact) if e.kind == "reminder"]
    assert len(titles) == 5 and all(invoice.number in t for t in titles)


def test_catch_up_after_a_gap_sends_one_reminder_not_every_missed_one(
    invoice, smtp_server, run_jobs, time_machine
):
    # given the worker was down from before the first step until 17 days after the due date
    at(day(17), time_machine)

    # when the sweep runs (twice, as after a restart)
    first = dunning.sweep()
    second = dunning.sweep()
    run_jobs()

    # then only the latest due step went out; the missed ones are marked skipped
    assert (first.sent, first.skipped, second.sent) == (1, 3, 0)
    assert sent_steps(invoice) == [("Escalation", day(17))]
    skipped = invoice.reminders.filter(outcome=Reminder.Outcome.SKIPPED)
    assert sorted(skipped.values_list("step_index", flat=True)) == [0, 1, 2]
    assert len(smtp_server.messages) == 1

    # and the next step still comes on its own day
    at(day(29), time_machine)
    assert dunning.sweep().sent == 0
    at(day(30), time_machine)
    assert dunning.sweep().sent == 1
    run_jobs()
    assert len(smtp_server.messages) == 2


def test_never_two_reminders_a_day_even_when_the_sweep_job_runs_twice(
    invoice, smtp_server, run_jobs, time_machine
):
    at(day(0), time_machine)
    tasks.dunning_sweep.enqueue()
    tasks.dunning_sweep.enqueue()
    run_jobs()
    assert sent_steps(invoice) == [("Due today", day(0))]
    assert len(smtp_server.messages) == 1

    # the ledger refuses a second sent reminder on the same day, whatever the step
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            invoice=invoice,
            contact=invoice.contact,
            step_index=4,
            step_label="Final notice",
            offset_days=30,
            scheduled_on=day(30),
            sent_on=day(0),
            outcome=Reminder.Outcome.SENT,
        )


def test_payment_stops_reminders_at_once(actor, invoice, smtp_server, run_jobs, time_machine):
    at(day(0), time_machine)
    dunning.sweep()
    run_jobs()
    services.record_payment(actor, invoice=invoice, amount="120.00", send_receipt=False)
    run_jobs()
    assert DunningCase.objects.get(invoice=invoice).state == DunningCase.State.PAID

    for offset in (7, 14, 30, 45):
        at(day(offset), time_machine)
        assert dunning.sweep().sent == 0
    run_jobs()
    assert sent_steps(invoice) == [("Due today", day(0))]
    assert subjects(smtp_server) == [f"Invoice {invoice.number} is due today"]


def test_a_reminder_queued_before_the_payment_is_withdrawn_not_sent(
    actor, invoice, smtp_server, run_jobs, time_machine
):
    from throughline.messaging.models import OutboundMessage

    at(day(0), time_machine)
    dunning.sweep()  # the "due today" reminder is queued …
    services.record_payment(actor, invoice=invoice, amount="120.00", send_receipt=False)
    run_jobs()  # … and the payment lands before a worker sends it
    assert smtp_server.messages == []
    message = Reminder.objects.get(invoice=invoice, sent_on=day(0)).message
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SUPPRESSED
    assert message.status_reason == "withdrawn: the invoice is no longer open"


def test_a_partial_payment_keeps_reminding_about_what_is_left(
    actor, invoice, smtp_server, run_jobs, time_machine
):
    services.record_payment(actor, invoice=invoice, amount="100.00", send_receipt=False)
    at(day(7), time_machine)
    assert dunning.sweep().sent == 1
    run_jobs()
    text = smtp_server.messages[0]["message"].get_body(preferencelist=("plain",)).get_content()
    assert "£20.00 is still open" in text


def test_dispute_stops_reminders_and_resolving_resumes_with_one_catch_up(
    actor, invoice, run_jobs, time_machine
):
    at(day(0), time_machine)
    dunning.sweep()
    dunning.dispute_invoice(actor, invoice, "The workshop was cancelled")
    for offset in (7, 14):
        at(day(offset), time_machine)
        assert dunning.sweep().sent == 0

    dunning.resolve_dispute(actor, invoice)
    assert dunning.sweep().sent == 1
    assert sent_steps(invoice) == [("Due today", day(0)), ("Escalation", day(14))]


def test_a_paused_client_gets_no_reminders(actor, invoice, client_contact, time_machine):
    dunning.pause_dunning(actor, client_contact, "Agreed a payment plan")
    at(day(7), time_machine)
    assert dunning.sweep().sent == 0
    dunning.resume_dunning(actor, client_contact)
    assert dunning.sweep().sent == 1


def test_dispute_needs_a_reason(actor, invoice):
    with pytest.raises(Exception) as caught:
        dunning.dispute_invoice(actor, invoice, "  ")
    assert "dispute" in str(caught.value)
    assert not DunningCase.objects.filter(state=DunningCase.State.DISPUTED).exists()


def test_custom_steps_are_checked(actor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        dunning.set_policy(
            actor,
            kind=DunningPolicy.Kind.CUSTOM,
            steps=[{"offset": 5, "template": dunning.DUE}, {"offset": 2, "template": dunning.DUE}],
        )
    assert "order" in str(caught.value)
    with pytest.raises(ValidationError):
        dunning.set_policy(
            actor, kind=DunningPolicy.Kind.CUSTOM, steps=[{"offset": 1, "template": "nope"}]
        )
    policy = dunning.set_policy(
        actor,
        kind=DunningPolicy.Kind.CUSTOM,
        steps=[{"offset": 3, "label": "Nudge", "template": dunning.OVERDUE}],
    )
    assert policy.steps == [
        {"offset": 3, "label": "Nudge", "template": dunning.OVERDUE, "task": False, "fee": False}
    ]
    assert not policy.charge_interest


def test_the_sweep_looks_only_at_invoices_with_a_step_due(invoice, time_machine):
    at(day(7), time_machine)
    assert dunning.sweep().sent == 1
    for offset in (8, 10, 13):
        at(day(offset), time_machine)
        assert dunning.sweep().looked_at == 0  # nothing due until +14
    at(day(30), time_machine)
    assert dunning.sweep().sent == 1
    at(day(31), time_machine)
    assert dunning.sweep().looked_at == 0  # every step done


def test_a_paused_clients_invoice_still_becomes_overdue(
    actor, invoice, client_contact, time_machine
):
    dunning.pause_dunning(actor, client_contact)
    at(day(3), time_machine)
    result = dunning.sweep()
    assert (result.overdue, result.sent) == (1, 0)
    assert DomainEvent.objects.filter(name="invoice.overdue", subject_id=str(invoice.pk)).exists()
