"""The proposal as a PDF (WeasyPrint), from the very template the web page uses.

WeasyPrint fetches nothing from the network: its URL fetcher allows only ``data:`` URLs (the
organization's logo is inlined), so text typed by a user cannot make the server fetch a URL.
"""

from __future__ import annotations

import base64
import mimetypes

from django.template.loader import render_to_string

from throughline.core.models import Organization
from throughline.sales.document import document_context
from throughline.sales.models import ProposalVersion


def logo_data_uri(org: Organization) -> str:
    if not org.logo:
        return ""
    try:
        with org.logo.open("rb") as handle:
            data = handle.read(2 * 1024 * 1024)
    except OSError:
        return ""
    mime = mimetypes.guess_type(org.logo.name)[0] or "image/png"
    if mime not in {"image/png", "image/jpeg", "image/gif", "image/webp"}:
        return ""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def render_pdf(version: ProposalVersion, selection: list[str] | None = None, **extra) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    org = Organization.current()
    context = {
        **document_context(version, selection),
        "organization": org,
        "logo_src": logo_data_uri(org),
        "for_pdf": True,
        **extra,
    }
    html = render_to_string("sales/proposal/pdf.html", context)
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=2)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def pdf_filename(version: ProposalVersion) -> str:
    return f"{version.proposal.number}-v{version.number}.pdf"
