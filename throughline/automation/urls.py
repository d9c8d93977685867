from django.urls import path

from throughline.automation.views import notifications, runs, sequences, workflows

app_name = "automation"

urlpatterns = [
    path("", workflows.workflow_list, name="workflow_list"),
    path("workflows/new/", workflows.workflow_create, name="workflow_create"),
    path("workflows/import/", workflows.workflow_import, name="workflow_import"),
    path("workflows/export/", workflows.workflow_export_all, name="workflow_export_all"),
    path("workflows/step-params/", workflows.step_params, name="step_params"),
    path("workflows/<uuid:pk>/", workflows.workflow_detail, name="workflow_detail"),
    path("workflows/<uuid:pk>/edit/", workflows.workflow_edit, name="workflow_edit"),
    path("workflows/<uuid:pk>/versions/", workflows.workflow_versions, name="workflow_versions"),
    path("workflows/<uuid:pk>/dry-run/", workflows.workflow_dry_run, name="workflow_dry_run"),
    path("workflows/<uuid:pk>/export/", workflows.workflow_export, name="workflow_export"),
    path("workflows/<uuid:pk>/toggle/", workflows.workflow_toggle, name="workflow_toggle"),
    path("runs/", runs.run_list, name="run_list"),
    path("runs/<uuid:pk>/", runs.run_detail, name="run_detail"),
    path("runs/<uuid:pk>/cancel/", runs.run_cancel, name="run_cancel"),
    path("steps/<int:pk>/retry/", runs.step_retry, name="step_retry"),
    path("sequences/", sequences.sequence_list, name="sequence_list"),
    path("sequences/new/", sequences.sequence_create, name="sequence_create"),
    path("sequences/<uuid:pk>/", sequences.sequence_detail, name="sequence_detail"),
    path("sequences/<uuid:pk>/edit/", sequences.sequence_edit, name="sequence_edit"),
    path("sequences/<uuid:pk>/enrol/", sequences.sequence_enrol, name="sequence_enrol"),
    path("enrollments/<uuid:pk>/stop/", sequences.enrollment_stop, name="enrollment_stop"),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path("notifications/read/", notifications.notification_read, name="notification_read"),
]
