"""Deals: the board (drag-and-drop and keyboard), the list, detail, create/edit, win/lose."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm.views.listing import (
    apply_sort,
    match_all_terms,
    paginate,
    parse_uuid,
    query_text,
    render_page_or_partial,
)
from throughline.sales import access
from throughline.sales.forms import CreateProposalForm, DealForm, LoseForm, MoveForm
from throughline.sales.models import (
    Deal,
    LostReason,
    Pipeline,
    ProposalTemplate,
    Stage,
    stalled_condition,
)
from throughline.sales.services import pipeline as services
from throughline.sales.services import proposals as proposal_services
from throughline.sales.views.common import add_service_errors, flash_errors, safe_next

BOARD_TARGET = "board"
RESULTS_TARGET = "deal-results"
SEARCH_FIELDS = ("title", "contact__first_name", "contact__last_name", "company__name")
DEAL_SORTS = {
    "created": ("created_at",),
    "value": ("value",),
    "close": ("expected_close_date",),
    "activity": ("last_activity_at",),
    "title": ("title",),
}
SORT_CHOICES = [
    ("-created", "Newest first"),
    ("close", "Closing soonest"),
    ("-value", "Largest value"),
    ("activity", "Idle longest"),
    ("title", "Title A–Z"),
]


def _pipeline(request: HttpRequest) -> Pipeline | None:
    pipelines = Pipeline.objects.filter(archived=False)
    chosen = parse_uuid(request.GET.get("pipeline") or request.POST.get("pipeline"))
    pipeline = pipelines.filter(pk=chosen).first() if chosen else None
    return pipeline or pipelines.order_by("-is_default", "position", "name").first()


def _filtered(request: HttpRequest, deals):
    text = query_text(request)
    if text:
        deals = deals.filter(match_all_terms(text, SEARCH_FIELDS))
    owner = request.GET.get("owner", "")
    if owner == "me":
        deals = deals.filter(owner=request.user)
    return deals, text, owner


def _sums(deals) -> list[tuple[str, Decimal, Decimal]]:
    """(currency, total, weighted by probability) — amounts in different currencies stay apart."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for deal in deals:
        totals[deal.currency][0] += deal.value
        totals[deal.currency][1] += deal.value * deal.probability / 100
    return [(c, t[0], t[1].quantize(Decimal("0.01"))) for c, t in sorted(totals.items())]


def board_context(request: HttpRequest, pipeline: Pipeline | None) -> dict:
    user = request.user
    columns = []
    text = owner = ""
    if pipeline is not None:
        stages = list(pipeline.stages.order_by("position", "name"))
        deals = access.deals_for(user).filter(pipeline=pipeline, status=Deal.Status.OPEN)
        deals, text, owner = _filtered(request, deals)
        by_stage = defaultdict(list)
        for deal in deals.order_by("expected_close_date", "-created_at"):
            by_stage[deal.stage_id].append(deal)
        for stage in stages:
            stage_deals = by_stage.get(stage.pk, [])
            columns.append(
                {
                    "stage": stage,
                    "deals": stage_deals,
                    "sums": _sums(stage_deals),
                    "stalled": sum(1 for d in stage_deals if d.is_stalled),
                }
            )
    return {
        "pipeline": pipeline,
        "pipelines": Pipeline.objects.filter(archived=False),
        "columns": columns,
        "stages": [c["stage"] for c in columns],
        "q": text,
        "owner": owner,
        "can_edit": user.can("sales.edit"),
        "board_target": BOARD_TARGET,
    }


@requires("sales.view")
def deal_board(request: HttpRequest) -> HttpResponse:
    context = board_context(request, _pipeline(request))
    return render_page_or_partial(
        request, "sales/deals/board.html", "sales/deals/_board.html", BOARD_TARGET, context
    )


@requires("sales.view")
def deal_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    deals, text, owner = _filtered(request, access.deals_for(user))
    status = request.GET.get("status", "open")
    if status in Deal.Status.values:
        deals = deals.filter(status=status)
    else:
        status = "all"
    pipeline_id = parse_uuid(request.GET.get("pipeline"))
    if pipeline_id:
        deals = deals.filter(pipeline_id=pipeline_id)
    stalled = request.GET.get("stalled") == "1"
    if stalled:
        deals = deals.filter(
            stalled_condition(Stage.objects.filter(stall_after_days__isnull=False))
        )
    deals, sort = apply_sort(deals, request.GET.get("sort", ""), DEAL_SORTS, "-created")
    page = paginate(request, deals)
    context = {
        "page": page,
        "page_obj": page,
        "q": text,
        "owner": owner,
        "status": status,
        "stalled": stalled,
        "pipeline_id": str(pipeline_id or ""),
        "pipelines": Pipeline.objects.filter(archived=False),
        "sort": sort,
        "sort_choices": SORT_CHOICES,
        "filtered": bool(text or owner or stalled or pipeline_id or status != "open"),
        "can_edit": user.can("sales.edit"),
        "results_target": RESULTS_TARGET,
        "sums": _sums(page.object_list),
    }
    return render_page_or_partial(
        request, "sales/deals/list.html", "sales/deals/_results.html", RESULTS_TARGET, context
    )


