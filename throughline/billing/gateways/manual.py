"""Manual payments: money that arrives outside any gateway (bank transfer, cheque, cash).

No checkout and no webhooks: the billing role records them (staff UI or API), and bank
reconciliation will too, through ``billing.services.payments.record_payment``.
"""

from __future__ import annotations

from throughline.billing.models import Payment


class ManualGateway:
    name = "manual"
    label = "Recorded by hand"
    methods = Payment.MANUAL_METHODS

    def is_configured(self) -> bool:
        return True
