"""Sequences: steps in business days, stopped by replies; consent and suppression honoured."""

import pytest
import time_machine

from tests.automation.conftest import london
from throughline.automation.models import Enrollment, EnrollmentStep, SequenceStep, StopReason
from throughline.automation.sequences import services
from throughline.automation.sequences.stats import sequence_stats
from throughline.crm import services as crm
from throughline.crm.models import Task
from throughline.messaging import services as messaging
from throughline.messaging.models import EmailTemplate, OutboundMessage


@pytest.fixture
def follow_up_template(db):
    return EmailTemplate.objects.create(
        key="follow-up",
        name="Follow-up",
        subject="Any thoughts, {{ contact.first_name }}?",
        body_text="Just checking in.",
    )


@pytest.fixture
def nurture(actor, welcome_template, follow_up_template, london_org):
    return services.create_sequence(
        actor,
        key="nurture",
        name="New lead nurture",
        purpose="nurture",
        stop_on=[StopReason.REPLIED, StopReason.MEETING_BOOKED, StopReason.UNSUBSCRIBED],
        steps=[
            {"kind": "email", "template_key": "welcome"},
            {"kind": "wait", "wait_business_days": 2},
            {
                "kind": "task",
                "task_title": "Call {{ contact.first_name }}",
                "task_due_business_days": 1,
            },
            {"kind": "email", "template_key": "follow-up"},
        ],
    )


def test_a_sequence_runs_its_steps_in_business_days(
    nurture, actor, make_contact, smtp_server, run_jobs
):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):  # Friday
        ada = make_contact(first_name="Ada", email="ada@example.com")
        enrollment, created = services.enrol(actor, nurture, ada)
        assert created
        assert services.enrol(actor, nurture, ada) == (enrollment, False)  # once only
        run_jobs()
        assert [m["message"]["Subject"] for m in smtp_server.messages] == ["Welcome, Ada"]
    with time_machine.travel(london(2026, 3, 10, 16, 1), tick=False):  # Tuesday
        run_jobs()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert Task.objects.get().title == "Call Ada"
    assert [m["message"]["Subject"] for m in smtp_server.messages] == [
        "Welcome, Ada",
        "Any thoughts, Ada?",
    ]
    outcomes = list(enrollment.steps.order_by("position").values_list("outcome", flat=True))
    assert outcomes == ["sent", "waited", "task_created", "sent"]


def test_a_reply_stops_the_sequence_and_records_why(
    nurture, actor, make_contact, smtp_server, run_jobs
):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):
        ada = make_contact(first_name="Ada", email="ada@example.com")
        enrollment, _ = services.enrol(actor, nurture, ada)
        run_jobs()
    with time_machine.travel(london(2026, 3, 9, 11, 0), tick=False):  # Monday: Ada answers
        crm.log_activity(
            actor,
            kind="email",
            contact=ada,
            subject="Re: Welcome",
            body="Sounds good!",
            direction="in",
        )
        run_jobs()
        enrollment.refresh_from_db()
        assert enrollment.status == Enrollment.Status.STOPPED
        assert enrollment.stop_reason == StopReason.REPLIED
    with time_machine.travel(london(2026, 3, 12, 9, 0), tick=False):
        run_jobs()
    assert len(smtp_server.messages) == 1  # no follow-up after the reply
    assert not Task.objects.exists()

    stats = sequence_stats(nurture)
    first, wait, *_ = stats.steps
    assert (first.sent, first.delivered, first.replied) == (1, 1, 0)
    assert wait.replied == 1  # the wait was the last step done before the reply
    assert stats.stopped_by_reason == [("Reply received", 1)]


def test_an_outbound_email_or_a_note_does_not_stop_it(nurture, actor, make_contact, run_jobs):
    ada = make_contact(first_name="Ada", email="ada@example.com")
    enrollment, _ = services.enrol(actor, nurture, ada)
    crm.log_activity(actor, kind="email", contact=ada, subject="Our offer", direction="out")
    crm.log_activity(actor, kind="note", contact=ada, body="Seemed interested")
    run_jobs()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE


def test_a_meeting_stops_it_only_when_configured(nurture, actor, make_contact, run_jobs):
    ada = make_contact(first_name="Ada", email="ada@example.com")
    enrollment, _ = services.enrol(actor, nurture, ada)
    crm.log_activity(actor, kind="meeting", contact=ada, subject="Demo")
    run_jobs()
    enrollment.refresh_from_db()
    assert enrollment.stop_reason == StopReason.MEETING_BOOKED


