"""Staff pages: the ordered rules, teams, routing settings, and a lead's assignment history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake.models import Lead
from throughline.intake.routing import services
from throughline.intake.routing.conditions import FIELDS, describe
from throughline.intake.routing.forms import ReassignForm, RuleForm, SettingsForm, TeamForm
from throughline.intake.routing.models import AssignmentRule, RoutingSettings, Team


@requires("routing.manage")
def rule_list(request: HttpRequest) -> HttpResponse:
    current = RoutingSettings.current()
    form = SettingsForm(
        request.POST or None,
        initial={"fallback_owner": current.fallback_owner, "escalation": current.escalation},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_settings(
                Actor.from_request(request),
                fallback_owner=form.cleaned_data["fallback_owner"],
                escalation=form.cleaned_data["escalation"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Routing settings saved.")
            return redirect("intake_routing:rule_list")
    rules = [
        {"rule": r, "conditions": [describe(c) for c in r.conditions or []]}
        for r in AssignmentRule.objects.select_related("user", "team")
    ]
    return render(
        request,
        "intake_routing/rules.html",
        {"rules": rules, "form": form, "teams": Team.objects.prefetch_related("memberships__user")},
        status=400 if form.errors else 200,
    )


@requires("routing.manage")
def rule_edit(request: HttpRequest, pk=None) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk else None
    initial = RuleForm.initial_for(rule) if rule else {"is_active": True}
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        user, team = form.target_objects()
        data = {
            "name": form.cleaned_data["name"],
            "user": user,
            "team": team,
            "is_active": form.cleaned_data["is_active"],
            "conditions": form.conditions(),
        }
        try:
            if rule is None:
                services.create_rule(Actor.from_request(request), **data)
            else:
                services.update_rule(Actor.from_request(request), rule, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Rule saved.")
            return redirect("intake_routing:rule_list")
    return render(
        request,
        "intake_routing/rule_form.html",
        {"form": form, "rule": rule, "fields": FIELDS},
        status=400 if form.errors else 200,
    )


@requires("routing.manage")
@require_POST
def rule_move(request: HttpRequest, pk) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    try:
        services.move_rule(Actor.from_request(request), rule, request.POST.get("direction", ""))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("intake_routing:rule_list")


@requires("routing.manage")
@require_POST
def rule_delete(request: HttpRequest, pk) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    services.delete_rule(Actor.from_request(request), rule)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("intake_routing:rule_list")


@requires("routing.manage")
def team_edit(request: HttpRequest, pk=None) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk) if pk else None
    initial = (
        {
            "name": team.name,
            "strategy": team.strategy,
            "manager": team.manager,
            "members": [m.user for m in team.memberships.select_related("user")],
        }
        if team
        else {"strategy": Team.Strategy.ROUND_ROBIN}
    )
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_team(
                Actor.from_request(request),
                team,
                name=form.cleaned_data["name"],
                strategy=form.cleaned_data["strategy"],
                members=list(form.cleaned_data["members"]),
                manager=form.cleaned_data["manager"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Team saved.")
            return redirect("intake_routing:rule_list")
    return render(
        request,
        "intake_routing/team_form.html",
        {"form": form, "team": team},
        status=400 if form.errors else 200,
    )


@requires("leads.view")
def lead_history(request: HttpRequest, pk) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.select_related("owner"), pk=pk)
    form = ReassignForm(initial={"owner": lead.owner})
    return render(
        request,
        "intake_routing/history.html",
        {
            "lead": lead,
            "entries": services.history(lead),
            "form": form,
            "can_edit": request.user.can("leads.edit"),
        },
    )


@requires("leads.edit")
@require_POST
def lead_reassign(request: HttpRequest, pk) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    form = ReassignForm(request.POST)
    if form.is_valid():
        try:
            services.assign_lead(
                Actor.from_request(request),
                lead,
                form.cleaned_data["owner"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, f"Lead assigned to {form.cleaned_data['owner']}.")
    else:
        messages.error(request, "Choose someone to assign the lead to.")
    return redirect("intake_routing:lead_history", pk=lead.pk)


@requires("leads.edit")
@require_POST
def lead_reroute(request: HttpRequest, pk) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    decision = services.reroute_lead(Actor.from_request(request), lead)
    messages.info(request, f"Rules say: {decision.owner or 'nobody'} ({decision.reason}).")
    return redirect("intake_routing:lead_history", pk=lead.pk)
