"""The QA gate, client acceptance and change requests, and refusals out of state."""

from __future__ import annotations

import pytest

from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, Channel, DomainEvent
from throughline.delivery.models import Milestone, QAPass
from throughline.delivery.services import milestones
from throughline.delivery.services.errors import DeliveryStateError

pytestmark = pytest.mark.django_db


def client_actor():
    return Actor(user=None, channel=Channel.PORTAL, ip="203.0.113.9", label="Peter Gibbons")


def to_qa(actor, milestone):
    milestones.start(actor, milestone)
    return milestones.submit_for_qa(actor, milestone)


def pass_qa(actor, milestone):
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(actor, item)


def test_delivery_is_refused_until_the_qa_checklist_is_complete(project, delivery_actor):
    milestone = project.milestones.get(title="Go-live")
    to_qa(delivery_actor, milestone)
    first, second = milestone.qa_items.all()
    milestones.complete_qa_item(delivery_actor, first)

    with pytest.raises(DeliveryStateError, match="Client sign-off checklist prepared"):
        milestones.deliver(delivery_actor, milestone)

    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.IN_QA
    assert not QAPass.objects.exists()
    assert not DomainEvent.objects.filter(name="milestone.completed").exists()

    milestones.complete_qa_item(delivery_actor, second)
    milestones.deliver(delivery_actor, milestone)
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.DELIVERED
    qa_pass = QAPass.objects.get(milestone=milestone)
    assert [i["title"] for i in qa_pass.items] == [first.title, second.title]
    assert all(i["done_by"] == "dana@example.com" for i in qa_pass.items)
    event = DomainEvent.objects.get(name="milestone.completed")
    assert event.payload["milestone_id"] == str(milestone.pk)
    assert event.payload["project_id"] == str(project.pk)
    assert event.payload["contact_id"] == str(project.contact_id)
    assert event.payload["proposal_id"] == str(project.proposal_id)
    assert event.payload["amount"] == "1520.00" and event.payload["currency"] == "GBP"
    assert event.payload["percent"] == "40.0000"
    assert event.payload["tax_breakdown"][0]["rate"] == "20.00"


def test_qa_items_cannot_be_ticked_before_qa(project, delivery_actor):
    milestone = project.milestones.first()
    with pytest.raises(DeliveryStateError):
        milestones.complete_qa_item(delivery_actor, milestone.qa_items.first())
    assert not milestone.qa_items.filter(done_at__isnull=False).exists()


def test_client_accepts_a_delivered_milestone_once(project, delivery_actor):
    milestone = project.milestones.first()
    to_qa(delivery_actor, milestone)
    pass_qa(delivery_actor, milestone)
    milestones.deliver(delivery_actor, milestone)

    milestones.accept(client_actor(), milestone, by="Peter Gibbons", comment="Looks great")
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.ACCEPTED
    assert milestone.accepted_by == "Peter Gibbons"
    event = DomainEvent.objects.get(name="milestone.accepted")
    assert event.payload["milestone_id"] == str(milestone.pk)
    assert event.payload["channel"] == "portal"
    assert event.payload["amount"] == "1140.00"

    with pytest.raises(DeliveryStateError, match="accepted already"):
        milestones.accept(client_actor(), milestone)
    assert DomainEvent.objects.filter(name="milestone.accepted").count() == 1
    assert milestone.reviews.count() == 1


def test_change_request_counts_a_revision_and_needs_a_new_qa_pass(project, delivery_actor):
    milestone = project.milestones.first()
    to_qa(delivery_actor, milestone)
    pass_qa(delivery_actor, milestone)
    milestones.deliver(delivery_actor, milestone)

    milestones.request_changes(client_actor(), milestone, comment="Add the Berlin office, please")
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.IN_PROGRESS
    assert milestone.revision_count == 1
    assert not milestone.qa_items.filter(done_at__isnull=False).exists()
    comment = project.comments.get()
    assert comment.is_client and comment.body == "Add the Berlin office, please"
    assert AuditEntry.objects.filter(action="milestone.changes_requested").count() == 1

    # the revision goes through QA again and is delivered and accepted
    milestones.submit_for_qa(delivery_actor, milestone)
    with pytest.raises(DeliveryStateError):
        milestones.deliver(delivery_actor, milestone)
    pass_qa(delivery_actor, milestone)
    milestones.deliver(delivery_actor, milestone)
    assert [p.revision for p in milestone.qa_passes.all()] == [0, 1]
    milestones.accept(client_actor(), milestone)
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.ACCEPTED and milestone.revision_count == 1


def test_change_request_needs_a_comment(project, delivery_actor):
    from django.core.exceptions import ValidationError

    milestone = project.milestones.first()
    to_qa(delivery_actor, milestone)
    pass_qa(delivery_actor, milestone)
    milestones.deliver(delivery_actor, milestone)
    with pytest.raises(ValidationError):
        milestones.request_changes(client_actor(), milestone, comment="   ")
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.DELIVERED and milestone.revision_count == 0


@pytest.mark.parametrize("operation", ["accept", "request_changes", "deliver", "submit_for_qa"])
def test_out_of_state_is_refused_and_changes_nothing(project, delivery_actor, operation):
    milestone = project.milestones.first()  # planned
    audit_before = AuditEntry.objects.count()
    kwargs = {"comment": "x"} if operation == "request_changes" else {}
    with pytest.raises(DeliveryStateError):
        getattr(milestones, operation)(delivery_actor, milestone, **kwargs)
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.PLANNED
    assert AuditEntry.objects.count() == audit_before
