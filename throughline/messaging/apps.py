from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "throughline.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from throughline.core.lookup_cache import watch_config
        from throughline.messaging.models import EmailTemplate

        watch_config(EmailTemplate)
