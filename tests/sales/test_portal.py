"""The client's pages: a link opens its own proposal only, expires, counts views; the thread;
acceptance of the current version only."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from throughline.core import public_tokens
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, DomainEvent
from throughline.messaging.models import OutboundMessage
from throughline.sales.models import Proposal, ProposalAcceptance, ProposalComment
from throughline.sales.services import acceptance, comments
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services

pytestmark = pytest.mark.django_db


def link_from_email(proposal) -> str:
    message = OutboundMessage.objects.filter(
        to_email="peter@initech.example", subject__contains=proposal.number
    ).first()
    match = re.search(r"http://[^/]+(/c/[A-Za-z0-9_-]+/proposal)", message.body_text)
    return match.group(1)


def accept_data(version, **extra):
    return {"version": str(version.pk), "name": "Peter Gibbons", "agreed": "on", **extra}


def test_sending_emails_a_magic_link_that_opens_the_proposal(client, sent_proposal):
    url = link_from_email(sent_proposal)
    response = client.get(url)
    assert response.status_code == 200
    assert sent_proposal.title in response.content.decode()
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    event = DomainEvent.objects.get(name="proposal.sent")
    assert event.payload["version"] == 1 and event.payload["gross_total"] == "4558.73"


def test_a_token_opens_only_its_own_proposal(
    client, sales_actor, sent_proposal, approved_template, client_contact
):
    other_deal = pipeline_services.create_deal(
        sales_actor, title="Other", contact=client_contact, currency="GBP"
    )
    other = proposal_services.create_proposal(sales_actor, other_deal, approved_template)
    proposal_services.send_proposal(sales_actor, other)
    first = client.get(link_from_email(sent_proposal)).content.decode()
    second = client.get(link_from_email(other)).content.decode()
    assert sent_proposal.number in first and other.number not in first
    assert other.number in second and sent_proposal.number not in second
    # A token for another purpose (say an invoice) is no key to the proposal page.
    raw = public_tokens.issue_token("invoice", sent_proposal, dt.timedelta(days=1))
    assert client.get(reverse("sales_portal:proposal", args=[raw])).status_code == 404
    # Nor is a guess.
    assert client.get(reverse("sales_portal:proposal", args=["A" * 43])).status_code == 404


def test_an_expired_link_is_refused(client, sent_proposal):
    url = link_from_email(sent_proposal)
    later = timezone.now() + dt.timedelta(days=31 + 30 + 1)
    with time_machine.travel(later, tick=False):
        response = client.get(url)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_views_are_counted_and_the_first_one_is_an_event(client, client_as, sent_proposal):
    url = link_from_email(sent_proposal)
    client.get(url)
    client.get(url)
    sent_proposal.refresh_from_db()
    assert sent_proposal.view_count == 2
    assert sent_proposal.first_viewed_at is not None
    events = DomainEvent.objects.filter(name="proposal.viewed")
    assert events.count() == 1  # reloads within 30 minutes are counted, not announced
    assert events.get().payload == {"version": 1, "first": True, "view_count": 1}
    # A colleague opening the link is not the client viewing it.
    client_as("sales").get(url)
    sent_proposal.refresh_from_db()
    assert sent_proposal.view_count == 2


def test_a_draft_proposal_has_no_client_page(client, proposal):
    raw = public_tokens.issue_token("proposal", proposal, dt.timedelta(days=1))
    assert client.get(reverse("sales_portal:proposal", args=[raw])).status_code == 404


def test_client_comment_reaches_the_owner_and_the_thread(client, sent_proposal, users, media):
    url = link_from_email(sent_proposal)
    token = url.split("/")[2]
    pdf = SimpleUploadedFile("brief.pdf", b"%PDF-1.4 tiny", content_type="application/pdf")
    response = client.post(
        reverse("sales_portal:comment", args=[token]),
        {"body": "Can we drop the licences?", "requests_change": "on", "attachments": [pdf]},
    )
    assert response.status_code == 302
    comment = ProposalComment.objects.get()
    assert comment.is_client and comment.requests_change
    assert comment.client_name == "Peter Gibbons"
    assert comment.attachments.get().content_type == "application/pdf"
    note = OutboundMessage.objects.get(
        to_email=users["sales"].email, subject__contains="asked for changes"
    )
    assert "Can we drop the licences?" in note.body_text
    assert DomainEvent.objects.get(name="proposal.commented").payload["by"] == "client"
    attachment = comment.attachments.get()
    download = client.get(reverse("sales_portal:attachment", args=[token, attachment.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_internal_comments_stay_internal(client, sales_actor, sent_proposal):
    comments.add_comment(sales_actor, sent_proposal, body="Margin is thin here", internal=True)
    comments.add_comment(sales_actor, sent_proposal, body="Happy to walk you through it")
    page = client.get(link_from_email(sent_proposal)).content.decode()
    assert "Margin is thin" not in page and "Happy to walk you through it" in page
    # Only the visible comment was e-mailed to the client.
    client_mails = OutboundMessage.objects.filter(
        to_email="peter@initech.example", subject__contains="New comment"
    )
    assert [m.body_text.count("walk you through") for m in client_mails] == [1]


def test_mentions_notify_colleagues(sales_actor, sent_proposal, users):
    comments.add_comment(
        sales_actor,
        sent_proposal,
        body="@olivia can we go to 20%? cc @adam@example.com",
        internal=True,
    )
    mentioned = set(
        OutboundMessage.objects.filter(subject__contains="mentioned you").values_list(
            "to_email", flat=True
        )
    )
    assert mentioned == {users["owner"].email, users["admin"].email}


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("run.exe", b"MZ\x90\x00", "allowed types"),
        ("fake.pdf", b"<html><script>alert(1)</script>", "not really a .pdf"),
        ("page.html", b"<h1>hi</h1>", "allowed types"),
        ("notes.txt", b"\x00\x01\x02binary", "not a text file"),
        ("empty.png", b"", "is empty"),
    ],
)
def test_attachments_are_checked(sales_actor, sent_proposal, media, name, content, problem):
    from django.core.exceptions import ValidationError

    upload = SimpleUploadedFile(name, content)
    with pytest.raises(ValidationError) as exc:
        comments.add_comment(sales_actor, sent_proposal, body="see file", files=[upload])
    assert problem in " ".join(exc.value.messages)
    assert not ProposalComment.objects.exists()


def test_attachment_size_and_count_limits(sales_actor, sent_proposal, media, monkeypatch):
    from django.core.exceptions import ValidationError

    monkeypatch.setattr(comments, "MAX_ATTACHMENT_BYTES", 1000)
    big = SimpleUploadedFile("big.txt", b"x" * 1001)
    with pytest.raises(ValidationError):
        comments.add_comment(sales_actor, sent_proposal, body="big", files=[big])
    many = [SimpleUploadedFile(f"n{i}.txt", b"ok") for i in range(comments.MAX_ATTACHMENTS + 1)]
    with pytest.raises(ValidationError):
        comments.add_comment(sales_actor, sent_proposal, body="many", files=many)


def test_client_accepts_the_current_version_with_options(client, sent_proposal, users):
    url = link_from_email(sent_proposal)
    token = url.split("/")[2]
    version = sent_proposal.client_version()
    response = client.post(
        reverse("sales_portal:accept", args=[token]), accept_data(version, addon="training")
    )
    assert response.status_code == 302
    sent_proposal.refresh_from_db()
    assert sent_proposal.status == "accepted" and sent_proposal.accepted_at is not None
    accepted = ProposalAcceptance.objects.get()
    assert accepted.selected_options == ["training"]
    assert accepted.gross_total == Decimal("4958.73")  # + training 400.00 at 0 %
    event = DomainEvent.objects.get(name="proposal.accepted")
    assert event.payload["options"] == ["training"] and event.payload["gross_total"] == "4958.73"
    assert OutboundMessage.objects.filter(
        to_email=users["sales"].email, subject__startswith="Accepted"
    ).exists()
    # Accepted once; the page shows it.
    page = client.get(url).content.decode()
    assert "Accepted by" in page and "Peter Gibbons" in page
    again = client.post(reverse("sales_portal:accept", args=[token]), accept_data(version))
    assert again.status_code == 302
    assert ProposalAcceptance.objects.count() == 1


def test_a_stale_version_cannot_be_accepted(client, sales_actor, sent_proposal):
    token = link_from_email(sent_proposal).split("/")[2]
    v1 = sent_proposal.client_version()
    v2 = proposal_services.revise_proposal(sales_actor, sent_proposal)
    proposal_services.update_draft(sales_actor, v2, discount_percent="5")
    proposal_services.send_proposal(sales_actor, sent_proposal)
    # The client's page was opened on version 1; they submit it after version 2 went out.
    response = client.post(reverse("sales_portal:accept", args=[token]), accept_data(v1))
    assert response.status_code == 302
    assert Proposal.objects.get(pk=sent_proposal.pk).status == "sent"
    assert not ProposalAcceptance.objects.exists()
    follow = client.get(response["Location"]).content.decode()
    assert "A newer version of this proposal has been sent" in follow
    with pytest.raises(acceptance.StaleVersion):
        acceptance.accept_proposal(
            Actor.system(), sent_proposal, version_id=v1.pk, options=[], name="P", agreed=True
        )
    acceptance.accept_proposal(
        Actor.system(), sent_proposal, version_id=v2.pk, options=[], name="P", agreed=True
    )


def test_acceptance_needs_a_name_and_consent_and_valid_options(sent_proposal):
    from django.core.exceptions import ValidationError

    version = sent_proposal.client_version()
    actor = Actor.system()
    with pytest.raises(ValidationError):
        acceptance.accept_proposal(
            actor, sent_proposal, version_id=version.pk, options=[], name="", agreed=True
        )
    with pytest.raises(ValidationError):
        acceptance.accept_proposal(
            actor, sent_proposal, version_id=version.pk, options=[], name="P", agreed=False
        )
    with pytest.raises(ValidationError):
        acceptance.accept_proposal(
            actor, sent_proposal, version_id=version.pk, options=["gold"], name="P", agreed=True
        )


def test_an_expired_proposal_cannot_be_accepted(client, sent_proposal):
    token = link_from_email(sent_proposal).split("/")[2]
    version = sent_proposal.client_version()
    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        assert acceptance.expire_due() == 1
        response = client.post(reverse("sales_portal:accept", args=[token]), accept_data(version))
        assert response.status_code == 302
        page = client.get(link_from_email(sent_proposal)).content.decode()
    assert "This proposal expired" in page
    assert not ProposalAcceptance.objects.exists()
    assert AuditEntry.objects.filter(action="proposal.expired").count() == 1


def test_live_totals_for_the_clients_choice(client, sent_proposal):
    token = link_from_email(sent_proposal).split("/")[2]
    response = client.get(reverse("sales_portal:totals", args=[token]), {"addon": "training"})
    assert response.status_code == 200
    assert "£4,958.73" in response.content.decode()
    response = client.get(reverse("sales_portal:totals", args=[token]), {"addon": "nonsense"})
    assert "Unknown option" in response.content.decode()


def test_a_link_opens_only_its_own_proposals_files_and_never_internal_ones(
    client, sales_actor, sent_proposal, approved_template, client_contact, media
):
    token = link_from_email(sent_proposal).split("/")[2]
    other_deal = pipeline_services.create_deal(
        sales_actor, title="Other", contact=client_contact, currency="GBP"
    )
    other = proposal_services.create_proposal(sales_actor, other_deal, approved_template)
    foreign = comments.add_comment(
        sales_actor, other, body="file", files=[SimpleUploadedFile("a.txt", b"other")]
    )
    internal = comments.add_comment(
        sales_actor,
        sent_proposal,
        body="internal file",
        internal=True,
        files=[SimpleUploadedFile("b.txt", b"ours, internal")],
    )
    for comment in (foreign, internal):
        attachment = comment.attachments.get()
        url = reverse("sales_portal:attachment", args=[token, attachment.pk])
        assert client.get(url).status_code == 404


def test_posting_through_a_link_is_rate_limited(client, sent_proposal, monkeypatch):
    from django.core.cache import cache

    from throughline.sales import portal_views

    cache.clear()
    monkeypatch.setattr(portal_views, "COMMENT_RATE", "2/h")
    token = link_from_email(sent_proposal).split("/")[2]
    url = reverse("sales_portal:comment", args=[token])
    assert client.post(url, {"body": "one"}).status_code == 302
    assert client.post(url, {"body": "two"}).status_code == 302
    assert client.post(url, {"body": "three"}).status_code == 429
    assert ProposalComment.objects.count() == 2
    cache.clear()