def _detail_context(request: HttpRequest, deal: Deal, **extra) -> dict:
    user = request.user
    templates = [t for t in ProposalTemplate.objects.filter(archived=False) if t.approved_version()]
    proposal_form = CreateProposalForm()
    proposal_form.fields["template"].queryset = ProposalTemplate.objects.filter(
        pk__in=[t.pk for t in templates]
    )
    return {
        "deal": deal,
        "stages": deal.pipeline.stages.order_by("position", "name"),
        "history": deal.stage_changes.select_related("by")[:50],
        "proposals": access.proposals_for(user).filter(deal=deal),
        "proposal_form": proposal_form,
        "has_templates": bool(templates),
        "lose_form": LoseForm(),
        "can_edit": user.can("sales.edit"),
        **extra,
    }


@requires("sales.view")
def deal_detail(request: HttpRequest, pk) -> HttpResponse:
    deal = access.access_deal(request.user, pk)
    return render(request, "sales/deals/detail.html", _detail_context(request, deal))


@requires("sales.edit")
def deal_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method != "POST":
        initial = {"currency": Organization.current().base_currency}
        contact_id = parse_uuid(request.GET.get("contact"))
        if contact_id:
            from throughline.crm.access import contacts_for

            contact = contacts_for(user).filter(pk=contact_id).first()
            if contact is not None:
                initial.update(
                    contact=contact.pk,
                    company=contact.company_id,
                    title=f"{contact.company or contact} — new deal",
                )
        form = DealForm(user=user, initial=initial)
        return render(request, "sales/deals/form.html", {"form": form})
    form = DealForm(request.POST, user=user)
    if form.is_valid():
        data = form.service_data()
        stage = form.cleaned_data.get("stage")
        try:
            deal = services.create_deal(
                Actor.from_request(request),
                stage=stage,
                pipeline=stage.pipeline if stage else None,
                **data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Deal “{deal}” created.")
            return redirect("sales:deal_detail", pk=deal.pk)
    return render(request, "sales/deals/form.html", {"form": form})


@requires("sales.edit")
def deal_edit(request: HttpRequest, pk) -> HttpResponse:
    user = request.user
    deal = access.access_deal(user, pk)
    if request.method != "POST":
        form = DealForm(user=user, deal=deal)
        return render(request, "sales/deals/form.html", {"form": form, "deal": deal})
    form = DealForm(request.POST, user=user, deal=deal, initial=None)
    if form.is_valid():
        try:
            deal = services.update_deal(Actor.from_request(request), deal, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Deal “{deal}” saved.")
            return redirect("sales:deal_detail", pk=deal.pk)
    return render(request, "sales/deals/form.html", {"form": form, "deal": deal})


@requires("sales.edit")
@require_POST
def deal_move(request: HttpRequest, pk) -> HttpResponse:
    """Move to a stage: the card's select and button, or a drag-and-drop (which submits it)."""
    deal = access.access_deal(request.user, pk)
    form = MoveForm(request.POST)
    form.fields["stage"].queryset = deal.pipeline.stages.all()
    status_message = ""
    if form.is_valid():
        try:
            deal = services.move_deal(Actor.from_request(request), deal, form.cleaned_data["stage"])
        except ValidationError as exc:
            status_message = " ".join(exc.messages)
        else:
            status_message = f"“{deal}” moved to {deal.stage.name}."
    else:
        status_message = "Choose a stage of this pipeline."
    if request.htmx and request.htmx.target == BOARD_TARGET:
        context = board_context(request, deal.pipeline)
        context["status_message"] = status_message
        return render(request, "sales/deals/_board.html", context)
    messages.info(request, status_message)
    return redirect(safe_next(request, reverse("sales:deal_detail", args=[deal.pk])))


@requires("sales.edit")
@require_POST
def deal_win(request: HttpRequest, pk) -> HttpResponse:
    deal = access.access_deal(request.user, pk)
    try:
        services.win_deal(Actor.from_request(request), deal)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"“{deal}” marked as won.")
    return redirect("sales:deal_detail", pk=deal.pk)


@requires("sales.edit")
def deal_lose(request: HttpRequest, pk) -> HttpResponse:
    deal = access.access_deal(request.user, pk)
    form = LoseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.lose_deal(
                Actor.from_request(request),
                deal,
                form.cleaned_data["reason"],
                form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{deal}” marked as lost.")
            return redirect("sales:deal_detail", pk=deal.pk)
    return render(
        request,
        "sales/deals/lose.html",
        {
            "deal": deal,
            "form": form,
            "has_reasons": LostReason.objects.filter(active=True).exists(),
        },
    )


@requires("sales.edit")
@require_POST
def deal_reopen(request: HttpRequest, pk) -> HttpResponse:
    deal = access.access_deal(request.user, pk)
    services.reopen_deal(Actor.from_request(request), deal)
    messages.success(request, f"“{deal}” is open again.")
    return redirect("sales:deal_detail", pk=deal.pk)


@requires("sales.edit")
@require_POST
def proposal_create(request: HttpRequest, pk) -> HttpResponse:
    """One action: a draft proposal from this deal and an approved template."""
    deal = access.access_deal(request.user, pk)
    form = CreateProposalForm(request.POST)
    if form.is_valid():
        try:
            proposal = proposal_services.create_proposal(
                Actor.from_request(request),
                deal,
                form.cleaned_data["template"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Proposal {proposal.number} drafted. Review and send it.")
            return redirect("sales:proposal_detail", pk=proposal.pk)
    else:
        messages.error(request, "Choose a template.")
    return redirect("sales:deal_detail", pk=deal.pk)
