"""Staff pages of projects: list, detail (brief, readiness, milestones, board, checklists,
files, comments), the actions on them, closing and the closeout document (HTML and PDF)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST, require_safe

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.delivery import access
from throughline.delivery.models import ChecklistItem, Project, SharedFile, WorkItem
from throughline.delivery.services import closeout, files, milestones, projects, templates
from throughline.delivery.services.errors import DeliveryStateError
from throughline.delivery.services.onboarding import QUESTIONS


@requires("delivery.view")
@require_safe
def project_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    items = access.projects_for(request.user).prefetch_related("milestones")
    if status == "open":
        items = items.exclude(status=Project.Status.CLOSED)
    elif status in Project.Status.values:
        items = items.filter(status=status)
    from throughline.delivery.models import ProjectTemplate, ProposalProjectTemplate
    from throughline.sales.models import Proposal

    started = Project.objects.filter(proposal__isnull=False).values("proposal_id")
    upcoming = list(
        Proposal.objects.filter(status__in=[Proposal.Status.SENT, Proposal.Status.ACCEPTED])
        .exclude(pk__in=started)
        .select_related("contact", "template_version__template")
        .order_by("-created_at")[:50]
    )
    chosen = dict(
        ProposalProjectTemplate.objects.filter(proposal__in=upcoming).values_list(
            "proposal_id", "template_id"
        )
    )
    for proposal in upcoming:
        proposal.project_template_id = chosen.get(proposal.pk)
    return render(
        request,
        "delivery/project_list.html",
        {
            "projects": items[:200],
            "status": status,
            "today": projects.org_today(),
            "upcoming": upcoming,
            "project_templates": ProjectTemplate.objects.filter(archived=False),
            "can_edit": request.user.can("delivery.edit"),
        },
    )


@requires("delivery.edit")
@require_POST
def choose_template(request: HttpRequest, proposal) -> HttpResponse:
    """The project template a proposal's project will follow once the contract is signed."""
    from throughline.delivery.models import ProjectTemplate
    from throughline.sales.models import Proposal

    found = Proposal.objects.filter(pk=proposal).first()
    template = ProjectTemplate.objects.filter(pk=request.POST.get("template") or None).first()
    if found is None or template is None:
        raise Http404("No such proposal or template")
    try:
        templates.choose_for_proposal(Actor.from_request(request), found, template)
        messages.success(request, f"{found.number} will follow “{template}”.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("delivery:project_list")


def _board(project: Project) -> list[tuple[str, str, list[WorkItem]]]:
    items = list(project.work_items.select_related("milestone", "assignee"))
    return [
        (value, label, [i for i in items if i.status == value])
        for value, label in WorkItem.Status.choices
    ]


@requires("delivery.view")
@require_safe
def project_detail(request: HttpRequest, pk) -> HttpResponse:
    project = access.access_project(request.user, pk)
    checklist = list(project.checklist.select_related("owner", "done_by", "milestone"))
    onboarding = getattr(project, "onboarding", None) if hasattr(project, "onboarding") else None
    return render(
        request,
        "delivery/project_detail.html",
        {
            "project": project,
            "brief": project.brief or {},
            "missing": projects.readiness(project),
            "milestones": project.milestones.prefetch_related("qa_items", "qa_passes", "reviews"),
            "board": _board(project),
            "onboarding_items": [i for i in checklist if i.kind == ChecklistItem.Kind.ONBOARDING],
            "offboarding_items": [i for i in checklist if i.kind == ChecklistItem.Kind.OFFBOARDING],
            "files": project.files.all(),
            "comments": project.comments.select_related("author", "milestone"),
            "answers": [(q, onboarding.answers.get(q, "")) for q in QUESTIONS]
            if onboarding
            else [],
            "users": User.objects.filter(is_active=True).order_by("email"),
            "accept_types": files.ACCEPT_ATTRIBUTE,
            "can_edit": request.user.can("delivery.edit"),
            "today": projects.org_today(),
            "periods": project.periods.all(),
        },
    )


def _date(value: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({"date": "Give a date as YYYY-MM-DD."}) from exc


def _user(value: str) -> User | None:
    if not value:
        return None
    user = User.objects.filter(pk=value, is_active=True).first()
    if user is None:
        raise ValidationError({"owner": "Choose an active user."})
    return user


def _milestone(project: Project, pk: str):
    found = project.milestones.filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404("No such milestone")
    return found


MILESTONE_OPS = {
    "start": milestones.start,
    "submit_qa": milestones.submit_for_qa,
    "deliver": milestones.deliver,
}


def _run(request: HttpRequest, project: Project, op: str) -> str:
    actor = Actor.from_request(request)
    post = request.POST
    if op in MILESTONE_OPS:
        milestone = MILESTONE_OPS[op](actor, _milestone(project, post.get("milestone", "")))
        return f"“{milestone.title}”: {milestone.get_status_display().lower()}."
    if op == "accept":
        milestones.accept(actor, _milestone(project, post.get("milestone", "")), by=actor.display)
        return "Milestone accepted (on the client's behalf)."
    if op == "milestone_due":
        milestones.update_milestone(
            actor,
            _milestone(project, post.get("milestone", "")),
            due_date=_date(post.get("due_date")),
        )
        return "Due date saved."
    if op == "add_milestone":
        milestones.add_milestone(
            actor, project, title=post.get("title", ""), due_date=_date(post.get("due_date"))
        )
        return "Milestone added."
    if op in ("check", "uncheck"):
        item = project.checklist.filter(pk=post.get("item") or None).first()
        if item is None:
            raise Http404("No such item")
        projects.check_item(actor, item, done=op == "check")
        return "Checklist updated."
    if op == "assign":
        item = project.checklist.filter(pk=post.get("item") or None).first()
        if item is None:
            raise Http404("No such item")
        projects.assign_checklist_item(actor, item, _user(post.get("owner", "")))
        return "Owner assigned."
    if op == "move":
        item = project.work_items.filter(pk=post.get("item") or None).first()
        if item is None:
            raise Http404("No such task")
        milestones.move_work_item(actor, item, post.get("status", ""))
        return "Task moved."
    if op == "add_task":
        ms = (
            project.milestones.filter(pk=post.get("milestone") or None).first()
            if post.get("milestone")
            else None
        )
        milestones.add_work_item(
            actor,
            project,
            title=post.get("title", ""),
            milestone=ms,
            assignee=_user(post.get("assignee", "")),
            due_date=_date(post.get("due_date")),
        )
        return "Task added."
    if op == "brief":
        projects.update_project(
            actor,
            project,
            in_scope=post.get("in_scope", ""),
            out_of_scope=post.get("out_of_scope", ""),
            notes=post.get("notes", ""),
            owner=_user(post.get("owner", "")),
        )
        return "Brief saved."
    if op == "kickoff":
        day = _date(post.get("kickoff_date"))
        if day is None:
            raise ValidationError({"kickoff_date": "Give the kick-off date."})
        projects.set_kickoff_date(actor, project, day)
        return "Kick-off date set."
    if op == "upload":
        files.share_file(actor, project, request.FILES.get("file"))
        return "File shared with the client."
    if op == "remove_file":
        shared = project.files.filter(pk=post.get("file") or None).first()
        if shared is None:
            raise Http404("No such file")
        files.remove_file(actor, shared)
        return "File removed."
    if op == "comment":
        milestones.add_comment(actor, project, post.get("body", ""))
        return "Comment posted."
    if op == "close":
        closeout.close_project(actor, project, outcomes=post.get("outcomes", ""))
        return "Project closed: closeout ready, feedback request on its way, follow-up deal opened."
    raise ValidationError({"op": "Unknown action."})


@requires("delivery.edit")
@require_POST
def project_action(request: HttpRequest, pk) -> HttpResponse:
    project = access.access_project(request.user, pk)
    op = request.POST.get("op", "")
    try:
        messages.success(request, _run(request, project, op))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DeliveryStateError as exc:
        messages.error(request, str(exc))
    return redirect("delivery:project_detail", pk=project.pk)


@requires("delivery.view")
@require_safe
def file_download(request: HttpRequest, pk, file) -> HttpResponse:
    project = access.access_project(request.user, pk)
    shared = SharedFile.objects.filter(project=project, pk=file).first()
    if shared is None:
        raise Http404("No such file")
    return files.file_response(shared)


def _closeout_context(project: Project) -> dict:
    return {
        "project": project,
        "doc": project.closeout or {},
        "organization": Organization.current(),
    }


@requires("delivery.view")
@require_safe
def closeout_page(request: HttpRequest, pk) -> HttpResponse:
    project = access.access_project(request.user, pk)
    if not project.is_closed:
        raise Http404("Not closed yet")
    return render(request, "delivery/closeout.html", _closeout_context(project))


def closeout_pdf_bytes(project: Project) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string("delivery/closeout_pdf.html", _closeout_context(project))
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=2)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


@requires("delivery.view")
@require_safe
def closeout_pdf(request: HttpRequest, pk) -> HttpResponse:
    project = access.access_project(request.user, pk)
    if not project.is_closed:
        raise Http404("Not closed yet")
    response = HttpResponse(closeout_pdf_bytes(project), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="closeout-{project.pk}.pdf"'
    return response


@requires("delivery.edit")
@require_POST
def start_from_proposal(request: HttpRequest, proposal) -> HttpResponse:
    """Start the project of an accepted proposal now, without waiting for a signed contract."""
    from throughline.delivery.services import kickoff
    from throughline.sales.models import Proposal

    found = Proposal.objects.filter(pk=proposal, status=Proposal.Status.ACCEPTED).first()
    if found is None:
        raise Http404("No such accepted proposal")
    try:
        project = kickoff.kickoff_from_proposal(Actor.from_request(request), found)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("delivery:project_list")
    messages.success(request, "Project started.")
    return redirect("delivery:project_detail", pk=project.pk)
