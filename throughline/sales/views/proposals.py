"""Proposals in the staff UI: the draft editor with live totals, approvals, sending,
versions and their diff, the PDF, and the comment thread shared with the client."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from throughline.core import money
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm.views.listing import paginate, query_text, render_page_or_partial
from throughline.sales import access
from throughline.sales.document import document_context
from throughline.sales.forms import (
    AddItemForm,
    CommentForm,
    ContentEditor,
    DecisionForm,
    ProposalLineFormSet,
    ProposalSettingsForm,
    proposal_line_rows,
)
from throughline.sales.models import (
    CommentAttachment,
    Proposal,
    ProposalApproval,
    ProposalVersion,
)
from throughline.sales.services import approvals, comments, pricing, proposals
from throughline.sales.services.diff import diff_versions
from throughline.sales.services.pdf import pdf_filename, render_pdf
from throughline.sales.services.templates import line_from_item
from throughline.sales.views.common import error_messages, flash_errors

RESULTS_TARGET = "proposal-results"
TOTALS_TARGET = "live-totals"


@requires("sales.view")
def proposal_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    items = access.proposals_for(user)
    text = query_text(request)
    if text:
        from throughline.crm.views.listing import match_all_terms

        items = items.filter(
            match_all_terms(text, ("number", "title", "deal__title", "contact__last_name"))
        )
    status = request.GET.get("status", "")
    if status in Proposal.Status.values:
        items = items.filter(status=status)
    elif status == "approval":
        items = items.filter(versions__status=ProposalVersion.Status.PENDING_APPROVAL).distinct()
    else:
        status = ""
    page = paginate(request, items.order_by("-created_at"))
    context = {
        "page": page,
        "page_obj": page,
        "q": text,
        "status": status,
        "statuses": Proposal.Status.choices,
        "results_target": RESULTS_TARGET,
        "filtered": bool(text or status),
        "can_approve": user.can("sales.approve"),
    }
    return render_page_or_partial(
        request,
        "sales/proposals/list.html",
        "sales/proposals/_results.html",
        RESULTS_TARGET,
        context,
    )


def _line_formset(version: ProposalVersion, data=None):
    initial = [
        {
            "catalogue_item": str(line.catalogue_item_id or ""),
            "description": line.description,
            "quantity": money.plain(line.quantity),
            "unit": line.unit,
            "unit_price": money.plain(line.unit_price),
            "discount_percent": money.plain(line.discount_percent),
            "tax_rate": money.plain(line.tax_rate),
            "tax_category": line.tax_category,
            "option": line.option,
        }
        for line in version.lines.all()
    ]
    if data is not None:
        return ProposalLineFormSet(data, prefix="lines")
    return ProposalLineFormSet(prefix="lines", initial=initial)


def _settings_form(version: ProposalVersion, data=None) -> ProposalSettingsForm:
    return ProposalSettingsForm(
        data,
        initial={
            "title": version.proposal.title,
            "discount_percent": money.plain(version.discount_percent),
            "valid_until": version.valid_until,
            "change_note": version.change_note,
        },
    )


def _detail_context(request: HttpRequest, proposal: Proposal, **extra) -> dict:
    user = request.user
    versions = list(proposal.versions.order_by("-number"))
    latest = versions[0] if versions else None
    working = latest if latest is not None and latest.is_editable else None
    shown = working or proposal.client_version() or latest
    context = {
        "proposal": proposal,
        "versions": versions,
        "latest": latest,
        "working": working,
        "shown": shown,
        "client_version": proposal.client_version(),
        "doc": document_context(shown),
        "approval": approvals.summary(working) if working else None,
        "comments": proposal.comments.select_related("author").prefetch_related("attachments"),
        "comment_form": CommentForm(),
        "accept_types": comments.ACCEPT_ATTRIBUTE,
        "max_attachment_mb": comments.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "can_edit": user.can("sales.edit"),
        "can_approve": user.can("sales.approve"),
        "decision_form": DecisionForm(),
        "acceptance": getattr(proposal, "acceptance", None)
        if proposal.status == Proposal.Status.ACCEPTED
        else None,
        "totals_target": TOTALS_TARGET,
    }
    if working is not None:
        context.update(
            line_formset=extra.pop("line_formset", None) or _line_formset(working),
            settings_form=extra.pop("settings_form", None) or _settings_form(working),
            add_item_form=AddItemForm(),
            option_keys=[o["key"] for o in working.content.get("options", [])],
        )
        context["add_item_form"].fields["item"].queryset = (
            context["add_item_form"].fields["item"].queryset.filter(currency=proposal.currency)
        )
    if proposal.sent_at and proposal.qualified_at:
        context["qualified_to_sent"] = proposal.sent_at - proposal.qualified_at
    if proposal.accepted_at and proposal.sent_at:
        context["sent_to_accepted"] = proposal.accepted_at - proposal.sent_at
    context.update(context["doc"])
    context.update(extra)
    return context


@requires("sales.view")
def proposal_detail(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    return render(request, "sales/proposals/detail.html", _detail_context(request, proposal))


def _working_or_404(proposal: Proposal) -> ProposalVersion:
    working = proposals.working_version(proposal)
    if working is None:
        raise Http404("No draft version")
    return working


@requires("sales.edit")
@require_POST
def proposal_totals(request: HttpRequest, pk) -> HttpResponse:
    """Live totals while editing: recomputed here from the typed lines, nothing saved."""
    proposal = access.access_proposal(request.user, pk)
    working = _working_or_404(proposal)
    formset = _line_formset(working, request.POST)
    settings_form = _settings_form(working, request.POST)
    rows, problems = [], []
    if formset.is_valid():
        rows = proposal_line_rows(formset)
    else:
        problems.append("Some lines are incomplete; totals count the complete ones.")
        rows = [row for row in (_row_or_none(form) for form in formset.forms) if row]
    discount = working.discount_percent
    if settings_form.is_valid() and settings_form.cleaned_data.get("discount_percent") is not None:
        discount = settings_form.cleaned_data["discount_percent"]
    options = working.content.get("options", [])
    totals = pricing.default_totals(rows, options, proposal.currency, discount)
    nets = [pricing.line_net(row, proposal.currency) for row in rows]
    return render(
        request,
        "sales/proposals/_totals.html",
        {"totals": totals, "currency": proposal.currency, "problems": problems, "nets": nets},
    )


def _row_or_none(form):
    data = getattr(form, "cleaned_data", {}) or {}
    if (
        data.get("DELETE")
        or not data.get("description")
        or data.get("unit_price") is None
        or data.get("quantity") is None
    ):
        return None
    return {
        "quantity": data["quantity"],
        "unit_price": data["unit_price"],
        "discount_percent": data.get("discount_percent") or 0,
        "tax_rate": data.get("tax_rate") or 0,
        "tax_category": data.get("tax_category") or "S",
        "option": data.get("option", ""),
    }


@requires("sales.edit")
@require_POST
def proposal_save(request: HttpRequest, pk) -> HttpResponse:
    """Save the draft's lines and settings (title, discount, validity, change note)."""
    proposal = access.access_proposal(request.user, pk)
    working = _working_or_404(proposal)
    formset = _line_formset(working, request.POST)
    settings_form = _settings_form(working, request.POST)
    if formset.is_valid() and settings_form.is_valid():
        s = settings_form.cleaned_data
        try:
            proposals.update_draft(
                Actor.from_request(request),
                working,
                title=s["title"],
                lines=proposal_line_rows(formset),
                discount_percent=s.get("discount_percent") or 0,
                valid_until=s["valid_until"],
                change_note=s.get("change_note", ""),
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, "Draft saved; totals recomputed.")
            return redirect("sales:proposal_detail", pk=proposal.pk)
    context = _detail_context(request, proposal, line_formset=formset, settings_form=settings_form)
    return render(request, "sales/proposals/detail.html", context)


