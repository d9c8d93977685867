"""PostgreSQL keeps each client's open invoices summed per currency (billing_client_open, by
a trigger on billing_invoice): after issuing, paying, crediting, refunding, voiding and raw
SQL, the table equals the sum of the invoices themselves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from tests.billing.conftest import line
from throughline.billing import services
from throughline.billing.models import Invoice
from throughline.crm import services as crm

pytestmark = pytest.mark.postgres

KEPT = "SELECT contact_id, currency, invoices, amount_due, rated_amount FROM billing_client_open"
SUMMED = """
SELECT contact_id, currency, COUNT(*), SUM(amount_due),
       COALESCE(SUM(amount_due * exchange_rate), 0)
FROM billing_invoice
WHERE document_type = 'invoice' AND status <> 'draft' AND amount_due > 0
GROUP BY contact_id, currency
"""


def _kept() -> set:
    with connection.cursor() as cursor:
        cursor.execute(KEPT + " WHERE invoices <> 0 OR amount_due <> 0 OR rated_amount <> 0")
        return {
            (c, cur, n, Decimal(a).normalize(), Decimal(r).normalize())
            for c, cur, n, a, r in cursor.fetchall()
        }


def _summed() -> set:
    with connection.cursor() as cursor:
        cursor.execute(SUMMED)
        return {
            (c, cur, n, Decimal(a).normalize(), Decimal(r).normalize())
            for c, cur, n, a, r in cursor.fetchall()
        }


def test_the_kept_sums_follow_every_change(actor, make_invoice, client_contact):
    other = crm.create_contact(actor, first_name="Other", last_name="Client", email="o@c.example")
    draft = make_invoice()
    assert _kept() == set()  # drafts are not due
    first = make_invoice(issue=True)
    second = make_invoice(issue=True, lines=[line(unit_price="250.00")])
    euro = make_invoice(issue=True, currency="EUR", exchange_rate="0.85", contact=other)
    assert _kept() == _summed() and len(_summed()) == 2
    services.record_payment(actor, invoice=first, amount="50.00")  # partly
    services.record_payment(actor, invoice=second, amount="300.00")  # in full: leaves
    services.credit_invoice(actor, euro, reason="Partly wrong", lines=[line(unit_price="10")])
    assert _kept() == _summed()
    payment = services.record_payment(actor, invoice=first, amount="70.00")
    services.payments.refund_payment(actor, payment, amount="20.00", reason="goodwill")
    assert _kept() == _summed()
    with connection.cursor() as cursor:  # a write that bypasses the services
        cursor.execute(
            "UPDATE billing_invoice SET contact_id = %s WHERE id = %s", [other.pk, first.pk]
        )
    assert _kept() == _summed()
    Invoice.objects.filter(pk=draft.pk).delete()
    Invoice.objects.filter(pk=euro.pk).update(view_count=5)  # unrelated: no change
    assert _kept() == _summed()
    assert {row[0] for row in _kept()} == {other.pk}


@pytest.mark.django_db(transaction=True)
def test_emptying_the_invoices_empties_the_kept_sums(make_invoice):
    make_invoice(issue=True)
    assert _kept()
    with connection.cursor() as cursor:  # what a test database's flush does
        cursor.execute("TRUNCATE billing_invoice CASCADE")
    assert _kept() == set()
