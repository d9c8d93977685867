from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "throughline.crm"
    label = "crm"
    verbose_name = "CRM"
