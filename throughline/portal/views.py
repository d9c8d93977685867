"""The client portal: ``/c/<token>/`` and the pages under it (magic link, no login).

The token (scope "portal") resolves to one Contact, and every query below is filtered by that
contact: an id of another client's project, milestone or file answers 404, whatever the URL.
Writes go through delivery's services with a portal actor; what the client types is escaped.
Documents of other apps open on their own client pages through a fresh link of their scope.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from throughline.core import public_tokens
from throughline.core.access import public, requires
from throughline.core.actor import Actor, client_ip
from throughline.core.models import Channel, Organization
from throughline.crm.models import Contact
from throughline.delivery.models import Milestone, OnboardingResponse, Project, SharedFile
from throughline.delivery.services import closeout, files, milestones
from throughline.delivery.services.errors import DeliveryStateError
from throughline.delivery.services.projects import org_today
from throughline.intake.channels.ratelimit import hit
from throughline.portal import links
from throughline.portal.forms import (
    FeedbackForm,
    MilestoneDecisionForm,
    NewLinkForm,
    QuestionnaireForm,
)

LINK_RATE = "5/h"
WRITE_RATE = "60/h"


class LinkProblem(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def protect(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: never leak it in a Referer, never cache or index the page.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    organization = Organization.current()
    color = organization.brand_color or ""
    brand = color if re.fullmatch(r"#[0-9a-fA-F]{6}", color) else "#2554c7"
    context = {"organization": organization, "brand_color": brand, **context}
    return protect(render(request, template, context, status=status))


def problem(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    return page(
        request, "portal/problem.html", {"title": title, "text": text, "offer_link": True}, status
    )


def _contact(request: HttpRequest, token: str) -> Contact:
    try:
        contact = public_tokens.resolve_token(token, links.SCOPE)
    except public_tokens.TokenExpired as exc:
        raise LinkProblem(
            problem(request, 410, "This link has expired", "Ask for a new link below.")
        ) from exc
    except public_tokens.TokenInvalid as exc:
        raise LinkProblem(
            problem(
                request,
                404,
                "Link not found",
                "Check that you copied the whole link, or ask for a new one below.",
            )
        ) from exc
    return contact


def client_page(view):
    """The view of one client's portal: ``view(request, contact, token, …)``.

    The token is resolved (and refused with its own page when expired or unknown) before the
    view runs, so no view can forget it.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        try:
            contact = _contact(request, token)
        except LinkProblem as exc:
            return exc.response
        return view(request, contact, token, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest, contact: Contact) -> Actor:
    return Actor(
        user=None,
        channel=Channel.PORTAL,
        ip=client_ip(request),
        label=(contact.full_name or contact.email or "Client")[:200],
    )


def _limited(request: HttpRequest, group: str, rate: str) -> HttpResponse | None:
    if hit(request, group, rate) is not None:
        return problem(request, 429, "Too many requests", "Please wait a while and try again.")
    return None


def _own_project(contact: Contact, pk) -> Project:
    project = Project.objects.filter(contact=contact, pk=pk).first()
    if project is None:
        raise Http404("No such project")
    return project


def _own_milestone(contact: Contact, pk) -> Milestone:
    milestone = (
        Milestone.objects.select_related("project").filter(project__contact=contact, pk=pk).first()
    )
    if milestone is None:
        raise Http404("No such milestone")
    return milestone


def client_proposals(contact: Contact):
    from throughline.sales.models import Proposal

    return (
        Proposal.objects.filter(contact=contact)
        .exclude(status__in=["draft"])
        .exclude(sent_at__isnull=True)
        .order_by("-created_at")
    )


def client_contracts(contact: Contact):
    from django.db.models import Q

    from throughline.signing.models import Contract

    return (
        Contract.objects.filter(Q(proposal__contact=contact) | Q(deal__contact=contact))
        .filter(status__in=[Contract.Status.SENT, Contract.Status.SIGNED])
        .distinct()
        .order_by("-created_at")
    )


