from django.urls import path

from throughline.delivery.views import projects, templates

app_name = "delivery"

urlpatterns = [
    path("", projects.project_list, name="project_list"),
    path("projects/<uuid:pk>/", projects.project_detail, name="project_detail"),
    path("projects/<uuid:pk>/action", projects.project_action, name="project_action"),
    path("projects/<uuid:pk>/files/<uuid:file>", projects.file_download, name="file"),
    path("projects/<uuid:pk>/closeout", projects.closeout_page, name="closeout"),
    path("projects/<uuid:pk>/closeout.pdf", projects.closeout_pdf, name="closeout_pdf"),
    path("proposals/<uuid:proposal>/template", projects.choose_template, name="choose_template"),
    path("proposals/<uuid:proposal>/start", projects.start_from_proposal, name="start_project"),
    path("templates/", templates.template_list, name="template_list"),
    path("templates/new", templates.template_edit, name="template_new"),
    path("templates/<uuid:pk>/", templates.template_edit, name="template_edit"),
    path("settings", templates.settings_save, name="settings"),
]