@requires("sales.edit")
@require_POST
def proposal_add_item(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    working = _working_or_404(proposal)
    form = AddItemForm(request.POST)
    if form.is_valid():
        lines = proposals.line_dicts(working) + [
            line_from_item(form.cleaned_data["item"], quantity=form.cleaned_data["quantity"])
        ]
        try:
            proposals.update_draft(Actor.from_request(request), working, lines=lines)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Added “{form.cleaned_data['item']}”.")
    else:
        messages.error(request, "Choose a catalogue item and a quantity.")
    return redirect(reverse("sales:proposal_detail", args=[proposal.pk]) + "#lines")


@requires("sales.edit")
def proposal_content(request: HttpRequest, pk) -> HttpResponse:
    """Sections, options, scope, milestones, payment schedule and terms of the draft."""
    proposal = access.access_proposal(request.user, pk)
    working = _working_or_404(proposal)
    problems = []
    if request.method == "POST":
        editor = ContentEditor(request.POST)
        if editor.is_valid():
            try:
                proposals.update_draft(
                    Actor.from_request(request), working, content=editor.to_content()
                )
            except ValidationError as exc:
                problems = editor.add_errors(exc)
            else:
                messages.success(request, "Proposal text saved.")
                return redirect("sales:proposal_detail", pk=proposal.pk)
        else:
            problems = ["Please correct the fields marked below."]
    else:
        editor = ContentEditor(content=working.content)
    return render(
        request,
        "sales/proposals/content.html",
        {"proposal": proposal, "version": working, "editor": editor, "problems": problems},
    )


@requires("sales.edit")
@require_POST
def proposal_request_approval(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    working = _working_or_404(proposal)
    try:
        approvals.request_approval(
            Actor.from_request(request), working, request.POST.get("note", "")
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "Approval requested; approvers have been e-mailed.")
    return redirect("sales:proposal_detail", pk=proposal.pk)


@requires("sales.approve")
@require_POST
def proposal_decide(request: HttpRequest, pk, approval) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    request_obj = ProposalApproval.objects.filter(pk=approval, version__proposal=proposal).first()
    if request_obj is None:
        raise Http404("No such approval request")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Approve or reject.")
        return redirect("sales:proposal_detail", pk=proposal.pk)
    decide = approvals.approve if form.cleaned_data["decision"] == "approve" else approvals.reject
    try:
        decide(Actor.from_request(request), request_obj, form.cleaned_data["comment"])
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Proposal {form.cleaned_data['decision']}d.")
    return redirect("sales:proposal_detail", pk=proposal.pk)


@requires("sales.edit")
@require_POST
def proposal_send(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    try:
        version = proposals.send_proposal(
            Actor.from_request(request), proposal, message=request.POST.get("message", "")
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request, f"Version {version.number} sent to {proposal.contact or 'the client'}."
        )
    return redirect("sales:proposal_detail", pk=proposal.pk)


@requires("sales.edit")
@require_POST
def proposal_revise(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    comment = None
    comment_id = request.POST.get("comment")
    if comment_id:
        comment = proposal.comments.filter(pk=comment_id).first() if _is_uuid(comment_id) else None
    try:
        version = proposals.revise_proposal(
            Actor.from_request(request),
            proposal,
            note=request.POST.get("note", "") or (comment.body[:500] if comment else ""),
            requested_in=comment,
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Version {version.number} drafted from the previous one.")
    return redirect("sales:proposal_detail", pk=proposal.pk)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@requires("sales.view")
def proposal_version(request: HttpRequest, pk, number: int) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    version = proposal.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version")
    previous = proposal.versions.filter(number__lt=number).order_by("-number").first()
    return render(
        request,
        "sales/proposals/version.html",
        {**document_context(version), "previous": previous},
    )


@requires("sales.view")
def proposal_diff(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    versions = {v.number: v for v in proposal.versions.all()}
    try:
        new_number = int(request.GET.get("to") or max(versions))
        old_number = int(request.GET.get("from") or new_number - 1)
    except (TypeError, ValueError) as exc:
        raise Http404("Bad version numbers") from exc
    if old_number not in versions or new_number not in versions:
        raise Http404("No such version")
    diff = diff_versions(versions[old_number], versions[new_number])
    return render(
        request,
        "sales/proposals/diff.html",
        {"proposal": proposal, "diff": diff, "numbers": sorted(versions)},
    )


@requires("sales.view")
def proposal_pdf(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    number = request.GET.get("version")
    version = (
        proposal.versions.filter(number=int(number)).first()
        if number and number.isdigit()
        else proposal.client_version() or proposal.latest_version()
    )
    if version is None:
        raise Http404("No such version")
    selection = None
    acceptance = getattr(proposal, "acceptance", None) if proposal.accepted_at else None
    if acceptance is not None and acceptance.version_id == version.pk:
        selection = acceptance.selected_options
    response = HttpResponse(
        render_pdf(version, selection, acceptance=acceptance), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(version)}"'
    return response


@requires("sales.edit")
@require_POST
def proposal_comment(request: HttpRequest, pk) -> HttpResponse:
    proposal = access.access_proposal(request.user, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = comments.add_comment(
                Actor.from_request(request),
                proposal,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
                files=request.FILES.getlist("attachments"),
            )
        except ValidationError as exc:
            for message in error_messages(exc):
                messages.error(request, message)
        else:
            messages.success(request, "Comment added.")
            return redirect(
                reverse("sales:proposal_detail", args=[proposal.pk]) + f"#comment-{comment.pk}"
            )
    return redirect(reverse("sales:proposal_detail", args=[proposal.pk]) + "#thread")


def attachment_response(attachment: CommentAttachment) -> FileResponse:
    """Always a download, never rendered inline; the browser must not guess the type."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@requires("sales.view")
def proposal_attachment(request: HttpRequest, pk, attachment) -> FileResponse:
    proposal = access.access_proposal(request.user, pk)
    found = CommentAttachment.objects.filter(pk=attachment, comment__proposal=proposal).first()
    if found is None:
        raise Http404("No such attachment")
    return attachment_response(found)
