"""The contract as HTML and PDF (WeasyPrint), and the signature certificate pages.

The contract is the template's clauses (merged with the accepted proposal's parties and
figures) followed by the accepted proposal itself as its schedule — rendered with sales' own
``_document.html`` and ``document_context``, so the contract cannot drift from what the client
accepted. In "proposal" mode the document is the accepted proposal alone.

WeasyPrint fetches nothing: only ``data:`` URLs (as sales' PDF does).
"""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from throughline.core.models import Organization
from throughline.sales.document import document_context as proposal_document_context
from throughline.sales.merge import merge_context
from throughline.sales.merge import render_html as merge_html
from throughline.sales.services.pdf import logo_data_uri
from throughline.sales.services.proposals import proposal_meta
from throughline.signing.models import Contract


def rendered_clauses(contract: Contract, parties: dict) -> list[dict[str, str]]:
    if contract.kind != Contract.Kind.CONTRACT or contract.template_version is None:
        return []
    context = merge_context(parties, proposal_meta(contract.proposal_version))
    return [
        {"title": c["title"], "html": merge_html(c["body"], context)}
        for c in contract.template_version.clauses
    ]


def context_for(contract: Contract, *, signers: list[dict] | None = None) -> dict[str, Any]:
    """What the document shows: frozen parts once sent, live ones while a draft."""
    version = contract.proposal_version
    parties = contract.parties or version.parties
    clauses = (contract.rendered or {}).get("clauses")
    if clauses is None:
        clauses = rendered_clauses(contract, parties)
    org = Organization.current()
    return {
        **proposal_document_context(version, contract.selected_options or None),
        "contract": contract,
        "contract_parties": parties,
        "clauses": clauses,
        "signers": signers or [],
        "organization": org,
        "logo_src": logo_data_uri(org),
        "for_pdf": True,
    }


def _pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=2)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def render_pdf(contract: Contract, *, signers: list[dict] | None = None) -> bytes:
    html = render_to_string(
        "signing/document/contract.html", context_for(contract, signers=signers)
    )
    return _pdf(html)


def render_page_html(contract: Contract, *, signers: list[dict] | None = None) -> str:
    """The document body for a web page (the same template parts as the PDF)."""
    return render_to_string("signing/document/_body.html", context_for(contract, signers=signers))


def certificate_pdf(context: dict[str, Any]) -> bytes:
    context = {**context, "generated_at": timezone.now(), "organization": Organization.current()}
    return _pdf(render_to_string("signing/document/certificate.html", context))


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def combine(document: bytes, certificate: bytes, attachments: dict[str, bytes]) -> bytes:
    """The document's pages, then the certificate's; the original PDF and the evidence
    trail travel inside as embedded files (so their hashes can be checked by anyone)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(document)))
    writer.append(PdfReader(io.BytesIO(certificate)))
    for name, data in attachments.items():
        writer.add_attachment(name, data)
    writer.add_metadata({"/Producer": "Throughline signing"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
