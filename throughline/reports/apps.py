from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "throughline.reports"
    label = "reports"
    verbose_name = "Reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from throughline.reports import tasks  # noqa: F401
