from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "throughline.delivery"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Event handlers (kick-off on contract.signed) and periodic sweeps (retainer periods).
        from throughline.delivery import handlers, tasks, timeline  # noqa: F401
