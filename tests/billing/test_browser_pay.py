"""A client pays from the invoice page in a real browser (Debian's Chromium through Playwright),
through the Stripe stand-in's hosted checkout page, whose signed webhook marks the invoice paid.
"""

from __future__ import annotations

import pytest

from throughline.billing.models import Invoice
from throughline.billing.services import sending

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def test_client_pays_from_the_invoice_page(
    page, live_server, make_invoice, stripe_standin, settings
):
    settings.BASE_URL = live_server.url
    stripe_standin.webhook_url = f"{live_server.url}/hooks/payments/stripe"
    invoice = make_invoice(issue=True)
    link = sending.new_client_link(invoice)

    page.goto(link)
    assert page.get_by_text("Amount due").is_visible()
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url(f"{stripe_standin.base_url}/pay/*")
    assert page.get_by_role("heading").inner_text() == "Pay 120.00 GBP"
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{link}?payment=success")
    assert page.get_by_text("Paid — thank you.").is_visible()

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payments.get().gateway == "stripe"
