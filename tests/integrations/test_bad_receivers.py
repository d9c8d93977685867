"""Receivers that redirect, hang, trickle or answer garbage: handled, logged, retried."""

import pytest

from throughline.integrations.models import WebhookDelivery


@pytest.fixture
def short_timeouts(settings):
    settings.WEBHOOK_CONNECT_TIMEOUT = 0.5
    settings.WEBHOOK_READ_TIMEOUT = 0.5


def only_attempt():
    delivery = WebhookDelivery.objects.get()
    [attempt] = delivery.attempts.all()
    return delivery, attempt


def test_redirects_are_not_followed(make_receiver, endpoint_for, emit, run_jobs):
    elsewhere = make_receiver()
    receiver = make_receiver(
        (302, {"Location": f"http://user:pw@127.0.0.1:{elsewhere.port}/steal?key=1"}, b"")
    )
    endpoint_for(receiver)
    emit()
    run_jobs()

    delivery, attempt = only_attempt()
    assert elsewhere.requests == []  # the redirect target never heard from us
    assert attempt.response_status == 302 and attempt.outcome == "retry"
    assert "redirect" in attempt.error and "not followed" in attempt.error
    # the Location is logged without its credentials or query
    assert f"http://127.0.0.1:{elsewhere.port}/steal?…" in attempt.error
    assert "pw" not in attempt.error and "key=1" not in attempt.error
    assert delivery.status == "pending" and delivery.next_attempt_at is not None


def test_a_hanging_receiver_times_out(make_receiver, endpoint_for, emit, run_jobs, short_timeouts):
    receiver = make_receiver("hang")
    endpoint_for(receiver)
    emit()
    run_jobs()

    delivery, attempt = only_attempt()
    assert len(receiver.requests) == 1
    assert attempt.response_status is None and attempt.outcome == "retry"
    assert attempt.error.startswith("Timed out")
    assert 450 <= attempt.latency_ms < 3000
    assert delivery.status == "pending"


def test_a_trickling_receiver_is_cut_at_the_overall_deadline(
    make_receiver, endpoint_for, emit, run_jobs, short_timeouts
):
    # each byte arrives within the read timeout, but the whole answer would take minutes
    receiver = make_receiver("trickle")
    endpoint_for(receiver)
    emit()
    run_jobs()

    delivery, attempt = only_attempt()
    assert 900 <= attempt.latency_ms < 3000  # connect + read timeouts: 1 s in all
    assert "Incomplete response after status 200" in attempt.error and "Timed out" in attempt.error
    # the receiver did answer 200: it has the event, so the delivery counts as made
    assert attempt.outcome == "success" and delivery.status == "succeeded"


@pytest.mark.parametrize("behaviour", ["garbage", "close"])
def test_garbage_or_a_hang_up_is_a_logged_failure(
    make_receiver, endpoint_for, emit, run_jobs, behaviour, short_timeouts
):
    receiver = make_receiver(behaviour)
    endpoint_for(receiver)
    emit()
    run_jobs()

    delivery, attempt = only_attempt()
    assert attempt.response_status is None and attempt.outcome == "retry"
    assert attempt.error  # e.g. "BadStatusLine: …" or "RemoteDisconnected: …"
    assert delivery.status == "pending"


def test_nobody_listening_is_retried(endpoint_for, emit, run_jobs):
    from tests.conftest import free_port

    endpoint_for(f"http://127.0.0.1:{free_port()}/hook")
    emit()
    run_jobs()
    delivery, attempt = only_attempt()
    assert attempt.error == "Connection refused" and delivery.status == "pending"


def test_a_large_answer_is_cut_to_an_excerpt(make_receiver, endpoint_for, emit, run_jobs):
    receiver = make_receiver((200, {"Content-Type": "text/html"}, b"x" * 200_000))
    endpoint_for(receiver)
    emit()
    run_jobs()
    delivery, attempt = only_attempt()
    assert delivery.status == "succeeded"
    assert len(attempt.response_excerpt) == 2000
    assert attempt.response_headers["content-type"] == "text/html"


def test_the_next_checked_address_is_tried_when_the_first_refuses(make_receiver, monkeypatch):
    import socket

    from throughline.integrations import transport

    receiver = make_receiver()
    real = socket.getaddrinfo

    def dual_stack(host, port, *args, **kwargs):
        # The receiver listens on 127.0.0.1 only; the name lists ::1 first (no DNS here).
        if host == "dual.example":
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dual_stack)
    result = transport.post(f"http://dual.example:{receiver.port}/hook", b"{}", {})
    assert result.ok, result.error
    assert receiver.requests[0].headers["Host"] == f"dual.example:{receiver.port}"
