from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "throughline.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Event handlers, periodic sweeps and contact timeline entries of this app.
        from throughline.billing import handlers, handlers_delivery, tasks, timeline  # noqa: F401
        from throughline.billing.services.dunning import reminder_still_due
        from throughline.billing.services.payments import receipt_still_due
        from throughline.messaging.services import send_time_check

        send_time_check(reminder_still_due)
        send_time_check(receipt_still_due)
