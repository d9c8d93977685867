from django.apps import AppConfig


class IntakeRoutingConfig(AppConfig):
    name = "throughline.intake.routing"
    label = "intake_routing"
    verbose_name = "Lead routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The SLA-breach escalation (capture records its assignment itself).
        from throughline.core.lookup_cache import watch_config
        from throughline.intake.routing import escalation  # noqa: F401
        from throughline.intake.routing.models import AssignmentRule, RoutingSettings, Team

        # Capture remembers the rules and the fallback owner (Team: its deletion empties rules).
        watch_config(AssignmentRule, RoutingSettings, Team)
