from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "throughline.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Register periodic sweeps and event handlers of this app.
        from throughline.core import tasks  # noqa: F401
        from throughline.core.lookup_cache import watch_config
        from throughline.core.models import Organization, User

        # Settings that services remember per process (``lookup_cache.cached_config``).
        watch_config(Organization)
        watch_config(User, ignore={"last_login"})
