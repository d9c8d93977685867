"""The promise of issue 4: a receiver that fails three times gets the fourth delivery, signed."""

import datetime as dt
import itertools
import json

from throughline.integrations import signing
from throughline.integrations.models import WebhookDelivery, WebhookDeliveryAttempt

from .conftest import docs_verify

FAIL = (500, {"Content-Type": "text/plain"}, b"database is down")


def test_fourth_attempt_arrives_signed_after_three_failures(
    make_receiver, endpoint_for, emit, run_jobs, time_machine
):
    # given a receiver that fails three times, then answers 200
    receiver = make_receiver(FAIL, FAIL, FAIL, (200, {}, b"thanks"))
    endpoint = endpoint_for(receiver)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)

    # when the event happens and the worker runs, then again whenever a retry falls due
    event = emit("deal.won", amount="1200.00", currency="EUR")
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    for _ in range(3):
        assert delivery.status == WebhookDelivery.Status.PENDING
        time_machine.move_to(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False)
        run_jobs()
        delivery.refresh_from_db()

    # then the fourth request was accepted and the delivery is done
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempt_count == 4 and len(receiver.requests) == 4
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.outcome for a in attempts] == ["retry", "retry", "retry", "success"]
    assert [a.response_status for a in attempts] == [500, 500, 500, 200]
    assert attempts[0].response_excerpt == "database is down"
    assert all(a.latency_ms is not None for a in attempts)

    # the waits grow: ~1 min, ~2 min, ~4 min (each between half and all of its ceiling)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    for gap, ceiling in zip(gaps, (60, 120, 240), strict=True):
        assert ceiling / 2 <= gap <= ceiling + 2

    # and the fourth request verifies with the receiver snippet of docs/WEBHOOKS.md
    fourth = receiver.requests[3]
    header = fourth.headers["Throughline-Signature"]
    verify = docs_verify()
    assert verify(endpoint.secret, header, fourth.body)
    assert signing.verify_signature(endpoint.secret, header, fourth.body)
    assert not verify(endpoint.secret, header, fourth.body + b" ")
    assert not verify("whsec_wrong", header, fourth.body)

    document = json.loads(fourth.body)
    assert document == {
        "id": str(event.id),
        "name": "deal.won",
        "occurred_at": "2026-03-02T09:00:00.000000Z",
        "subject": {"type": "sales.deal", "id": "deal-1"},
        "payload": {"amount": "1200.00", "currency": "EUR"},
    }
    assert fourth.headers["Throughline-Event"] == "deal.won"
    assert fourth.headers["Throughline-Delivery"] == str(delivery.pk)
    assert fourth.headers["Throughline-Attempt"] == "4"
    # every attempt sends the same body with its own, fresh timestamp
    assert len({r.body for r in receiver.requests}) == 1
    stamps = [
        signing.parse_header(r.headers["Throughline-Signature"])[0] for r in receiver.requests
    ]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert WebhookDeliveryAttempt.objects.count() == 4
