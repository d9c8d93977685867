"""Retries back off exponentially with jitter for up to 3 days, then give up once."""

import datetime as dt
import itertools

import pytest

from throughline.core.models import DomainEvent
from throughline.integrations import delivery as ledger
from throughline.integrations.models import WebhookDelivery

DOWN = (503, {}, b"maintenance")


def run_until_finished(delivery, run_jobs, time_machine, limit=40):
    for _ in range(limit):
        delivery.refresh_from_db()
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery
        time_machine.move_to(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False)
        run_jobs()
    raise AssertionError("the delivery never finished")


def test_backoff_spans_about_three_days_then_gives_up(
    make_receiver, endpoint_for, emit, run_jobs, time_machine, settings
):
    # Auto-disable (24 h without success) would stop this delivery first: isolate the schedule.
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 24 * 30
    receiver = make_receiver(default=DOWN)
    endpoint_for(receiver)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    emit("deal.won")
    run_jobs()

    delivery = run_until_finished(WebhookDelivery.objects.get(), run_jobs, time_machine)

    assert delivery.status == WebhookDelivery.Status.FAILED
    attempts = list(delivery.attempts.order_by("number"))
    span = attempts[-1].started_at - attempts[0].started_at
    # the last attempt falls within the window, less than one maximum delay before its end
    assert dt.timedelta(hours=60) <= span <= dt.timedelta(hours=72)
    assert 15 <= len(attempts) <= 21  # bounds of the jitter: all delays at their ceiling … half
    assert len(receiver.requests) == len(attempts)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert max(gaps) <= 12 * 3600 + 2
    assert gaps[0] <= 60 + 2 and gaps[5] >= 16 * 60  # 1 min ceiling first, 32 min by the 6th
    assert [a.outcome for a in attempts[:-1]] == ["retry"] * (len(attempts) - 1)
    assert attempts[-1].outcome == "failed"
    assert "gave up after" in delivery.last_error

    # giving up is announced once, as an event others can act on
    [failed] = DomainEvent.objects.filter(name="webhook.delivery_failed")
    assert failed.subject_id == str(delivery.pk)
    assert failed.payload["attempts"] == len(attempts)
    assert failed.payload["last_status_code"] == 503
    assert failed.payload["event_name"] == "deal.won"


@pytest.mark.parametrize("failed_attempt, ceiling", [(1, 60), (2, 120), (5, 960), (11, 43200)])
def test_retry_delay_is_jittered_between_half_and_all_of_its_ceiling(failed_attempt, ceiling):
    delays = [ledger.retry_delay(failed_attempt) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 100  # jitter: workers do not stampede a recovering receiver


def test_other_4xx_fails_at_once_but_408_and_429_are_retried(
    make_receiver, endpoint_for, emit, run_jobs
):
    receiver = make_receiver(
        (404, {}, b"no such hook"),
        (429, {"Retry-After": "600"}, b"slow down"),
        (408, {}, b""),
    )
    endpoint_for(receiver)
    emit("deal.won", subject_id="a")
    emit("deal.won", subject_id="b")
    emit("deal.won", subject_id="c")
    run_jobs()

    by_subject = {
        d.event.subject_id: d for d in WebhookDelivery.objects.select_related("event").all()
    }
    refused, throttled, timed_out = by_subject["a"], by_subject["b"], by_subject["c"]
    assert refused.status == "failed" and refused.attempt_count == 1
    assert "not retried" in refused.last_error
    assert throttled.status == "pending"
    # Retry-After (10 min) is longer than the first backoff (≤ 1 min): it wins
    wait = (throttled.next_attempt_at - throttled.attempts.get().finished_at).total_seconds()
    assert 599 <= wait <= 601
    assert timed_out.status == "pending"
    assert DomainEvent.objects.filter(name="webhook.delivery_failed").count() == 1
