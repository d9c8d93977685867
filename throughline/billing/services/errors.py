"""Errors the billing services raise besides Django's ``ValidationError`` (bad input)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from throughline.billing.documents.schematron import RuleFailure

# What to do about the rules a fresh installation fails most (master data, not arithmetic).
RULE_HINTS = {
    "BR-CO-26": "Add your VAT id or company registration id in Settings → Organization.",
    "BR-S-02": "Standard-rated invoices need your VAT id (Settings → Organization).",
    "BR-Z-02": "Zero-rated invoices need your VAT id (Settings → Organization).",
    "BR-E-02": "Exempt invoices need your VAT id (Settings → Organization).",
    "BR-AE-02": "Reverse charge needs your VAT id and the client's VAT id (on their company).",
    "BR-IC-02": "Intra-community supplies need your VAT id and the client's VAT id.",
    "BR-G-02": "Exports need your VAT id (Settings → Organization).",
    "BR-O-02": "Lines not subject to VAT cannot go on an invoice that shows a VAT id.",
    "BR-E-10": "Give the exemption reason (text or VATEX code) for exempt lines.",
}


class InvoiceStateError(Exception):
    """The operation does not fit the document's state (e.g. editing an issued invoice)."""


class IssueRefused(ValidationError):
    """EN 16931 business rules failed: the invoice stays a draft. ``failures`` says why."""

    def __init__(self, failures: list[RuleFailure], message: str = ""):
        self.failures = failures
        lines = [str(failure) for failure in failures]
        hints = sorted({RULE_HINTS[f.rule] for f in failures if f.rule in RULE_HINTS})
        super().__init__(
            {"__all__": [message or "The invoice breaks EN 16931 rules:", *lines, *hints]}
        )


class GatewayError(Exception):
    """A payment gateway could not be reached or refused the request."""
