from django.apps import AppConfig


class IntakeBookingConfig(AppConfig):
    name = "throughline.intake.booking"
    label = "intake_booking"
    verbose_name = "Booking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Reminder jobs, the nurture reactions and the contact timeline source.
        from throughline.intake.booking import nurture, reminders, timeline  # noqa: F401