def test_a_marketing_step_without_consent_is_skipped_and_counted(
    actor, make_contact, newsletter_template, smtp_server, run_jobs
):
    sequence = services.create_sequence(
        actor,
        key="news",
        name="Newsletter",
        stop_on=[StopReason.UNSUBSCRIBED],
        steps=[{"kind": "email", "template_key": "newsletter"}],
    )
    ada = make_contact(first_name="Ada", email="ada@example.com")
    bob = make_contact(first_name="Bob", email="bob@example.com")
    crm.record_consent(actor, bob, purpose="marketing", granted=True, wording_version="1")
    for contact in (ada, bob):
        services.enrol(actor, sequence, contact)
    run_jobs()

    assert [m["envelope"].rcpt_tos for m in smtp_server.messages] == [["bob@example.com"]]
    skipped = EnrollmentStep.objects.get(enrollment__contact=ada)
    assert skipped.outcome == EnrollmentStep.Outcome.NO_CONSENT
    assert skipped.detail == "no marketing consent on record"
    assert skipped.message.status == OutboundMessage.Status.SUPPRESSED
    [step] = sequence_stats(sequence).steps
    assert (step.sent, step.delivered, step.skipped_no_consent) == (1, 1, 1)


def test_unsubscribing_stops_the_sequence_before_the_next_email(
    nurture, actor, make_contact, smtp_server, run_jobs
):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):
        ada = make_contact(first_name="Ada", email="ada@example.com")
        enrollment, _ = services.enrol(actor, nurture, ada)
        run_jobs()
        welcome = OutboundMessage.objects.get()
        messaging.unsubscribe(actor, str(welcome.unsubscribe_token))  # the one-click link
    with time_machine.travel(london(2026, 3, 10, 16, 1), tick=False):
        run_jobs()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.STOPPED
    assert enrollment.stop_reason == StopReason.UNSUBSCRIBED
    assert len(smtp_server.messages) == 1


def test_a_workflow_enrols_and_removes(actor, nurture, make_workflow, make_contact, run_jobs):
    make_workflow(
        "enrol-new",
        trigger={"type": "event", "event": "contact.created"},
        steps=[{"action": "sequence.enrol", "params": {"sequence": "nurture"}}],
    )
    make_workflow(
        "remove-on-call",
        trigger={"type": "event", "event": "activity.logged"},
        conditions={"all": [{"field": "event.kind", "op": "eq", "value": "call"}]},
        steps=[{"action": "sequence.remove", "params": {"sequence": "*"}}],
    )
    ada = make_contact(first_name="Ada", email="ada@example.com")
    run_jobs()
    enrollment = Enrollment.objects.get(contact=ada)
    assert enrollment.source.startswith("automation.run:")
    crm.log_activity(actor, kind="call", contact=ada, subject="Intro")
    run_jobs()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == (Enrollment.Status.STOPPED, "removed")


def test_editing_steps_keeps_their_statistics(nurture, actor):
    first = nurture.steps.order_by("position").first()
    services.update_sequence(
        actor,
        nurture,
        steps=[
            {"kind": "email", "template_key": "follow-up"},
            {"kind": "wait", "wait_business_days": 3},
        ],
    )
    steps = list(nurture.steps.order_by("position"))
    assert steps[0].pk == first.pk and steps[0].template_key == "follow-up"
    assert [s.kind for s in steps] == [SequenceStep.Kind.EMAIL, SequenceStep.Kind.WAIT]


def test_payment_reminders_stop_when_that_invoice_is_paid(
    actor, welcome_template, make_contact, run_jobs
):
    from django.db import transaction

    from throughline.core import events

    reminders = services.create_sequence(
        actor,
        key="reminders",
        name="Payment reminders",
        purpose="payment_reminders",
        stop_on=[StopReason.PAID],
        steps=[
            {"kind": "wait", "wait_business_days": 3},
            {"kind": "email", "template_key": "welcome"},
        ],
    )
    ada = make_contact(first_name="Ada", email="ada@example.com")
    first, _ = services.enrol(
        actor, reminders, ada, subject_type="billing.invoice", subject_id="inv-1"
    )
    second, _ = services.enrol(
        actor, reminders, ada, subject_type="billing.invoice", subject_id="inv-2"
    )
    run_jobs()
    with transaction.atomic():  # billing's event when invoice 1 is paid in full
        events.emit(actor, "invoice.paid", subject_type="billing.invoice", subject_id="inv-1")
    run_jobs()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.stop_reason) == (Enrollment.Status.STOPPED, StopReason.PAID)
    assert second.status == Enrollment.Status.ACTIVE  # the other invoice is still unpaid
