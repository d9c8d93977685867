"""Client pages of proposals, included at ``/c/`` (see portal_views' docstring)."""

from django.urls import path, register_converter

from throughline.sales import portal_views


class TokenConverter:
    regex = "[A-Za-z0-9_-]{20,100}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")

app_name = "sales_portal"

urlpatterns = [
    path("<token:token>/proposal", portal_views.proposal_page, name="proposal"),
    path("<token:token>/proposal/totals", portal_views.proposal_totals, name="totals"),
    path("<token:token>/proposal/comment", portal_views.proposal_comment, name="comment"),
    path("<token:token>/proposal/accept", portal_views.proposal_accept, name="accept"),
    path("<token:token>/proposal/pdf", portal_views.proposal_pdf, name="pdf"),
    path(
        "<token:token>/proposal/attachments/<uuid:attachment>",
        portal_views.proposal_attachment,
        name="attachment",
    ),
]
