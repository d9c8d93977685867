"""The PDF shows the same content as the web page (text extracted with pypdf and pdftotext)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pypdf
import pytest
from django.urls import reverse

from throughline.sales.services import pdf
from throughline.sales.services import proposals as proposal_services

pytestmark = pytest.mark.django_db


class _Text(HTMLParser):
    """The visible text of the proposal document on a page."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth or dict(attrs).get("class", "").startswith("proposal-doc"):
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def key_content(proposal) -> list[str]:
    version = proposal.client_version() or proposal.latest_version()
    return [
        proposal.number,
        proposal.title,
        "Peter Gibbons",
        "Initech",
        "Dear Peter, thank you for considering Northwind Consulting Ltd for Initech.",
        "Consulting day",
        "Analytics licence",
        "Team training",
        "Discovery workshop",
        "Hardware",
        "Go-live",
        "£950.00",
        "£2,850.00",
        "£1,084.50",
        "£570.00",
        "£54.23",
        "£4,558.73",
        "£2,279.37",
        "£2,279.36",
        "Payment due within 30 days of each invoice.",
        version.valid_until.strftime("%-d %B %Y"),
    ]


def test_pdf_and_client_page_show_the_same_key_content(client, sent_proposal, client_link):
    raw, url = client_link
    html = client.get(url).content.decode()
    web = page_text(html)
    data = client.get(reverse("sales_portal:pdf", args=[raw])).content
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in key_content(sent_proposal):
        assert expected in web, f"web page lacks {expected!r}"
        assert expected in text, f"PDF lacks {expected!r}"
    # The figures appear in the same order in both.
    money = re.compile(r"£[\d,]+\.\d\d")
    assert money.findall(text) == money.findall(web)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_pdftotext_reads_the_same_totals(sent_proposal):
    data = pdf.render_pdf(sent_proposal.latest_version())
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    text = result.stdout.decode()
    assert "Total before tax" in text
    assert "£3,934.50" in text and "£4,558.73" in text


def test_staff_pdf_of_each_version(client_as, sales_actor, sent_proposal):
    version = proposal_services.revise_proposal(sales_actor, sent_proposal)
    proposal_services.update_draft(sales_actor, version, discount_percent="10")
    client = client_as("viewer")
    first = client.get(reverse("sales:proposal_pdf", args=[sent_proposal.pk]) + "?version=1")
    second = client.get(reverse("sales:proposal_pdf", args=[sent_proposal.pk]) + "?version=2")
    assert first["Content-Type"] == "application/pdf"
    assert "£4,558.73" in pdf_text(first.content)
    assert "£4,102.85" in pdf_text(second.content)  # 10 % off, tax per category


def test_the_pdf_fetches_nothing(sales_actor, proposal, monkeypatch):
    version = proposal.latest_version()
    proposal_services.update_draft(
        sales_actor,
        version,
        content={
            "sections": [
                {
                    "title": "Images",
                    "body": '<p><img src="http://169.254.169.254/latest/meta-data/"></p>'
                    '<p><img src="file:///etc/passwd"></p>',
                }
            ]
        },
    )
    import urllib.request

    fetched = []

    def record(self, url, *args, **kwargs):
        fetched.append(url)
        raise OSError("no network in this test")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", record)
    data = pdf.render_pdf(proposal.latest_version())
    assert data.startswith(b"%PDF-")
    assert fetched == []
