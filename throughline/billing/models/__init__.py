from throughline.billing.models.documents import InvoiceDocument
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

__all__ = [
    "Allocation",
    "CheckoutSession",
    "DocumentType",
    "GatewayEvent",
    "ImmutableInvoiceError",
    "Invoice",
    "InvoiceDocument",
    "InvoiceLine",
    "NumberSequence",
    "Payment",
    "Refund",
    "VatCategory",
]
