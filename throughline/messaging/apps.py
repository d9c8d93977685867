from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "throughline.messaging"
    label = "messaging"
    verbose_name = "Messaging"
