from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "throughline.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Register periodic sweeps and event handlers of this app.
        from throughline.core import tasks  # noqa: F401
