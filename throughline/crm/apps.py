from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "throughline.crm"
    label = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from throughline.core.lookup_cache import watch_config
        from throughline.crm.models import CustomFieldDefinition

        watch_config(CustomFieldDefinition)
