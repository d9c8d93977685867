"""The portal's reactions to delivery's events (delivery does not import the portal).

``project.created`` → the welcome e-mail with the client's portal link and the onboarding
questionnaire. ``project.closed`` → the feedback e-mail: testimonial form and NPS question.
Each e-mail has an idempotency key, so a redelivered event sends nothing twice.
"""

from __future__ import annotations

import logging

from django.urls import reverse

from throughline.core.actor import Actor
from throughline.core.events import on
from throughline.core.models import Channel, DomainEvent, Organization
from throughline.delivery.models import Project
from throughline.messaging.services import queue_templated_email
from throughline.portal import links

logger = logging.getLogger(__name__)
WELCOME = "delivery-welcome"
FEEDBACK = "delivery-feedback"


def _context(project: Project, raw: str) -> dict:
    owner = project.owner
    return {
        "contact": project.contact,
        "project": project,
        "organization": Organization.current(),
        "owner_name": owner.display_name if owner else str(Organization.current()),
        "portal_link": links.home_url(raw),
    }


def _project(event: DomainEvent) -> Project | None:
    project = (
        Project.objects.select_related("contact", "owner")
        .filter(pk=(event.payload or {}).get("project_id") or event.subject_id)
        .first()
    )
    if project is None or not project.contact.email:
        logger.info("%s %s: no project or no client e-mail", event.name, event.id)
        return None
    return project


@on("project.created")
def send_welcome(event: DomainEvent) -> str:
    project = _project(event)
    if project is None:
        return "nobody to welcome"
    raw = links.issue_link(project.contact)
    context = _context(project, raw)
    context["questionnaire_link"] = links.absolute(
        reverse("portal:questionnaire", args=[raw, project.pk])
    )
    queue_templated_email(
        Actor.system(Channel.WORKER, label="portal welcome"),
        WELCOME,
        to=project.contact.email,
        context=context,
        contact=project.contact,
        source=f"delivery.project:{project.pk}",
        idempotency_key=f"delivery-welcome:{project.pk}",
    )
    return "welcome queued"


@on("project.closed")
def send_feedback_request(event: DomainEvent) -> str:
    project = _project(event)
    if project is None:
        return "nobody to ask"
    raw = links.issue_link(project.contact)
    context = _context(project, raw)
    context["feedback_link"] = links.absolute(reverse("portal:feedback", args=[raw, project.pk]))
    queue_templated_email(
        Actor.system(Channel.WORKER, label="portal feedback"),
        FEEDBACK,
        to=project.contact.email,
        context=context,
        contact=project.contact,
        source=f"delivery.project:{project.pk}",
        idempotency_key=f"delivery-feedback:{project.pk}",
    )
    return "feedback request queued"
