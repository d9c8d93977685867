from django.apps import AppConfig


class IntakeRoutingConfig(AppConfig):
    name = "throughline.intake.routing"
    label = "intake_routing"
    verbose_name = "Lead routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The SLA-breach escalation (capture records its assignment itself).
        from throughline.intake.routing import escalation  # noqa: F401
