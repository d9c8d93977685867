"""Billing's write paths (DESIGN §2): every operation in one transaction with audit and events.

The verbs other code calls — views, the API, tasks, handlers and, later, dunning and bank
reconciliation — are re-exported here.
"""

from throughline.billing.services.credit_notes import credit_invoice
from throughline.billing.services.invoicing import (
    check_rules,
    create_invoice,
    delete_invoice,
    issue_invoice,
    update_invoice,
)
from throughline.billing.services.payments import (
    apply_client_credit,
    record_failed_payment,
    record_payment,
    refund_payment,
)
from throughline.billing.services.sending import new_client_link, record_view, send_invoice

__all__ = [
    "apply_client_credit",
    "check_rules",
    "create_invoice",
    "credit_invoice",
    "delete_invoice",
    "issue_invoice",
    "new_client_link",
    "record_failed_payment",
    "record_payment",
    "record_view",
    "refund_payment",
    "send_invoice",
    "update_invoice",
]
