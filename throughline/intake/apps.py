from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "throughline.intake"
    label = "intake"
    verbose_name = "Intake"

    def ready(self) -> None:
        # Register periodic sweeps, event handlers and the contact timeline source.
        from throughline.core.lookup_cache import watch_config
        from throughline.intake import reactions, tasks, timeline  # noqa: F401
        from throughline.intake.models import LeadSource

        watch_config(LeadSource)
