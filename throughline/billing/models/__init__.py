from throughline.billing.models.documents import InvoiceDocument
from throughline.billing.models.dunning import (
    DunningCase,
    DunningPause,
    DunningPolicy,
    LateFee,
    ReferenceRate,
    Reminder,
)
from throughline.billing.models.gateways import CheckoutSession, GatewayEvent
from throughline.billing.models.invoices import (
    DocumentType,
    ImmutableInvoiceError,
    Invoice,
    InvoiceLine,
    VatCategory,
)
from throughline.billing.models.numbering import NumberSequence
from throughline.billing.models.payments import Allocation, Payment, Refund
from throughline.billing.models.settings import BillingSettings
from throughline.billing.models.statements import CsvMapping, StatementImport, StatementLine

__all__ = [
    "Allocation",
    "BillingSettings",
    "CheckoutSession",
    "CsvMapping",
    "DunningCase",
    "DunningPause",
    "DunningPolicy",
    "DocumentType",
    "GatewayEvent",
    "ImmutableInvoiceError",
    "Invoice",
    "InvoiceDocument",
    "InvoiceLine",
    "LateFee",
    "NumberSequence",
    "Payment",
    "ReferenceRate",
    "Refund",
    "Reminder",
    "StatementImport",
    "StatementLine",
    "VatCategory",
]
