from django.apps import AppConfig


class IntakeRoutingConfig(AppConfig):
    name = "throughline.intake.routing"
    label = "intake_routing"
    verbose_name = "Lead routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The capture hook (lead.assigned at capture) and the SLA-breach escalation.
        from throughline.intake.routing import escalation, hooks  # noqa: F401
