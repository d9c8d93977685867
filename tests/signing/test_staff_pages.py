"""Staff pages: draft a contract from an accepted proposal, choose signers, send, void; the
PDF; reminders; a contract draft made on acceptance when the organization asks for it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from tests.signing.conftest import mails_to
from throughline.core.actor import Actor
from throughline.core.events import emit
from throughline.signing.models import Contract, SignatureEvidence, SigningSettings
from throughline.signing.services import ceremony, contracts

pytestmark = pytest.mark.django_db


def test_draft_edit_send_and_void_through_the_pages(
    client_as,
    accepted_proposal,
    contract_template,
    seal_certificate,
    peter,
    joanna,
    users,
    media,
    run_jobs,
    smtp_server,
):
    sales = client_as("sales")
    page = sales.get(f"/signing/new/{accepted_proposal.pk}")
    assert page.status_code == 200
    response = sales.post(
        f"/signing/new/{accepted_proposal.pk}",
        {"kind": "contract", "template": str(contract_template.pk), "title": ""},
    )
    contract = Contract.objects.get(proposal=accepted_proposal)
    assert response.status_code == 302 and contract.status == "draft"
    detail = sales.get(f"/signing/{contract.pk}/").content.decode()
    assert "Before sending" in detail and "joanna@initech.example" in detail
    preview = sales.get(f"/signing/{contract.pk}/pdf")
    assert preview.status_code == 200 and preview.content.startswith(b"%PDF")

    sales.post(
        f"/signing/{contract.pk}/edit",
        {
            "title": "Master services agreement",
            "template": str(contract_template.pk),
            "sequential": "",
            "signer": [f"contact:{peter.pk}", f"contact:{joanna.pk}", f"user:{users['owner'].pk}"],
            f"order-contact:{peter.pk}": "1",
            f"order-contact:{joanna.pk}": "1",
            f"order-user:{users['owner'].pk}": "2",
        },
    )
    contract.refresh_from_db()
    assert contract.title == "Master services agreement" and not contract.sequential
    assert len(contract.signer_plan) == 3

    sales.post(f"/signing/{contract.pk}/send", {"message": "Hello", "expires_in_days": "10"})
    run_jobs()
    contract.refresh_from_db()
    assert contract.status == "sent"
    # no order: everyone is invited at once
    for email in ("peter@initech.example", "joanna@initech.example", "olivia@example.com"):
        invitations = [m for m in mails_to(smtp_server, email) if "Please sign" in m["Subject"]]
        assert len(invitations) == 1, email
    as_sent = sales.get(f"/signing/{contract.pk}/pdf")
    assert as_sent.content == contract.current_request().document.open("rb").read()

    viewer = client_as("viewer")  # the same test client, now signed in as the viewer
    assert viewer.post(f"/signing/{contract.pk}/void", {"reason": "x"}).status_code == 403
    sales = client_as("sales")
    sales.post(f"/signing/{contract.pk}/void", {"reason": "Wrong client entity"})
    contract.refresh_from_db()
    assert contract.status == "voided" and contract.void_reason == "Wrong client entity"
    run_jobs()
    assert any("Withdrawn" in m["Subject"] for m in mails_to(smtp_server, "peter@initech.example"))


def test_reminders_once_per_period(contract, seal_certificate, sales_actor, run_jobs, smtp_server):
    request = contracts.send_contract(sales_actor, contract)
    run_jobs()
    assert ceremony.remind_due() == 0  # too early
    later = timezone.now() + dt.timedelta(days=SigningSettings.current().reminder_days, hours=1)
    with time_machine.travel(later):
        assert ceremony.remind_due() == 1
        assert ceremony.remind_due() == 0  # claimed
        run_jobs()
    reminders = [
        m for m in mails_to(smtp_server, "peter@initech.example") if "Reminder" in m["Subject"]
    ]
    assert len(reminders) == 1
    assert SignatureEvidence.objects.filter(request=request, event="signer.reminded").count() == 1


def test_contract_draft_on_acceptance_when_asked(
    accepted_proposal, contract_template, run_jobs, media
):
    options = SigningSettings.current()
    options.draft_on_acceptance, options.default_template = True, contract_template
    options.save()
    from django.db import transaction

    with transaction.atomic():  # replaying the event: the handler makes one draft, once
        emit(
            Actor.system(),
            "proposal.accepted",
            accepted_proposal,
            deal_id=str(accepted_proposal.deal_id),
        )
    run_jobs()
    (draft,) = Contract.objects.filter(proposal=accepted_proposal)
    assert draft.status == "draft" and draft.template_version.template == contract_template
