from django.urls import path

from throughline.sales.views import catalogue, deals, proposals, settings, templates

app_name = "sales"

urlpatterns = [
    path("deals/", deals.deal_board, name="deal_board"),
    path("deals/list/", deals.deal_list, name="deal_list"),
    path("deals/new/", deals.deal_create, name="deal_create"),
    path("deals/<uuid:pk>/", deals.deal_detail, name="deal_detail"),
    path("deals/<uuid:pk>/edit/", deals.deal_edit, name="deal_edit"),
    path("deals/<uuid:pk>/move/", deals.deal_move, name="deal_move"),
    path("deals/<uuid:pk>/win/", deals.deal_win, name="deal_win"),
    path("deals/<uuid:pk>/lose/", deals.deal_lose, name="deal_lose"),
    path("deals/<uuid:pk>/reopen/", deals.deal_reopen, name="deal_reopen"),
    path("deals/<uuid:pk>/proposals/new/", deals.proposal_create, name="proposal_create"),
    path("proposals/", proposals.proposal_list, name="proposal_list"),
    path("proposals/<uuid:pk>/", proposals.proposal_detail, name="proposal_detail"),
    path("proposals/<uuid:pk>/save/", proposals.proposal_save, name="proposal_save"),
    path("proposals/<uuid:pk>/totals/", proposals.proposal_totals, name="proposal_totals"),
    path("proposals/<uuid:pk>/add-item/", proposals.proposal_add_item, name="proposal_add_item"),
    path("proposals/<uuid:pk>/content/", proposals.proposal_content, name="proposal_content"),
    path(
        "proposals/<uuid:pk>/request-approval/",
        proposals.proposal_request_approval,
        name="proposal_request_approval",
    ),
    path(
        "proposals/<uuid:pk>/approvals/<uuid:approval>/",
        proposals.proposal_decide,
        name="proposal_decide",
    ),
    path("proposals/<uuid:pk>/send/", proposals.proposal_send, name="proposal_send"),
    path("proposals/<uuid:pk>/revise/", proposals.proposal_revise, name="proposal_revise"),
    path(
        "proposals/<uuid:pk>/versions/<int:number>/",
        proposals.proposal_version,
        name="proposal_version",
    ),
    path("proposals/<uuid:pk>/diff/", proposals.proposal_diff, name="proposal_diff"),
    path("proposals/<uuid:pk>/pdf/", proposals.proposal_pdf, name="proposal_pdf"),
    path("proposals/<uuid:pk>/comments/", proposals.proposal_comment, name="proposal_comment"),
    path(
        "proposals/<uuid:pk>/attachments/<uuid:attachment>/",
        proposals.proposal_attachment,
        name="proposal_attachment",
    ),
    path("catalogue/", catalogue.catalogue_list, name="catalogue_list"),
    path("catalogue/new/", catalogue.catalogue_create, name="catalogue_create"),
    path("catalogue/<uuid:pk>/", catalogue.catalogue_edit, name="catalogue_edit"),
    path("templates/", templates.template_list, name="template_list"),
    path("templates/new/", templates.template_create, name="template_create"),
    path("templates/<uuid:pk>/", templates.template_detail, name="template_detail"),
    path("templates/<uuid:pk>/edit/", templates.template_edit, name="template_edit"),
    path(
        "templates/<uuid:pk>/versions/<int:number>/submit/",
        templates.template_submit,
        name="template_submit",
    ),
    path(
        "templates/<uuid:pk>/versions/<int:number>/decide/",
        templates.template_decide,
        name="template_decide",
    ),
    path("settings/", settings.sales_settings, name="settings"),
    path("settings/pipelines/<uuid:pk>/stages/", settings.stage_create, name="stage_create"),
    path("settings/stages/<uuid:pk>/", settings.stage_edit, name="stage_edit"),
    path("settings/stages/<uuid:pk>/move/", settings.stage_move, name="stage_move"),
    path("settings/stages/<uuid:pk>/delete/", settings.stage_delete, name="stage_delete"),
    path("settings/lost-reasons/", settings.lost_reason_save, name="lost_reason_create"),
    path("settings/lost-reasons/<int:pk>/", settings.lost_reason_save, name="lost_reason_edit"),
    path("settings/approvals/", settings.policy_save, name="policy_save"),
]
