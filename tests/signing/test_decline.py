"""Declining: the signer gives a reason; the request ends, links stop working, the sender
hears why, and the corrected contract can be sent again as a new request."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from tests.signing.conftest import link_from, mails_to, text_of
from throughline.core.models import DomainEvent
from throughline.sales.models import Deal
from throughline.signing.models import Contract, SignatureEvidence, Signer, SigningRequest
from throughline.signing.services import contracts

pytestmark = pytest.mark.django_db


def test_decline_with_a_reason(
    contract, seal_certificate, sales_actor, signer_browser, run_jobs, smtp_server, users
):
    contract.owner = users["sales"]
    contract.save()
    request = contracts.send_contract(sales_actor, contract)
    run_jobs()
    browser = signer_browser("peter@initech.example").through_to_signing()

    # a reason is required
    response = browser.http.post(browser.url("decline"), {"reason": "  "})
    assert "Tell the sender why you decline." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]
    assert Signer.objects.get(email="peter@initech.example").status == Signer.Status.VIEWED

    browser.http.post(browser.url("decline"), {"reason": "The start date is wrong."})
    run_jobs()
    request.refresh_from_db()
    contract.refresh_from_db()
    peter = request.signers.get(order=1)
    assert (
        peter.status == Signer.Status.DECLINED
        and peter.decline_reason == "The start date is wrong."
    )
    assert request.status == SigningRequest.Status.DECLINED
    assert contract.status == Contract.Status.DECLINED
    row = SignatureEvidence.objects.get(request=request, event="declined")
    assert row.details == {"reason": "The start date is wrong."} and row.signer == peter
    # the sender hears why; the deal stays open; nobody else was invited
    (staff_mail,) = [
        m for m in mails_to(smtp_server, "sam@example.com") if "declined" in m["Subject"]
    ]
    assert "The start date is wrong." in text_of(staff_mail)
    assert Deal.objects.get(pk=contract.deal_id).status == Deal.Status.OPEN
    assert not DomainEvent.objects.filter(name="contract.signed").exists()
    assert mails_to(smtp_server, "joanna@initech.example") == []
    # the link is dead
    assert browser.page().status_code == 404

    # corrected and sent again: a new request, a new link; the old one stays dead
    old_token = browser.token
    again = contracts.send_contract(sales_actor, contract)
    run_jobs()
    assert again.pk != request.pk and again.status == SigningRequest.Status.OPEN
    new_token = link_from(smtp_server, "peter@initech.example")
    assert new_token != old_token
    assert browser.page().status_code == 404
    fresh = signer_browser("peter@initech.example", token=new_token)
    assert fresh.page().status_code == 200
