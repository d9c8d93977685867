from django.apps import AppConfig


class IntakeScoringConfig(AppConfig):
    name = "throughline.intake.scoring"
    label = "intake_scoring"
    verbose_name = "Lead qualification and scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register event reactions (intent signals, outcomes) and the periodic sweeps.
        from throughline.core.lookup_cache import watch_config
        from throughline.intake.scoring import reactions, tasks  # noqa: F401
        from throughline.intake.scoring.models import (
            Criterion,
            QualificationRubric,
            ScoringConfig,
            ScoringModel,
            ScoringRule,
        )

        watch_config(ScoringRule, ScoringConfig, ScoringModel, QualificationRubric, Criterion)
