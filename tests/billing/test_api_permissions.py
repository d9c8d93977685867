"""Every billing API route × every role: allowed, or 403 with an audited ``access.denied``.

The table is written out (not derived from the views) so that loosening a declaration fails
here. tests/api/test_permissions.py should list these routes too (its ROUTES table).
"""

from __future__ import annotations

import pytest

from tests.api import openapi
from throughline.core.models import AuditEntry
from throughline.core.roles import Role, role_has

ROUTES = {
    ("GET", "/api/v1/invoices"): "billing.view",
    ("POST", "/api/v1/invoices"): "billing.edit",
    ("GET", "/api/v1/invoices/{id}"): "billing.view",
    ("PATCH", "/api/v1/invoices/{id}"): "billing.edit",
    ("DELETE", "/api/v1/invoices/{id}"): "billing.edit",
    ("POST", "/api/v1/invoices/{id}/issue"): "billing.issue",
    ("POST", "/api/v1/invoices/{id}/send"): "billing.issue",
    ("GET", "/api/v1/invoices/{id}/pdf"): "billing.view",
    ("GET", "/api/v1/invoices/{id}/ubl"): "billing.view",
    ("POST", "/api/v1/invoices/{id}/payments"): "billing.payments",
    ("GET", "/api/v1/credit-notes"): "billing.view",
    ("POST", "/api/v1/credit-notes"): "billing.issue",
    ("GET", "/api/v1/credit-notes/{id}"): "billing.view",
    ("GET", "/api/v1/credit-notes/{id}/pdf"): "billing.view",
    ("GET", "/api/v1/credit-notes/{id}/ubl"): "billing.view",
    ("GET", "/api/v1/payments"): "billing.view",
    ("POST", "/api/v1/payments"): "billing.payments",
    ("GET", "/api/v1/payments/{id}"): "billing.view",
    ("POST", "/api/v1/payments/{id}/refund"): "billing.payments",
}
BILLING_PREFIXES = ("/api/v1/invoices", "/api/v1/credit-notes", "/api/v1/payments")


def test_every_documented_billing_route_is_in_the_table():
    documented = {
        (method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        if path.startswith(BILLING_PREFIXES)
        for method in operations
    }
    assert documented == set(ROUTES)


def test_roles_get_what_the_brief_says():
    for role in (Role.OWNER, Role.ADMIN, Role.BILLING):
        assert all(
            role_has(role, p)
            for p in ("billing.view", "billing.edit", "billing.issue", "billing.payments")
        )
    for role in (Role.SALES, Role.DELIVERY, Role.VIEWER):
        assert role_has(role, "billing.view")
        assert not any(
            role_has(role, p) for p in ("billing.edit", "billing.issue", "billing.payments")
        )


@pytest.fixture
def records(make_invoice, actor):
    from throughline.billing.services import credit_notes, payments

    invoice = make_invoice(issue=True)
    payment = payments.record_payment(actor, invoice=invoice, amount="10.00", send_receipt=False)
    note = credit_notes.credit_invoice(
        actor,
        invoice,
        reason="x",
        lines=[{"description": "x", "unit_price": "1", "tax_rate": "20"}],
    )
    return {"invoices": invoice, "credit-notes": note, "payments": payment}


@pytest.mark.parametrize("role", Role.values)
def test_permission_matrix(api, users, records, role):
    for (method, template), permission in ROUTES.items():
        resource = template.split("/")[3]
        path = template.replace("{id}", str(records[resource].pk))
        before = AuditEntry.objects.filter(action="access.denied").count()
        response = api(role).generic(method, path, "{}", content_type="application/json")
        denials = AuditEntry.objects.filter(action="access.denied")
        if role_has(role, permission):
            assert response.status_code != 403 and response.status_code < 500, (
                method,
                path,
                response.content,
            )
            assert denials.count() == before
        else:
            assert response.status_code == 403, (method, path)
            assert denials.count() == before + 1
            assert denials.first().changes == {"permission": [None, permission]}
