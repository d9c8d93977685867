from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "throughline.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Event handlers, periodic sweeps and contact timeline entries of this app.
        from throughline.billing import handlers, handlers_delivery, tasks, timeline  # noqa: F401
