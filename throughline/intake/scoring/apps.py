from django.apps import AppConfig


class IntakeScoringConfig(AppConfig):
    name = "throughline.intake.scoring"
    label = "intake_scoring"
    verbose_name = "Lead qualification and scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register event reactions (intent signals, outcomes) and the periodic sweeps.
        from throughline.intake.scoring import reactions, tasks  # noqa: F401
