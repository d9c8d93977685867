"""Closing a project: closeout (HTML + PDF), offboarding checklist, feedback e-mail with the
testimonial form and NPS question, and a repeat-business deal with a follow-up task."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.crm.models import Task
from throughline.delivery.models import NpsResponse
from throughline.delivery.models import Testimonial as TestimonialRow
from throughline.delivery.services import closeout, milestones, templates
from throughline.delivery.services.errors import DeliveryStateError
from throughline.sales.models import Deal

pytestmark = pytest.mark.django_db
FEEDBACK_LINK = re.compile(
    r"https?://\S+/c/([A-Za-z0-9_-]{20,100})/projects/([0-9a-f-]{36})/feedback"
)


def finish_all(project, staff):
    client = Actor(user=None, channel=Channel.PORTAL, label="Peter Gibbons")
    for milestone in project.milestones.all():
        milestones.start(staff, milestone)
        milestones.submit_for_qa(staff, milestone)
        for item in milestone.qa_items.all():
            milestones.complete_qa_item(staff, item)
        milestones.deliver(staff, milestone)
        milestones.accept(client, milestone)


def test_closing_is_refused_while_milestones_are_open(project, delivery_actor):
    with pytest.raises(DeliveryStateError, match="Discovery, Go-live"):
        closeout.close_project(delivery_actor, project)
    project.refresh_from_db()
    assert project.status != "closed"
    assert not Deal.objects.filter(pipeline__name="Repeat business").exists()


def test_close_makes_closeout_asks_for_feedback_and_opens_repeat_business(
    project, delivery_actor, users, smtp_server, run_jobs, client, actor
):
    templates.update_settings(actor, expansion_followup_days=45)
    finish_all(project, delivery_actor)
    closed = closeout.close_project(delivery_actor, project, outcomes="Rolled out to 2 offices.")

    assert closed.status == "closed" and closed.closed_at
    doc = closed.closeout
    assert [d["title"] for d in doc["deliverables"]] == ["Discovery", "Go-live"]
    assert doc["outcomes"] == "Rolled out to 2 offices."
    offboarding = closed.checklist.filter(kind="offboarding")
    assert [i.title for i in offboarding] == ["Revoke system access", "Archive the project folder"]
    assert offboarding[0].owner == users["delivery"]
    # the expansion opportunity and its follow-up, N days later
    deal = Deal.objects.get(pk=doc["expansion_deal_id"])
    assert deal.pipeline.name == "Repeat business" and deal.contact == project.contact
    task = Task.objects.get(source=f"delivery.project:{project.pk}:expansion")
    assert task.due_at.date() - closed.closed_at.date() == dt.timedelta(days=45)
    event = DomainEvent.objects.get(name="project.closed")
    assert event.payload["expansion_deal_id"] == str(deal.pk)
    # a second close is refused
    with pytest.raises(DeliveryStateError):
        closeout.close_project(delivery_actor, closed)

    # the feedback e-mail reaches the client with a working link
    run_jobs()
    mail = [
        m["message"] for m in smtp_server.messages if "How did we do" in m["message"]["Subject"]
    ]
    assert len(mail) == 1 and mail[0]["To"] == "peter@initech.example"
    token, project_id = FEEDBACK_LINK.search(mail[0].get_body(("plain",)).get_content()).groups()
    assert project_id == str(project.pk)
    url = reverse("portal:feedback", args=[token, project.pk])
    assert client.get(url).status_code == 200

    # the testimonial form: bad input first, then a real answer, stored on the contact
    bad = client.post(url, {"score": "11", "text": "Great", "rating": "9"})
    assert bad.status_code == 400 and not NpsResponse.objects.exists()
    missing_rating = client.post(url, {"score": "9", "text": "Great"})
    assert missing_rating.status_code == 400 and not TestimonialRow.objects.exists()
    ok = client.post(
        url, {"score": "9", "text": "They <b>listened</b>.", "rating": "5", "may_publish": "on"}
    )
    assert ok.status_code == 302
    testimonial = project.contact.testimonials.get()
    assert (testimonial.text, testimonial.rating, testimonial.may_publish) == (
        "They <b>listened</b>.",
        5,
        True,
    )
    assert NpsResponse.objects.get(project=project).score == 9


def test_closeout_document_as_html_and_pdf(project, delivery_actor, client_as):
    finish_all(project, delivery_actor)
    closeout.close_project(delivery_actor, project, outcomes="<script>x</script> Done")
    staff = client_as("viewer")
    page = staff.get(reverse("delivery:closeout", args=[project.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; Done" in html and "Go-live" in html
    detail = client_as("delivery").get(reverse("delivery:project_detail", args=[project.pk]))
    assert detail.status_code == 200 and "Offboarding checklist" in detail.content.decode()
    pdf = staff.get(reverse("delivery:closeout_pdf", args=[project.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf["Content-Disposition"].startswith("attachment")


def test_feedback_form_is_closed_while_the_project_runs(project, client):
    from throughline.portal import links

    raw = links.issue_link(project.contact)
    assert client.get(reverse("portal:feedback", args=[raw, project.pk])).status_code == 404
