"""A past delivery can be sent again, as a new attempt, from the service, the page or the API."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from throughline.core.models import AuditEntry, DomainEvent
from throughline.integrations import services, signing
from throughline.integrations.models import WebhookDelivery


def test_replay_resends_the_same_body_with_a_fresh_signature(
    make_receiver, endpoint_for, actor, emit, run_jobs, time_machine
):
    receiver = make_receiver()
    endpoint = endpoint_for(receiver)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"

    # an hour later, the receiver lost it: replay
    time_machine.move_to(start + dt.timedelta(hours=1), tick=False)
    services.replay_delivery(actor, delivery)
    run_jobs()

    delivery.refresh_from_db()
    first, second = delivery.attempts.order_by("number")
    assert (first.is_replay, second.is_replay) == (False, True)
    assert second.number == 2 and second.outcome == "success"
    assert delivery.status == "succeeded" and delivery.attempt_count == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    stamps = [
        signing.parse_header(r.headers["Throughline-Signature"])[0] for r in receiver.requests
    ]
    assert stamps[1] - stamps[0] == 3600
    assert signing.verify_signature(
        endpoint.secret,
        receiver.requests[1].headers["Throughline-Signature"],
        receiver.requests[1].body,
    )
    assert AuditEntry.objects.filter(action="webhook.delivery_replayed").count() == 1


def test_replay_of_a_failed_delivery_once_the_receiver_is_fixed(
    make_receiver, endpoint_for, actor, emit, run_jobs
):
    receiver = make_receiver((400, {}, b"bad"))
    endpoint_for(receiver)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"

    services.replay_delivery(actor, delivery)
    run_jobs()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    # the replay is a manual attempt: no second "gave up" event whatever its outcome
    assert DomainEvent.objects.filter(name="webhook.delivery_failed").count() == 1


def test_a_failed_replay_is_not_rescheduled(make_receiver, endpoint_for, actor, emit, run_jobs):
    receiver = make_receiver(default=(500, {}, b""))
    receiver.script = [(200, {}, b"")]
    endpoint_for(receiver)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    services.replay_delivery(actor, delivery)
    run_jobs()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.attempts.order_by("-number").first().outcome == "failed"


def test_replay_is_refused_while_retrying_or_when_disabled(
    make_receiver, endpoint_for, actor, emit, run_jobs
):
    receiver = make_receiver((500, {}, b""))
    endpoint = endpoint_for(receiver)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(ValidationError, match="still being retried"):
        services.replay_delivery(actor, delivery)
    services.disable_endpoint(actor, endpoint)
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"
    with pytest.raises(ValidationError, match="disabled"):
        services.replay_delivery(actor, delivery)


def test_a_double_click_on_replay_sends_once(make_receiver, endpoint_for, actor, emit, run_jobs):
    receiver = make_receiver()
    endpoint_for(receiver)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    services.replay_delivery(actor, delivery)
    services.replay_delivery(actor, delivery)
    run_jobs()
    assert len(receiver.requests) == 2
    assert delivery.attempts.count() == 2
