"""One delivery per (event, endpoint), however often the event is handled."""

from django.db import transaction

from throughline.core import events
from throughline.core.models import DomainEvent
from throughline.integrations import delivery as ledger
from throughline.integrations import handlers
from throughline.integrations.models import WebhookDelivery


def test_a_redelivered_event_makes_one_delivery(make_receiver, endpoint_for, emit, run_jobs):
    receiver = make_receiver()
    endpoint_for(receiver)
    event = emit()
    path = events.handler_path(handlers.deliver_to_webhooks)
    # at-least-once: the handler's job arrives again, before and after the first ran
    with transaction.atomic():
        events.handle_event.enqueue(event.id, path)
    run_jobs()
    with transaction.atomic():
        events.handle_event.enqueue(event.id, path)
    run_jobs()
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_a_duplicate_delivery_job_sends_once(make_receiver, endpoint_for, emit, run_jobs):
    receiver = make_receiver()
    endpoint_for(receiver)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    with transaction.atomic():
        ledger.deliver_webhook.enqueue(str(delivery.pk), 0)  # a stale copy of the first job
    run_jobs()
    assert len(receiver.requests) == 1 and delivery.attempts.count() == 1


def test_an_interrupted_attempt_is_sent_again(make_receiver, endpoint_for, emit, run_jobs):
    receiver = make_receiver()
    endpoint_for(receiver)
    emit()
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    # given: as if the worker had died after claiming attempt 1 and sending it, before
    # recording the answer (the attempt row says "in flight", the delivery is still pending)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending")
    delivery.attempts.update(outcome="in_flight", finished_at=None)
    # when the reaper hands the job back and it runs again
    with transaction.atomic():
        ledger.deliver_webhook.enqueue(str(delivery.pk), 0)
    run_jobs()
    # then the same attempt is completed (sent again: at least once; receivers de-duplicate)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts.count() == 1
    assert delivery.attempts.get().outcome == "success"
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_subscriptions_decide_who_gets_what(make_receiver, endpoint_for, actor, emit, run_jobs):
    from throughline.integrations import services

    everything, deals, off = make_receiver(), make_receiver(), make_receiver()
    endpoint_for(everything, ["*"], name="all")
    endpoint_for(deals, ["deal.won", "deal.lost"], name="deals")
    disabled = endpoint_for(off, ["*"], name="off")
    services.disable_endpoint(actor, disabled)
    emit("deal.won")
    emit("invoice.paid")
    run_jobs()
    assert sorted(r.headers["Throughline-Event"] for r in everything.requests) == [
        "deal.won",
        "invoice.paid",
    ]
    assert [r.headers["Throughline-Event"] for r in deals.requests] == ["deal.won"]
    assert off.requests == []


def test_failure_reports_are_not_sent_to_the_endpoint_they_are_about(
    make_receiver, endpoint_for, emit, run_jobs
):
    failing = make_receiver(default=(404, {}, b""))
    watcher = make_receiver()
    endpoint_for(failing, ["*"], name="failing")
    endpoint_for(watcher, ["webhook.delivery_failed"], name="watcher")
    emit("deal.won")
    run_jobs()
    [report] = DomainEvent.objects.filter(name="webhook.delivery_failed")
    # the watcher hears about it; the failing endpoint is not sent a report about itself
    assert [r.headers["Throughline-Event"] for r in watcher.requests] == ["webhook.delivery_failed"]
    assert [r.headers["Throughline-Event"] for r in failing.requests] == ["deal.won"]
    assert report.depth == 1  # caused by the event whose delivery failed


def test_deleting_an_endpoint_drops_its_pending_work_quietly(
    make_receiver, endpoint_for, actor, emit, run_jobs, time_machine
):
    from django_tasks_db.models import DBTaskResult

    from throughline.integrations import services

    receiver = make_receiver((500, {}, b""))
    endpoint = endpoint_for(receiver)
    emit()
    run_jobs()
    retry_at = WebhookDelivery.objects.get().next_attempt_at
    services.delete_endpoint(actor, endpoint)
    # the retry that was scheduled runs, finds nothing to do, and is not a failed job
    time_machine.move_to(retry_at, tick=False)
    run_jobs()
    job = DBTaskResult.objects.filter(task_path__endswith="deliver_webhook").latest("enqueued_at")
    assert job.status == "SUCCESSFUL" and job.return_value.startswith("skipped")
    assert len(receiver.requests) == 1


def test_an_answer_arriving_after_the_endpoint_was_disabled_is_not_retried(
    make_receiver, endpoint_for, actor, emit
):
    from throughline.integrations import services, transport

    endpoint = endpoint_for(make_receiver())
    with transaction.atomic():
        ledger.enqueue_delivery(endpoint, event_name="deal.won", body="{}", idempotency_key="k")
    delivery = WebhookDelivery.objects.get()
    attempt = ledger._claim(str(delivery.pk), 0, False)
    services.disable_endpoint(actor, endpoint)  # while the request is in flight
    outcome = ledger._settle(attempt.pk, transport.Result(status=503), False)
    delivery.refresh_from_db()
    assert outcome == "failed"
    assert delivery.status == "cancelled" and delivery.next_attempt_at is None
