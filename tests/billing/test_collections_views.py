"""Staff pages for reminders and bank statements: who may do what, and that the buttons work."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from throughline.billing.models import (
    DunningCase,
    DunningPause,
    DunningPolicy,
    Invoice,
    StatementLine,
)
from throughline.billing.services import dunning

from .conftest import TODAY
from .statement_files import Tx, csv_statement

ON = TODAY - dt.timedelta(days=1)


@pytest.fixture
def invoice(make_invoice):
    return make_invoice(issue=True, due_date=TODAY + dt.timedelta(days=2))


def test_policy_page_lists_steps_and_billing_can_choose_the_eu_policy(client_as):
    page = client_as("billing").get(reverse("billing:dunning_policy"))
    assert page.status_code == 200
    assert b"Friendly reminder" in page.content and b"Final notice" in page.content

    response = client_as("billing").post(
        reverse("billing:dunning_policy_save"), {"kind": "eu", "is_active": "on"}
    )
    assert response.status_code == 302
    policy = dunning.current_policy()
    assert policy.kind == DunningPolicy.Kind.EU_LATE_PAYMENT
    assert policy.charge_interest and policy.charge_recovery_fee


def test_custom_steps_with_a_mistake_change_nothing(client_as):
    response = client_as("billing").post(
        reverse("billing:dunning_policy_save"),
        {"kind": "custom", "is_active": "on", "steps": '[{"offset": "soon"}]'},
        follow=True,
    )
    assert b"Policy not saved" in response.content
    assert dunning.current_policy().kind == DunningPolicy.Kind.REMINDERS_ONLY


def test_viewer_sees_but_cannot_change_the_policy(client_as):
    viewer = client_as("viewer")
    assert viewer.get(reverse("billing:dunning_policy")).status_code == 200
    assert viewer.post(reverse("billing:dunning_policy_save"), {"kind": "eu"}).status_code == 403
    assert dunning.current_policy().kind == DunningPolicy.Kind.REMINDERS_ONLY


def test_reminder_history_dispute_and_pause_from_the_invoice(client_as, invoice, time_machine):
    dunning.sweep()  # the friendly reminder (due in 2 days)
    staff = client_as("billing")
    page = staff.get(reverse("billing:invoice_reminders", args=[invoice.pk]))
    assert page.status_code == 200 and b"Friendly reminder" in page.content
    policy_page = staff.get(reverse("billing:dunning_policy")).content.decode()
    friendly_row = next(r for r in policy_page.split("<tr>") if "Friendly reminder" in r)
    assert '<td class="num">1</td><td class="num">0</td>' in friendly_row  # sent, skipped
    contact_page = staff.get(reverse("crm:contact_detail", args=[invoice.contact_id]))
    assert f"Payment reminder “Friendly reminder” for {invoice.number}" in contact_page.text

    staff.post(
        reverse("billing:invoice_dispute", args=[invoice.pk]),
        {"reason": "<script>alert(1)</script> wrong hours"},
    )
    case = DunningCase.objects.get(invoice=invoice)
    assert case.state == DunningCase.State.DISPUTED
    page = staff.get(reverse("billing:invoice_reminders", args=[invoice.pk]))
    assert b"<script>alert(1)" not in page.content and b"&lt;script&gt;" in page.content

    staff.post(reverse("billing:invoice_dispute", args=[invoice.pk]), {"action": "resolve"})
    assert DunningCase.objects.get(invoice=invoice).state == DunningCase.State.ACTIVE

    staff.post(
        reverse("billing:dunning_contact_pause", args=[invoice.contact_id]), {"reason": "Plan"}
    )
    assert DunningPause.objects.filter(contact_id=invoice.contact_id).exists()
    staff.post(
        reverse("billing:dunning_contact_pause", args=[invoice.contact_id]), {"action": "resume"}
    )
    assert not DunningPause.objects.exists()


def test_sales_cannot_dispute(client_as, invoice):
    response = client_as("sales").post(
        reverse("billing:invoice_dispute", args=[invoice.pk]), {"reason": "x"}
    )
    assert response.status_code == 403
    assert not DunningCase.objects.exists()


def test_upload_reconciles_and_a_suggestion_is_confirmed_with_one_click(client_as, make_invoice):
    first = make_invoice(issue=True)
    second = make_invoice(issue=True)
    content = csv_statement(
        [
            Tx(ON, "120.00", "Acme SARL", f"Invoice {first.number}"),
            Tx(ON, "120.00", "Someone", "no reference"),
        ]
    )
    staff = client_as("billing")
    response = staff.post(
        reverse("billing:statement_upload"),
        {"file": SimpleUploadedFile("bank.csv", content, "text/csv")},
        follow=True,
    )
    assert response.status_code == 200
    assert b"1 matched, 1 to confirm" in response.content
    assert Invoice.objects.get(pk=first.pk).status == Invoice.Status.PAID

    line = StatementLine.objects.get(status=StatementLine.Status.SUGGESTED)
    assert line.suggestion[0]["number"] == second.number
    unmatched = staff.get(reverse("billing:statement_unmatched"))
    assert f'id="line-{line.pk}"'.encode() in unmatched.content
    staff.post(reverse("billing:line_confirm", args=[line.pk]))
    assert Invoice.objects.get(pk=second.pk).status == Invoice.Status.PAID


def test_upload_of_a_broken_file_shows_the_error(client_as, org):
    response = client_as("billing").post(
        reverse("billing:statement_upload"),
        {"file": SimpleUploadedFile("bank.csv", b"Date,Amount,Currency\nx,1,GBP\n")},
    )
    assert response.status_code == 400
    assert b"is not a date" in response.content
    assert not StatementLine.objects.exists()


def test_statements_are_for_billing_not_sales(client_as, org):
    assert client_as("sales").get(reverse("billing:statement_list")).status_code == 403
    response = client_as("viewer").post(
        reverse("billing:statement_upload"),
        {"file": SimpleUploadedFile("bank.csv", csv_statement([Tx(ON, "1.00")]))},
    )
    assert response.status_code == 403
    assert not StatementLine.objects.exists()
