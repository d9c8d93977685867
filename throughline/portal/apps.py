from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "throughline.portal"
    label = "portal"
    verbose_name = "Client portal"

    def ready(self) -> None:
        # Reactions to delivery's events: the welcome and testimonial e-mails with portal links.
        from throughline.portal import handlers  # noqa: F401
