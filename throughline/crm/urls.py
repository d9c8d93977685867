from django.urls import path

from throughline.crm.views import companies, contacts, tasks

app_name = "crm"

urlpatterns = [
    path("contacts/", contacts.contact_list, name="contact_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<uuid:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<uuid:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<uuid:pk>/delete/", contacts.contact_delete, name="contact_delete"),
    path(
        "contacts/<uuid:pk>/log/<slug:kind>/",
        contacts.contact_log_activity,
        name="contact_log_activity",
    ),
    path("companies/", companies.company_list, name="company_list"),
    path("companies/new/", companies.company_create, name="company_create"),
    path("companies/<uuid:pk>/", companies.company_detail, name="company_detail"),
    path("companies/<uuid:pk>/edit/", companies.company_edit, name="company_edit"),
    path("companies/<uuid:pk>/delete/", companies.company_delete, name="company_delete"),
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/new/", tasks.task_create, name="task_create"),
    path("tasks/<uuid:pk>/toggle/", tasks.task_toggle, name="task_toggle"),
]