def client_invoices(contact: Contact):
    from throughline.billing.models import Invoice

    return (
        Invoice.objects.filter(contact=contact)
        .exclude(status="draft")
        .exclude(number="")
        .order_by("-issue_date", "-created_at")
    )


def client_payments(contact: Contact):
    from throughline.billing.models import Payment

    return Payment.objects.filter(contact=contact).order_by("-created_at")[:50]


@public
@require_safe
@client_page
def home(request: HttpRequest, contact: Contact, token: str) -> HttpResponse:
    projects = list(Project.objects.filter(contact=contact).prefetch_related("milestones", "files"))
    return page(
        request,
        "portal/home.html",
        {
            "token": token,
            "contact": contact,
            "projects": projects,
            "proposals": client_proposals(contact),
            "contracts": client_contracts(contact),
            "invoices": client_invoices(contact),
            "payments": client_payments(contact),
            "today": org_today(),
        },
    )


@public
@require_safe
@client_page
def project_page(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    project = _own_project(contact, pk)
    return page(
        request,
        "portal/project.html",
        {
            "token": token,
            "contact": contact,
            "project": project,
            "milestones": project.milestones.all(),
            "files": project.files.all(),
            "comments": project.comments.select_related("author", "milestone"),
            "today": org_today(),
        },
    )


@public
@require_http_methods(["GET", "HEAD", "POST"])
@client_page
def milestone_page(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    milestone = _own_milestone(contact, pk)
    form = MilestoneDecisionForm(request.POST or None)
    if request.method == "POST":
        limited = _limited(request, "portal.write", WRITE_RATE)
        if limited:
            return limited
        if form.is_valid():
            actor = _actor(request, contact)
            decision = form.cleaned_data["decision"]
            comment = form.cleaned_data["comment"]
            try:
                if decision == "accept":
                    milestones.accept(actor, milestone, by=actor.label, comment=comment)
                    messages.success(request, f"Thank you: “{milestone.title}” is accepted.")
                else:
                    milestones.request_changes(actor, milestone, comment=comment, by=actor.label)
                    messages.success(request, "Thank you: we have your change request.")
                return protect(redirect("portal:milestone", token=token, pk=milestone.pk))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DeliveryStateError as exc:
                form.add_error(None, str(exc))
    return page(
        request,
        "portal/milestone.html",
        {
            "token": token,
            "contact": contact,
            "milestone": milestone,
            "project": milestone.project,
            "reviews": milestone.reviews.all(),
            "comments": milestone.comments.select_related("author"),
            "form": form,
            "today": org_today(),
        },
        status=400 if request.method == "POST" else 200,
    )


@public
@require_POST
@client_page
def comment(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    project = _own_project(contact, pk)
    limited = _limited(request, "portal.write", WRITE_RATE)
    if limited:
        return limited
    actor = _actor(request, contact)
    try:
        milestones.add_comment(
            actor, project, request.POST.get("body", ""), client_name=actor.label
        )
        messages.success(request, "Your comment is posted.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return protect(redirect("portal:project", token=token, pk=project.pk))


@public
@require_safe
@client_page
def file_download(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    shared = SharedFile.objects.filter(project__contact=contact, pk=pk).first()
    if shared is None:
        raise Http404("No such file")
    return protect(files.file_response(shared))


@public
@require_http_methods(["GET", "HEAD", "POST"])
@client_page
def questionnaire(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    project = _own_project(contact, pk)
    existing = OnboardingResponse.objects.filter(project=project).first()
    form = QuestionnaireForm(request.POST or None, initial=existing.answers if existing else None)
    if request.method == "POST":
        limited = _limited(request, "portal.write", WRITE_RATE)
        if limited:
            return limited
        if form.is_valid():
            from throughline.delivery.services import onboarding

            onboarding.record_answers(
                _actor(request, contact), project, form.cleaned_data, by=contact.full_name
            )
            messages.success(request, "Thank you: your answers are with the team.")
            return protect(redirect("portal:project", token=token, pk=project.pk))
    return page(
        request,
        "portal/questionnaire.html",
        {"token": token, "project": project, "form": form, "answered": existing is not None},
        status=400 if request.method == "POST" else 200,
    )


@public
@require_http_methods(["GET", "HEAD", "POST"])
@client_page
def feedback(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    project = _own_project(contact, pk)
    if not project.is_closed:
        raise Http404("Feedback opens when the project is closed")
    form = FeedbackForm(request.POST or None)
    if request.method == "POST":
        limited = _limited(request, "portal.write", WRITE_RATE)
        if limited:
            return limited
        if form.is_valid():
            actor = _actor(request, contact)
            data = form.cleaned_data
            try:
                closeout.record_nps(actor, project, score=data["score"], comment="")
                if data["text"]:
                    closeout.record_testimonial(
                        actor,
                        project,
                        text=data["text"],
                        rating=data["rating"],
                        may_publish=data["may_publish"],
                    )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Thank you for your feedback!")
                return protect(redirect("portal:project", token=token, pk=project.pk))
    return page(
        request,
        "portal/feedback.html",
        {"token": token, "project": project, "form": form, "scores": range(11)},
        status=400 if request.method == "POST" else 200,
    )


@public
@require_safe
@client_page
def closeout_page(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    project = _own_project(contact, pk)
    if not project.is_closed:
        raise Http404("Not closed")
    return page(request, "portal/closeout.html", {"token": token, "project": project})


def _open_document(queryset, pk, scope: str, url_name: str) -> HttpResponse:
    """A fresh link of the document's own scope (7 days), then its existing client page."""
    document = queryset.filter(pk=pk).first()
    if document is None:
        raise Http404("No such document")
    raw = public_tokens.issue_token(scope, document, expires_in=dt.timedelta(days=7))
    return protect(redirect(reverse(url_name, args=[raw])))


@public
@require_safe
@client_page
def open_proposal(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    return _open_document(client_proposals(contact), pk, "proposal", "sales_portal:proposal")


@public
@require_safe
@client_page
def open_invoice(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    return _open_document(client_invoices(contact), pk, "invoice", "billing_portal:invoice")


@public
@require_safe
@client_page
def contract_pdf(request: HttpRequest, contact: Contact, token: str, pk) -> HttpResponse:
    contract = client_contracts(contact).filter(pk=pk).first()
    if contract is None:
        raise Http404("No such contract")
    from throughline.signing.views.contracts import contract_pdf_bytes

    data, name = contract_pdf_bytes(contract)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return protect(response)


@public
@require_http_methods(["GET", "HEAD", "POST"])
def new_link(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh link by e-mail. The answer never says whether the address is known."""
    form = NewLinkForm(request.POST or None)
    sent = False
    if request.method == "POST":
        limited = _limited(request, "portal.new_link", LINK_RATE)
        if limited:
            return limited
        if form.is_valid():
            email = form.cleaned_data["email"]
            if hit(request, "portal.new_link.address", LINK_RATE, key=email.lower()) is None:
                actor = Actor(user=None, channel=Channel.PORTAL, ip=client_ip(request), label=email)
                links.send_new_link(actor, email)
            sent = True
    return page(request, "portal/new_link.html", {"form": form, "sent": sent})


@requires("delivery.edit")
@require_POST
def staff_send_link(request: HttpRequest, project) -> HttpResponse:
    """Staff e-mail a project's client a fresh portal link (links expire)."""
    found = Project.objects.select_related("contact").filter(pk=project).first()
    if found is None:
        raise Http404("No such project")
    try:
        links.send_link(Actor.from_request(request), found.contact)
        messages.success(request, f"A portal link is on its way to {found.contact.email}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("delivery:project_detail", pk=found.pk)
