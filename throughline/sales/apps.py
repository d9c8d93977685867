from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "throughline.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        # Periodic sweeps, event handlers and timeline entries of this app.
        from throughline.sales import handlers, tasks, timeline  # noqa: F401
