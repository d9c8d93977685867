"""Integration health: figures over 24 h, states by documented thresholds, one alert per change."""

import datetime as dt

import pytest

from throughline.core import scheduler
from throughline.core.models import DomainEvent
from throughline.integrations import health
from throughline.integrations.health import record_integration_call
from throughline.integrations.models import Integration

State = Integration.State
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def calls(n, ok=True, latency=100, error=""):
    for _ in range(n):
        record_integration_call("payment_gateway", "stripe", ok, latency, error, label="Stripe")


def stripe_state():
    integration = Integration.objects.get(kind="payment_gateway", key="stripe")
    return health.evaluate(integration)


def unhealthy_events():
    return list(DomainEvent.objects.filter(name="integration.unhealthy").order_by("id"))


def test_states_follow_the_calls_and_alert_once_per_change(db, users, clock):
    calls(10)
    assert stripe_state() == State.HEALTHY
    assert unhealthy_events() == []

    calls(2, ok=False, error="HTTP 502 from api.stripe.com")  # 2 of 12 failed: 17 % ≥ 10 %
    assert stripe_state() == State.DEGRADED
    assert stripe_state() == State.DEGRADED  # evaluated again: no new alert
    [first] = unhealthy_events()
    assert first.payload["state"] == "degraded" and first.payload["previous_state"] == "healthy"
    assert first.payload["label"] == "Stripe" and first.payload["failures_24h"] == 2

    calls(1, ok=False, error="timeout")  # the last three calls failed
    assert stripe_state() == State.DOWN
    second = unhealthy_events()[-1]
    assert len(unhealthy_events()) == 2
    assert (second.payload["previous_state"], second.payload["state"]) == ("degraded", "down")

    calls(40)  # recovered: 3 of 53 failed (6 %), the last calls worked
    assert stripe_state() == State.HEALTHY
    assert len(unhealthy_events()) == 2  # recovering is not an alert

    integration = Integration.objects.get(key="stripe")
    assert integration.calls_24h == 53 and integration.failures_24h == 3
    assert integration.p50_ms == 100 and integration.last_error == "timeout"
    assert integration.last_success_at == START and integration.last_failure_at == START


def test_slow_calls_degrade(db, clock):
    calls(18, latency=120)
    calls(2, latency=9000)  # p95 of 20 calls is the 19th slowest: 9 s
    assert stripe_state() == State.DEGRADED
    assert "p95" in Integration.objects.get(key="stripe").state_reason


def test_no_calls_in_24_hours_is_idle(db, clock):
    calls(3, ok=False)
    assert stripe_state() == State.DOWN
    clock.move_to(START + dt.timedelta(hours=25), tick=False)
    assert stripe_state() == State.IDLE


def test_admins_are_emailed_once_per_change(db, users, clock, run_jobs, smtp_server):
    calls(5, ok=False, error="connection refused")
    health.sweep()
    health.sweep()
    run_jobs()
    alerts = [m for m in smtp_server.messages if "Stripe" in m["message"]["Subject"]]
    assert sorted(m["envelope"].rcpt_tos[0] for m in alerts) == [
        "adam@example.com",  # admin
        "olivia@example.com",  # owner
    ]
    text = alerts[0]["message"].get_body(preferencelist=("plain",)).get_content()
    assert "Stripe is down (was idle)" in text and "connection refused" in text


def test_credentials_in_errors_are_redacted(db):
    record_integration_call(
        "imap",
        "sales@example.com",
        False,
        5000,
        "login failed for imaps://bob:hunter2@mail.example/",
    )
    call = Integration.objects.get(kind="imap").calls.get()
    assert "hunter2" not in call.error and "imaps://***@mail.example/" in call.error


def test_unknown_kinds_are_refused(db):
    with pytest.raises(ValueError):
        record_integration_call("carrier_pigeon", "x", True, 1)


def test_smtp_health_comes_from_the_message_ledger(actor, clock, run_jobs, smtp_server, settings):
    from tests.conftest import free_port
    from throughline.messaging.services import queue_email

    for n in range(3):
        queue_email(actor, to=f"a{n}@example.com", subject="Hi", body_text="x")
    clock.move_to(START + dt.timedelta(seconds=2), tick=False)
    run_jobs()
    health.sweep()
    smtp = Integration.objects.get(kind="smtp")
    assert smtp.state == State.HEALTHY and smtp.calls_24h == 3
    assert smtp.p50_ms == 2000  # queued → accepted by the server
    assert f":{smtp_server.port}" in smtp.label
    assert smtp.last_success_at == START + dt.timedelta(seconds=2)

    # the server goes away: tries fail and are retried by messaging's job
    settings.EMAIL_PORT = free_port()
    clock.move_to(START + dt.timedelta(minutes=1), tick=False)
    for n in range(3):
        queue_email(actor, to=f"b{n}@example.com", subject="Hi", body_text="x")
    run_jobs()
    clock.move_to(START + dt.timedelta(minutes=5), tick=False)
    health.sweep()
    smtp.refresh_from_db()
    assert smtp.state == State.DOWN and smtp.failures_24h == 3
    assert DomainEvent.objects.filter(name="integration.unhealthy").count() == 1


def test_every_webhook_endpoint_is_listed(make_receiver, endpoint_for, emit, run_jobs):
    endpoint = endpoint_for(make_receiver(), name="Books")
    emit()
    run_jobs()
    health.sweep()
    integration = Integration.objects.get(kind="webhook", key=str(endpoint.pk))
    assert integration.label == "Books" and integration.state == State.HEALTHY
    assert integration.calls_24h == 1 and integration.p95_ms is not None


def test_the_sweep_is_scheduled():
    assert "integrations.health_sweep" in scheduler.registered()
    assert scheduler.registered()["integrations.health_sweep"].every == dt.timedelta(minutes=5)


def test_percentiles_use_nearest_rank():
    assert health.percentile([], 50) is None
    assert health.percentile([5], 95) == 5
    values = list(range(1, 101))
    assert health.percentile(values, 50) == 50 and health.percentile(values, 95) == 95
