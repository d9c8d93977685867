from django.apps import AppConfig


class IntakeChannelsConfig(AppConfig):
    name = "throughline.intake.channels"
    label = "intake_channels"
    verbose_name = "Intake channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the periodic IMAP sweep, the import job and the timeline source.
        from throughline.intake.channels import tasks, timeline  # noqa: F401
