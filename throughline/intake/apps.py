from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "throughline.intake"
    label = "intake"
    verbose_name = "Intake"

    def ready(self) -> None:
        # Register periodic sweeps, event handlers and the contact timeline source.
        from throughline.intake import reactions, tasks, timeline  # noqa: F401
