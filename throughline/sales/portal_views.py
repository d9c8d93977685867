"""The client's proposal pages: ``/c/<token>/proposal`` and what hangs off it (no login).

The token (``core.public_tokens``, scope "proposal") is the only key: it opens the one proposal
it was issued for, until it expires. Everything the page shows comes from the version that was
sent; what the client types is escaped, what they upload is checked; figures are recomputed on
the server for the options they pick.

TRICKY: these views live in the sales app until the client portal app (DESIGN §2, ``portal``)
exists. They only call sales services and render ``templates/sales/portal/``; moving them means
moving this module, ``portal_urls.py`` and those templates, and including the URLs from the
portal app under ``/c/`` — the URL names (``sales_portal:…``) are the contract to keep.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from throughline.core import public_tokens
from throughline.core.access import public
from throughline.core.actor import Actor, client_ip
from throughline.core.models import Channel, Organization
from throughline.sales.content import check_selection
from throughline.sales.document import document_context
from throughline.sales.forms import AcceptForm, ClientCommentForm
from throughline.sales.models import CommentAttachment, Proposal, ProposalVersion
from throughline.sales.services import acceptance, comments, pdf, proposals
from throughline.sales.services.diff import diff_versions
from throughline.sales.views.common import error_messages
from throughline.sales.views.proposals import attachment_response


class LinkProblem(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def _protect(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: never leak it to another site in a Referer, never cache or index
    # the page. (same-origin, not no-referrer: with no-referrer browsers send "Origin: null"
    # on our own forms and the CSRF check refuses them.)
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _problem(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    response = render(
        request,
        "sales/portal/problem.html",
        {"title": title, "text": text, "organization": Organization.current()},
        status=status,
    )
    return _protect(response)


def _proposal(request: HttpRequest, token: str) -> Proposal:
    try:
        proposal = public_tokens.resolve_token(token, proposals.TOKEN_SCOPE)
    except public_tokens.TokenExpired as exc:
        raise LinkProblem(
            _problem(
                request,
                410,
                "This link has expired",
                "Ask your contact for a new link to the proposal.",
            )
        ) from exc
    except public_tokens.TokenInvalid as exc:
        raise LinkProblem(
            _problem(
                request,
                404,
                "Link not found",
                "Check that you copied the whole link from the e-mail.",
            )
        ) from exc
    if not isinstance(proposal, Proposal) or proposal.client_version() is None:
        raise LinkProblem(
            _problem(request, 404, "Link not found", "This proposal is not available.")
        )
    return proposal


# Posts through a link, per client address: enough for a real conversation, not for a flood.
COMMENT_RATE = "30/h"
ACCEPT_RATE = "20/h"


def _over_limit(request: HttpRequest, group: str, rate: str) -> bool:
    """Count this request against ``rate`` (django-ratelimit's counters in the cache)."""
    from django_ratelimit.core import get_usage

    usage = get_usage(request, group=group, key="ip", rate=rate, increment=True)
    return bool(usage and usage["should_limit"])


def _too_many(request: HttpRequest) -> HttpResponse:
    return _problem(request, 429, "Too many requests", "Please wait a while before trying again.")


def _client_actor(request: HttpRequest, proposal: Proposal) -> Actor:
    contact = proposal.contact
    who = (contact.full_name or contact.email) if contact else "client"
    return Actor(
        user=None,
        channel=Channel.PORTAL,
        request_id=getattr(request, "request_id", "") or "",
        ip=client_ip(request),
        label=f"{who} (proposal link)"[:200],
    )


def _selection_from(request: HttpRequest, version: ProposalVersion, data) -> list[str]:
    options = version.content.get("options", [])
    groups = []
    for o in options:
        if o["group"] and o["group"] not in groups:
            groups.append(o["group"])
    chosen = [data.get(f"group-{i}", "") for i in range(len(groups))]
    chosen += data.getlist("addon")
    return [c for c in chosen if c]


def link_view(fn):
    """Resolve the token first; a bad or expired link gets its own page."""

    def wrapped(request: HttpRequest, token: str, *args, **kwargs):
        try:
            proposal = _proposal(request, token)
        except LinkProblem as problem:
            return problem.response
        return _protect(fn(request, token, proposal, *args, **kwargs))

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return public(wrapped)


def _page_context(request, token, proposal: Proposal, **extra) -> dict:
    version = proposal.client_version()
    accepted = getattr(proposal, "acceptance", None) if proposal.accepted_at else None
    selection = accepted.selected_options if accepted else None
    previous = (
        proposal.versions.filter(
            number__lt=version.number, status=ProposalVersion.Status.SUPERSEDED
        )
        .order_by("-number")
        .first()
    )
    open_for_acceptance = (
        proposal.status == Proposal.Status.SENT and version.valid_until >= proposals.today()
    )
    context = {
        "token": token,
        "proposal": proposal,
        "version": version,
        **document_context(version, selection),
        "organization": Organization.current(),
        "comments": proposal.comments.filter(internal=False)
        .select_related("author")
        .prefetch_related("attachments"),
        "comment_form": ClientCommentForm(),
        "accept_form": AcceptForm(
            initial={
                "version": version.pk,
                "name": proposal.contact.full_name if proposal.contact else "",
                "email": proposal.contact.email if proposal.contact else "",
            }
        ),
        "open_for_acceptance": open_for_acceptance,
        "acceptance": accepted,
        "previous": previous,
        "changes": diff_versions(previous, version) if previous else None,
        "accept_types": comments.ACCEPT_ATTRIBUTE,
        "max_attachment_mb": comments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }
    context.update(extra)
    return context


@link_view
@require_safe
def proposal_page(request: HttpRequest, token: str, proposal: Proposal) -> HttpResponse:
    version = proposal.client_version()
    if not request.user.is_authenticated:  # a colleague checking the link is not a view
        proposals.record_view(_client_actor(request, proposal), proposal, version)
    return render(request, "sales/portal/proposal.html", _page_context(request, token, proposal))


@link_view
def proposal_totals(request: HttpRequest, token: str, proposal: Proposal) -> HttpResponse:
    """The totals for the options ticked, recomputed here (htmx swaps them in)."""
    version = proposal.client_version()
    selection = _selection_from(request, version, request.GET)
    try:
        selection = check_selection(version.content.get("options", []), selection)
        problem = ""
    except ValidationError as exc:
        selection, problem = None, " ".join(exc.messages)
    doc = document_context(version, selection)
    return render(
        request, "sales/proposal/_totals_block.html", {**doc, "problem": problem, "live": True}
    )


@link_view
@require_POST
def proposal_comment(request: HttpRequest, token: str, proposal: Proposal) -> HttpResponse:
    if _over_limit(request, "sales.portal.comment", COMMENT_RATE):
        return _too_many(request)
    form = ClientCommentForm(request.POST)
    url = reverse("sales_portal:proposal", args=[token])
    if form.is_valid():
        contact = proposal.contact
        try:
            comment = comments.add_comment(
                _client_actor(request, proposal),
                proposal,
                body=form.cleaned_data["body"],
                client=True,
                client_name=(contact.full_name or contact.email) if contact else "Client",
                requests_change=form.cleaned_data["requests_change"],
                files=request.FILES.getlist("attachments"),
            )
        except ValidationError as exc:
            for message in error_messages(exc):
                messages.error(request, message)
        else:
            messages.success(
                request,
                "Thank you — we will prepare a new version."
                if comment.requests_change
                else "Your comment was sent.",
            )
            return redirect(f"{url}#comment-{comment.pk}")
    return redirect(f"{url}#thread")


@link_view
@require_POST
def proposal_accept(request: HttpRequest, token: str, proposal: Proposal) -> HttpResponse:
    if _over_limit(request, "sales.portal.accept", ACCEPT_RATE):
        return _too_many(request)
    url = reverse("sales_portal:proposal", args=[token])
    form = AcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Type your name (and a valid e-mail address, if you give one).")
        return redirect(f"{url}#accept")
    current = proposal.client_version()
    try:
        acceptance.accept_proposal(
            _client_actor(request, proposal),
            proposal,
            version_id=form.cleaned_data["version"],
            options=_selection_from(request, current, request.POST),
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            agreed=form.cleaned_data["agreed"],
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ValidationError as exc:
        for message in error_messages(exc):
            messages.error(request, message)
        return redirect(f"{url}#accept")
    messages.success(request, "Thank you — the proposal is accepted. A confirmation is on its way.")
    return redirect(f"{url}#accepted")


@link_view
def proposal_pdf(request: HttpRequest, token: str, proposal: Proposal) -> HttpResponse:
    version = proposal.client_version()
    accepted = getattr(proposal, "acceptance", None) if proposal.accepted_at else None
    selection = accepted.selected_options if accepted else None
    response = HttpResponse(
        pdf.render_pdf(version, selection, acceptance=accepted), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{pdf.pdf_filename(version)}"'
    return response


@link_view
def proposal_attachment(request: HttpRequest, token: str, proposal: Proposal, attachment):
    found = CommentAttachment.objects.filter(
        pk=attachment, comment__proposal=proposal, comment__internal=False
    ).first()
    if found is None:
        raise Http404("No such attachment")
    return attachment_response(found)
