"""Online payment through Stripe, against a local stand-in for Stripe's API.

The client pays from the invoice page; Stripe's signed webhook records the payment once, however
often and in whatever order events arrive; forged and replayed webhooks are refused and logged;
a payment whose webhook never arrives is found by the periodic check.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.billing.stripe_standin import sign
from throughline.billing.models import CheckoutSession, GatewayEvent, Invoice, Payment
from throughline.billing.services import online, sending
from throughline.core.models import AuditEntry, DomainEvent


@pytest.fixture
def issued(make_invoice):
    return make_invoice(issue=True)  # 100.00 + 20% VAT = 120.00 GBP


def _token_of(url: str) -> str:
    return url.rstrip("/").split("/c/")[1].split("/")[0]


@pytest.fixture
def paying(client, issued, stripe_standin):
    """The client opened the invoice page and pressed "Pay now"; returns (session, invoice)."""
    token = _token_of(sending.new_client_link(issued))
    page = client.get(f"/c/{token}/invoice")
    assert page.status_code == 200 and b"Pay now" in page.content
    response = client.post(f"/c/{token}/invoice/pay")
    assert response.status_code == 303
    session_id = response["Location"].rsplit("/", 1)[1]
    return stripe_standin.sessions[session_id], issued


def test_pay_now_opens_a_checkout_session_through_the_sdk(paying, stripe_standin):
    session, invoice = paying
    method, path, form = stripe_standin.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert form["line_items"][0]["price_data"]["unit_amount"] == "12000"  # 120.00 GBP in pence
    assert form["line_items"][0]["price_data"]["currency"] == "gbp"
    assert form["metadata"]["invoice_id"] == str(invoice.pk)
    assert form["payment_intent_data"]["metadata"]["invoice_number"] == invoice.number
    assert CheckoutSession.objects.get(session_id=session["id"]).amount == Decimal("120.00")


def test_pressing_pay_now_twice_reuses_the_open_session(client, issued, stripe_standin):
    token = _token_of(sending.new_client_link(issued))
    first = client.post(f"/c/{token}/invoice/pay")["Location"]
    second = client.post(f"/c/{token}/invoice/pay")["Location"]
    assert first == second
    assert len(stripe_standin.sessions) == 1


def test_signed_webhook_records_the_payment_once(paying, stripe_standin, post_webhook, run_jobs):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    payload = stripe_standin.event("checkout.session.completed", session)

    response = post_webhook(payload)
    assert response.status_code == 200, response.content
    # the same event again (Stripe redelivers), and the same event freshly signed later
    assert post_webhook(payload).status_code == 200
    assert post_webhook(payload, sign(payload, timestamp=int(time.time()) + 5)).status_code == 200

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_due == 0
    [payment] = Payment.objects.filter(invoice=invoice)
    assert (payment.amount, payment.method, payment.gateway) == (
        Decimal("120.00"),
        "card",
        "stripe",
    )
    assert payment.gateway_reference == stripe_standin.sessions[session["id"]]["payment_intent"]
    assert GatewayEvent.objects.count() == 1
    assert CheckoutSession.objects.get().status == CheckoutSession.Status.COMPLETE
    names = list(
        DomainEvent.objects.filter(name__in=["payment.received", "invoice.paid"]).values_list(
            "name", flat=True
        )
    )
    assert sorted(names) == ["invoice.paid", "payment.received"]


def test_a_second_event_for_the_same_payment_does_not_count_twice(
    paying, stripe_standin, post_webhook
):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    assert (
        post_webhook(stripe_standin.event("checkout.session.completed", session)).status_code == 200
    )
    # another event id about the same money (async success after completion)
    assert (
        post_webhook(
            stripe_standin.event("checkout.session.async_payment_succeeded", session)
        ).status_code
        == 200
    )
    assert Payment.objects.filter(invoice=invoice, status="succeeded").count() == 1
    assert GatewayEvent.objects.count() == 2


@pytest.mark.parametrize(
    "signature, reason",
    [
        ("", "missing"),
        ("t=123,v1=deadbeef", "signature"),
        (None, "forged"),  # signed with another secret
    ],
)
def test_forged_webhooks_are_refused_logged_and_change_nothing(
    paying, stripe_standin, post_webhook, signature, reason
):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    payload = stripe_standin.event("checkout.session.completed", session)
    if signature is None:
        signature = sign(payload, secret="whsec_someone_else")
    response = post_webhook(payload, signature)
    assert response.status_code == 400
    assert not Payment.objects.exists() and not GatewayEvent.objects.exists()
    entry = AuditEntry.objects.filter(action="security.webhook_rejected").latest("seq")
    assert entry.object_id == "stripe" and entry.changes["status"] == [None, 400]


def test_a_replayed_old_webhook_is_refused(paying, stripe_standin, post_webhook):
    session, _ = paying
    stripe_standin.pay(session["id"])
    payload = stripe_standin.event("checkout.session.completed", session)
    stale = sign(payload, timestamp=int(time.time()) - 3600)  # captured an hour ago
    response = post_webhook(payload, stale)
    assert response.status_code == 400
    assert not Payment.objects.exists()
    entry = AuditEntry.objects.filter(action="security.webhook_rejected").latest("seq")
    assert "tolerance" in entry.changes["reason"][1].lower()


def test_a_tampered_body_is_refused(paying, stripe_standin, post_webhook):
    session, _ = paying
    stripe_standin.pay(session["id"])
    payload = stripe_standin.event("checkout.session.completed", session)
    signature = sign(payload)
    tampered = payload.replace(b'"amount_total": 12000', b'"amount_total": 1')
    assert tampered != payload
    assert post_webhook(tampered, signature).status_code == 400
    assert not Payment.objects.exists()


def test_unknown_gateway_is_404(post_webhook):
    assert post_webhook(b"{}", "t=1,v1=x", gateway="paypal").status_code == 404


def test_refund_arriving_before_the_payment_still_ends_right(paying, stripe_standin, post_webhook):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    refund = stripe_standin.event("charge.refunded", stripe_standin.charge_refunded(session, 2000))
    completed = stripe_standin.event("checkout.session.completed", session)

    assert post_webhook(refund).status_code == 200  # late/out of order: refund first
    assert post_webhook(completed).status_code == 200

    [payment] = Payment.objects.filter(status="succeeded")
    assert payment.amount == Decimal("120.00") and payment.amount_refunded == Decimal("20.00")
    invoice.refresh_from_db()
    # 20.00 went back to the client off the invoice: 20.00 due again
    assert invoice.amount_paid == Decimal("100.00") and invoice.amount_due == Decimal("20.00")
    assert invoice.status == Invoice.Status.PARTIALLY_PAID
    assert DomainEvent.objects.filter(name="payment.refunded").count() == 1

    # the same refund again (redelivered with a new event id) changes nothing
    again = stripe_standin.charge_refunded(session, 2000)
    assert post_webhook(stripe_standin.event("charge.refunded", again)).status_code == 200
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("20.00") and payment.refunds.count() == 1


def test_late_expiry_and_late_failure_do_not_undo_a_payment(paying, stripe_standin, post_webhook):
    session, invoice = paying
    paid = dict(stripe_standin.pay(session["id"]))
    assert post_webhook(stripe_standin.event("checkout.session.completed", paid)).status_code == 200
    expired = {**paid, "status": "expired"}
    assert (
        post_webhook(stripe_standin.event("checkout.session.expired", expired)).status_code == 200
    )
    failure = {
        "id": paid["payment_intent"],
        "object": "payment_intent",
        "amount": 12000,
        "currency": "gbp",
        "metadata": paid["metadata"],
        "last_payment_error": {"message": "Your card was declined."},
    }
    assert (
        post_webhook(stripe_standin.event("payment_intent.payment_failed", failure)).status_code
        == 200
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert CheckoutSession.objects.get().status == CheckoutSession.Status.COMPLETE
    assert not Payment.objects.filter(status="failed").exists()


def test_failed_payment_is_recorded_and_announced(paying, stripe_standin, post_webhook):
    session, invoice = paying
    failure = {
        "id": "pi_test_declined",
        "object": "payment_intent",
        "amount": 12000,
        "currency": "gbp",
        "metadata": session["metadata"],
        "last_payment_error": {"message": "Your card was declined."},
    }
    assert (
        post_webhook(stripe_standin.event("payment_intent.payment_failed", failure)).status_code
        == 200
    )
    [failed] = Payment.objects.filter(status="failed")
    assert failed.failure_reason == "Your card was declined."
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("120.00") and invoice.status == Invoice.Status.ISSUED
    event = DomainEvent.objects.get(name="payment.failed")
    assert event.payload["invoice_id"] == str(invoice.pk)


def test_periodic_check_records_a_payment_whose_webhook_never_came(
    paying, stripe_standin, time_machine
):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    assert online.sync_open_sessions()["checked"] == 0  # too fresh: the webhook may still come
    time_machine.move_to(time.time() + 600)
    counts = online.sync_open_sessions()
    assert counts == {"checked": 1, "paid": 1, "expired": 0, "errors": 0}
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    # the webhook arriving after all changes nothing
    assert online.sync_open_sessions()["checked"] == 0
    assert Payment.objects.filter(status="succeeded").count() == 1


def test_late_webhook_after_the_periodic_check_counts_once(
    paying, stripe_standin, post_webhook, time_machine
):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    time_machine.move_to(time.time() + 600)
    online.sync_open_sessions()
    response = post_webhook(stripe_standin.event("checkout.session.completed", session))
    assert response.status_code == 200 and b"duplicate" in response.content
    assert Payment.objects.filter(status="succeeded").count() == 1


def test_gateway_down_shows_a_clear_message_and_opens_nothing(client, issued, stripe_standin):
    stripe_standin.failures = [500, 500]  # the SDK retries once
    token = _token_of(sending.new_client_link(issued))
    response = client.post(f"/c/{token}/invoice/pay")
    assert response.status_code == 409
    assert b"Stripe could not" in response.content
    assert not CheckoutSession.objects.exists()
    stripe_standin.failures = []
    assert client.post(f"/c/{token}/invoice/pay").status_code == 303


def test_refund_through_the_gateway_then_its_webhook_counts_once(
    paying, stripe_standin, post_webhook, actor
):
    session, invoice = paying
    stripe_standin.pay(session["id"])
    post_webhook(stripe_standin.event("checkout.session.completed", session))
    payment = Payment.objects.get(status="succeeded")
    refund = online.refund_online(actor, payment, amount="20.00", reason="goodwill")
    [sent] = stripe_standin.refunds
    assert sent["amount"] == 2000 and sent["payment_intent"] == payment.gateway_reference
    assert refund.gateway_reference == sent["id"]
    # Stripe then tells us about the refund we made: nothing more is recorded
    charge = stripe_standin.charge_refunded(
        stripe_standin.sessions[session["id"]], 2000, sent["id"]
    )
    assert post_webhook(stripe_standin.event("charge.refunded", charge)).status_code == 200
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("20.00") and payment.refunds.count() == 1
