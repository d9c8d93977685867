from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "throughline.signing"
    label = "signing"
    verbose_name = "Signing"

    def ready(self) -> None:
        # Event handlers, periodic sweeps, timeline entries and the e-mail send-time filler.
        from throughline.signing import handlers, tasks, timeline  # noqa: F401
        from throughline.signing.services import notify  # noqa: F401
