"""The qualification rubric: outcomes table, actions per outcome, re-applying, bad rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from throughline.automation.models import Enrollment
from throughline.automation.sequences.services import create_sequence
from throughline.core.models import DomainEvent
from throughline.intake.models import Lead
from throughline.intake.scoring import booking, qualification
from throughline.intake.scoring.models import Criterion
from throughline.messaging.models import OutboundMessage

UK = "020 7946 0958"
US = "+1 212 555 0100"


@pytest.mark.parametrize(
    ("phone", "custom", "outcome", "status"),
    [
        # all three criteria: 90 points → discovery
        (UK, {"budget": 20000, "timeline": "now", "service": "websites"}, "discovery", "qualified"),
        # budget + timeline: 70 → discovery
        (UK, {"budget": 5000, "timeline": "now", "service": "hosting"}, "discovery", "qualified"),
        # budget only: 40 → nurture
        (UK, {"budget": 50000, "timeline": "later", "service": "hosting"}, "nurture", "nurturing"),
        # timeline only: 30 (exactly the threshold) → nurture
        (UK, {"budget": 100, "timeline": "now"}, "nurture", "nurturing"),
        # service only: 20 → reject
        (UK, {"budget": 60000, "timeline": "later", "service": "branding"}, "reject", "rejected"),
        # nothing answered → reject
        (UK, {}, "reject", "rejected"),
        # everything, but outside the UK: knock-out → reject
        (US, {"budget": 20000, "timeline": "now", "service": "websites"}, "reject", "rejected"),
    ],
)
def test_outcomes_table(rubric, capture, phone, custom, outcome, status):
    lead = capture(email="pat@example.com", first_name="Pat", phone=phone, custom=custom).lead
    assert lead.qualification["outcome"] == outcome
    assert lead.status == status
    assert Lead.objects.get(pk=lead.pk).status == status
    assert lead.qualification["reasons"], "the lead page shows the reasons"
    if phone == US:
        assert lead.qualification["knocked_out"] is True
        assert "Knock-out: Based in the UK — not met" in lead.qualification["reasons"]
        assert "Knock-out: Based in the UK" in lead.status_reason


def test_discovery_emails_the_owners_booking_link_and_emits_qualified(
    rubric, capture, owner, actor
):
    booking.set_booking_link(actor, owner, "https://cal.example.com/olivia")
    lead = capture(
        email="kim@example.com",
        first_name="Kim",
        phone=UK,
        custom={"budget": 9000, "timeline": "now"},
    ).lead
    message = OutboundMessage.objects.get(template_key="lead-discovery")
    assert message.to_email == "kim@example.com"
    assert "https://cal.example.com/olivia" in message.body_text
    event = DomainEvent.objects.get(name="lead.qualified", subject_id=str(lead.pk))
    assert event.payload["booking_url"] == "https://cal.example.com/olivia"


def test_nurture_enrols_in_the_rubrics_sequence(rubric, capture, actor):
    sequence = create_sequence(
        actor,
        key="warm-up",
        name="Warm-up",
        steps=[{"kind": "task", "task_title": "Check in"}],
    )
    qualification.update_rubric(actor, nurture_sequence=sequence)
    lead = capture(email="lee@example.com", phone=UK, custom={"budget": 8000}).lead
    assert lead.status == "nurturing"
    enrollment = Enrollment.objects.get(sequence=sequence)
    assert enrollment.subject_type == "intake.lead" and enrollment.subject_id == str(lead.pk)
    event = DomainEvent.objects.get(name="lead.nurtured", subject_id=str(lead.pk))
    assert event.payload["sequence"] == "warm-up" and event.payload["enrolled"] is True


def test_reject_sends_the_polite_decline_only_when_asked(rubric, capture, actor):
    quiet = capture(email="a@example.com", phone=UK).lead
    assert quiet.status == "rejected"
    assert not OutboundMessage.objects.filter(template_key="lead-decline").exists()
    qualification.update_rubric(actor, send_decline_email=True)
    declined = capture(email="b@example.com", phone=UK).lead
    message = OutboundMessage.objects.get(template_key="lead-decline")
    assert message.to_email == "b@example.com" and "not the right fit" in message.body_text
    assert DomainEvent.objects.filter(name="lead.rejected", subject_id=str(declined.pk)).exists()


def test_recommend_only_keeps_the_lead_new(rubric, capture, actor):
    qualification.update_rubric(actor, auto_apply=False)
    lead = capture(email="c@example.com", phone=UK).lead
    assert lead.status == "new"
    assert lead.qualification["outcome"] == "reject" and lead.qualification["applied"] is False


def test_an_inactive_rubric_does_nothing(questions, capture):
    lead = capture(email="d@example.com", phone=UK).lead
    assert lead.status == "new" and lead.qualification == {}


def test_reapplying_after_an_answer_changes_the_outcome(rubric, capture, actor):
    qualification.update_rubric(actor, auto_apply=False)
    lead = capture(email="e@example.com", phone=UK, custom={"budget": 10000}).lead
    assert lead.qualification["outcome"] == "nurture"
    Lead.objects.filter(pk=lead.pk).update(custom={"budget": 10000, "timeline": "now"})
    evaluation = qualification.reapply_rubric(actor, lead)
    assert evaluation.outcome == "discovery"
    lead.refresh_from_db()
    assert lead.status == "qualified" and lead.qualification["decided_by"] == actor.display


def test_a_decision_on_a_closed_lead_is_refused(rubric, capture, actor):
    lead = capture(email="f@example.com", phone=UK).lead
    assert lead.status == "rejected"
    with pytest.raises(ValidationError) as error:
        qualification.decide(actor, lead, "accept")
    assert "already rejected" in str(error.value)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"field": "shoe_size", "operator": "eq", "value": "42"}, "field", "Unknown field"),
        ({"field": "custom.nope", "operator": "eq", "value": "x"}, "field", "No lead custom field"),
        ({"field": "custom.budget", "operator": "gte", "value": "lots"}, "value", "not a number"),
        ({"field": "custom.budget", "operator": "between", "value": "9, 1"}, "value", "lowest"),
        ({"field": "custom.budget", "operator": "between", "value": "9"}, "value", "two numbers"),
        ({"field": "source", "operator": "like", "value": "x"}, "operator", "Unknown operator"),
        ({"field": "source", "operator": "eq", "value": ""}, "value", "needs a value"),
        ({"field": "", "operator": "eq", "value": "x", "knockout": True}, "field", "condition"),
        ({"field": "source", "operator": "eq", "value": "x", "points": "ten"}, "points", "whole"),
    ],
)
def test_invalid_criteria_are_refused_with_the_reason(questions, actor, data, field, message):
    with pytest.raises(ValidationError) as error:
        qualification.add_criterion(actor, label="Test", **data)
    assert message in " ".join(error.value.message_dict[field])
    assert not Criterion.objects.exists()


def test_invalid_thresholds_are_refused(actor):
    with pytest.raises(ValidationError) as error:
        qualification.update_rubric(actor, discovery_at="high", nurture_at=10)
    assert "discovery_at" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        qualification.update_rubric(actor, discovery_at=10, nurture_at=50)
    assert "nurture_at" in error.value.message_dict


def test_a_rubric_without_criteria_cannot_be_switched_on_or_applied(actor, capture):
    with pytest.raises(ValidationError) as error:
        qualification.update_rubric(actor, is_active=True)
    assert "criterion" in error.value.message_dict["is_active"][0]
    lead = capture(email="g@example.com").lead
    with pytest.raises(ValidationError, match="no criteria"):
        qualification.reapply_rubric(actor, lead)
    assert Lead.objects.get(pk=lead.pk).status == "new"
