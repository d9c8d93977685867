from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "throughline.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Event handlers, periodic sweeps and the automation action register on import.
        from throughline.integrations import actions, handlers, tasks  # noqa: F401

        actions.register()

        from throughline.core.lookup_cache import watch_config
        from throughline.integrations.models import WebhookEndpoint

        # Capture remembers which events active endpoints want; deliveries save the streak.
        watch_config(
            WebhookEndpoint,
            ignore={
                "consecutive_failures",
                "failing_since",
                "last_success_at",
                "last_failure_at",
                "updated_at",
            },
        )
