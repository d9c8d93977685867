"""Staff pages: qualification and scoring settings, the learned models, decisions on a lead."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake import access
from throughline.intake.scoring import booking, conditions, learned, qualification, rules
from throughline.intake.scoring.forms import (
    BookingLinkForm,
    ConfigForm,
    CriterionForm,
    QualifyForm,
    RubricForm,
    RuleForm,
)
from throughline.intake.scoring.models import (
    Criterion,
    QualificationRubric,
    ScoringConfig,
    ScoringModel,
    ScoringRule,
)

SETTINGS = "intake_scoring:settings"


def _settings_context(request: HttpRequest, **forms) -> dict:
    rubric = QualificationRubric.current()
    config = ScoringConfig.current()
    user = request.user
    return {
        "rubric": rubric,
        "criteria": [
            (c, conditions.describe(c.field, c.operator, c.value)) for c in rubric.criteria.all()
        ],
        "rubric_form": forms.get("rubric_form")
        or RubricForm(
            initial={
                "is_active": rubric.is_active,
                "auto_apply": rubric.auto_apply,
                "discovery_at": rubric.discovery_at,
                "nurture_at": rubric.nurture_at,
                "nurture_sequence": rubric.nurture_sequence_id,
                "send_decline_email": rubric.send_decline_email,
            }
        ),
        "criterion_form": forms.get("criterion_form") or CriterionForm(prefix="criterion"),
        "config": config,
        "config_form": forms.get("config_form")
        or ConfigForm(
            initial={
                "half_life_days": config.half_life_days,
                "hot_at": config.hot_at,
                "warm_at": config.warm_at,
            }
        ),
        "rules": [(r, rules.rule_text(r)) for r in ScoringRule.objects.all()],
        "rule_form": forms.get("rule_form") or RuleForm(prefix="rule"),
        "field_choices": conditions.field_choices(),
        "models": ScoringModel.objects.defer("blob")[:10],
        "current_model": ScoringModel.objects.defer("blob").filter(is_current=True).first(),
        "outcomes": learned.closed_outcomes(),
        "min_outcomes": learned.MIN_OUTCOMES,
        "booking_form": forms.get("booking_form")
        or BookingLinkForm(initial={"url": booking.manual_booking_link(user)}),
        "can_manage": user.can("settings.manage"),
        "can_edit_leads": user.can("leads.edit"),
    }


@requires("settings.view")
def scoring_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "intake_scoring/settings.html", _settings_context(request))


def _handle(request, form, form_name: str, call, done: str) -> HttpResponse:
    """Validate, call the service, show its errors on the form (200) or go back with a note."""
    if form.is_valid():
        try:
            call(Actor.from_request(request), form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(reverse(SETTINGS))
    context = _settings_context(request, **{form_name: form})
    return render(request, "intake_scoring/settings.html", context, status=400)


@requires("settings.manage")
@require_POST
def rubric_save(request: HttpRequest) -> HttpResponse:
    return _handle(
        request,
        RubricForm(request.POST),
        "rubric_form",
        lambda actor, data: qualification.update_rubric(actor, **data),
        "Qualification settings saved.",
    )


@requires("settings.manage")
@require_POST
def criterion_add(request: HttpRequest) -> HttpResponse:
    return _handle(
        request,
        CriterionForm(request.POST, prefix="criterion"),
        "criterion_form",
        lambda actor, data: qualification.add_criterion(actor, **data),
        "Criterion added.",
    )


@requires("settings.manage")
@require_POST
def criterion_delete(request: HttpRequest, pk: int) -> HttpResponse:
    criterion = get_object_or_404(Criterion, pk=pk)
    qualification.delete_criterion(Actor.from_request(request), criterion)
    messages.success(request, f"Criterion “{criterion.label}” removed.")
    return redirect(reverse(SETTINGS))


@requires("settings.manage")
@require_POST
def config_save(request: HttpRequest) -> HttpResponse:
    return _handle(
        request,
        ConfigForm(request.POST),
        "config_form",
        lambda actor, data: rules.update_config(actor, **data),
        "Scoring settings saved.",
    )


@requires("settings.manage")
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    return _handle(
        request,
        RuleForm(request.POST, prefix="rule"),
        "rule_form",
        lambda actor, data: rules.add_rule(actor, **data),
        "Scoring rule added.",
    )


@requires("settings.manage")
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ScoringRule, pk=pk)
    rules.delete_rule(Actor.from_request(request), rule)
    messages.success(request, f"Rule “{rule.label}” removed.")
    return redirect(reverse(SETTINGS))


@requires("settings.manage")
@require_POST
def train_now(request: HttpRequest) -> HttpResponse:
    result = learned.train_and_evaluate(Actor.from_request(request))
    if result.trained:
        messages.success(request, f"Model v{result.model.version} trained. {result.reason}")
    else:
        messages.info(request, f"No model trained: {result.reason}")
    return redirect(reverse(SETTINGS))


@requires("leads.edit")
@require_POST
def booking_link_save(request: HttpRequest) -> HttpResponse:
    return _handle(
        request,
        BookingLinkForm(request.POST),
        "booking_form",
        lambda actor, data: booking.set_booking_link(actor, request.user, data["url"]),
        "Your booking page is saved.",
    )


# --- Decisions on one lead -------------------------------------------------------------------


def _back_to_lead(lead) -> HttpResponse:
    return redirect(reverse("intake:lead_detail", args=[lead.pk]))


@requires("leads.edit")
@require_POST
def lead_qualify(request: HttpRequest, pk) -> HttpResponse:
    lead = access.access_lead(request.user, pk)
    form = QualifyForm(request.POST, prefix="qualify")
    if not form.is_valid():
        messages.error(request, "Choose accept, nurture or reject.")
        return _back_to_lead(lead)
    try:
        lead = qualification.decide(
            Actor.from_request(request),
            lead,
            form.cleaned_data["decision"],
            form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Lead is now {lead.get_status_display().lower()}.")
    return _back_to_lead(lead)


@requires("leads.edit")
@require_POST
def lead_reapply(request: HttpRequest, pk) -> HttpResponse:
    lead = access.access_lead(request.user, pk)
    try:
        evaluation = qualification.reapply_rubric(Actor.from_request(request), lead)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, f"Rubric applied: {evaluation.outcome} ({evaluation.points} points)."
        )
    return _back_to_lead(lead)
