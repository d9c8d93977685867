"""An endpoint that keeps failing is disabled, its owner e-mailed; enabling resumes it."""

import datetime as dt

from throughline.core.models import DomainEvent
from throughline.integrations import services
from throughline.integrations.models import Integration, WebhookDelivery

FAIL = (500, {}, b"boom")


def test_failing_for_24_hours_disables_and_emails_the_owner(
    make_receiver, actor, owner, emit, run_jobs, time_machine, smtp_server
):
    # given an endpoint whose URL carries credentials that must never leak into mail or logs
    receiver = make_receiver(default=FAIL)
    url = f"http://hook-user:s3cr3t-pw@127.0.0.1:{receiver.port}/hook?token=abc123"
    endpoint = services.create_endpoint(
        actor, name="Accounting", url=url, event_types=["deal.won"], owner=owner
    )
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    emit("deal.won")
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    # Basic credentials from the URL are sent, as the receiver expects
    assert receiver.requests[0].headers["Authorization"].startswith("Basic ")
    assert receiver.requests[0].path == "/hook?token=abc123"

    # when every attempt keeps failing for a day
    while True:
        endpoint.refresh_from_db()
        delivery.refresh_from_db()
        if not endpoint.is_active:
            break
        assert delivery.status == "pending"
        time_machine.move_to(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False)
        run_jobs()

    # then it was disabled on the first failure 24 h after the streak began
    assert endpoint.disabled_automatically
    assert endpoint.failing_since == start
    assert dt.timedelta(hours=24) <= endpoint.disabled_at - start <= dt.timedelta(hours=36)
    assert "every attempt failed" in endpoint.disabled_reason
    assert delivery.status == WebhookDelivery.Status.CANCELLED
    assert delivery.attempts.order_by("-number").first().outcome == "failed"

    # the owner got an e-mail through the real SMTP server, without URL secrets
    run_jobs()
    [mail] = [
        m for m in smtp_server.messages if "Webhook endpoint disabled" in m["message"]["Subject"]
    ]
    assert mail["envelope"].rcpt_tos == [owner.email]
    message = mail["message"]
    assert message["Subject"] == "Webhook endpoint disabled: Accounting"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "every attempt failed" in text and "HTTP 500" in text
    assert "s3cr3t-pw" not in text and "abc123" not in text and "hook-user" not in text
    assert f"/integrations/webhooks/{endpoint.pk}/" in text

    # its health is down, announced once, and the admins are alerted too
    integration = Integration.objects.get(kind="webhook", key=str(endpoint.pk))
    assert integration.state == Integration.State.DOWN
    assert DomainEvent.objects.filter(name="integration.unhealthy").count() == 1
    alerts = [m for m in smtp_server.messages if m["message"]["Subject"].startswith("Integration")]
    assert sorted(m["envelope"].rcpt_tos[0] for m in alerts) == [
        "adam@example.com",
        "olivia@example.com",
    ]

    # and new events are not queued for it
    emit("deal.won", subject_id="deal-2")
    run_jobs()
    assert WebhookDelivery.objects.count() == 1

    # when the receiver is fixed and the endpoint enabled with "resend", the stopped one goes
    receiver.default = (204, {}, b"")
    assert services.enable_endpoint(actor, endpoint, resend_stopped=True) == 1
    run_jobs()
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert endpoint.is_active and endpoint.consecutive_failures == 0


def test_many_failures_in_a_row_disable_quickly(
    make_receiver, endpoint_for, emit, run_jobs, settings, smtp_server
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver = make_receiver(default=(410, {}, b"gone"))
    endpoint = endpoint_for(receiver)
    for n in range(3):
        emit("deal.won", subject_id=f"deal-{n}")
    run_jobs()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason == "3 failed attempts in a row"
    assert WebhookDelivery.objects.filter(status="failed").count() == 3
    # the owner (the creator, since none was given) is told
    told = [m for m in smtp_server.messages if "disabled" in m["message"]["Subject"]]
    assert [m["envelope"].rcpt_tos for m in told] == [[endpoint.owner.email]]


def test_a_success_resets_the_streak(make_receiver, endpoint_for, emit, run_jobs, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver = make_receiver((500, {}, b""), (500, {}, b""), (200, {}, b""), (500, {}, b""))
    endpoint = endpoint_for(receiver)
    for n in range(4):
        emit("deal.won", subject_id=f"deal-{n}")
    run_jobs()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 1
