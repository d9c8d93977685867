from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "throughline.automation"
    label = "automation"
    verbose_name = "Automation"

    def ready(self) -> None:
        # The CRM's subjects, the built-in actions, the event handlers (triggers, sequence
        # stops), the periodic sweeps and the timeline source.
        from throughline.automation import crm_subjects, generic_subjects, tasks, timeline  # noqa: F401
        from throughline.automation.sequences import stops  # noqa: F401
        from throughline.automation.workflows import builtin_actions, engine, triggers  # noqa: F401

        engine.connect_event_capture()
        # Plain subjects for the records of apps that register none of their own (yet).
        generic_subjects.register_missing()

        from throughline.automation.models import Sequence
        from throughline.core.lookup_cache import watch_config

        # The qualification rubric remembered by capture names a nurture sequence.
        watch_config(Sequence)
