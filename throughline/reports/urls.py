from django.urls import path

from throughline.reports import views, views_drill, views_review, views_spend

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("aging/<str:bucket>/", views.aging_bucket, name="aging_bucket"),
    path("export/<str:report>.csv", views.export, name="export"),
    path("review/", views_review.review_list, name="review_list"),
    path("review/start/", views_review.review_start, name="review_start"),
    path("review/<uuid:pk>/", views_review.review_detail, name="review_detail"),
    path("review/item/<int:pk>/tick/", views_review.review_tick, name="review_tick"),
    path("spend/", views_spend.spend_list, name="spend"),
    path("spend/<uuid:pk>/delete/", views_spend.spend_delete, name="spend_delete"),
    path("records/invoices/", views_drill.invoices, name="drill_invoices"),
    path("records/payments/", views_drill.payments, name="drill_payments"),
    path("records/deals/", views_drill.deals, name="drill_deals"),
    path("records/leads/", views_drill.leads, name="drill_leads"),
    path("records/proposals/", views_drill.proposals, name="drill_proposals"),
    path("records/milestones/", views_drill.milestones, name="drill_milestones"),
]
