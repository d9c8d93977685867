"""``{% lead_scoring_panel lead %}``: the lead page's score, tier, history, model probability
with its factors, the rubric's outcome with reasons, and the qualify / convert actions."""

from __future__ import annotations

from django import template

from throughline.intake.models import Lead
from throughline.intake.scoring import learned
from throughline.intake.scoring.forms import QualifyForm
from throughline.intake.scoring.models import ScoreChange

register = template.Library()


@register.inclusion_tag("intake_scoring/_lead_panel.html", takes_context=True)
def lead_scoring_panel(context, lead: Lead) -> dict:
    user = context["request"].user
    prediction = learned.predict(lead) if lead.conversion_probability is not None else None
    is_open = lead.status in Lead.OPEN_STATUSES
    return {
        "lead": lead,
        "history": list(ScoreChange.objects.filter(lead=lead)[:10]),
        "prediction": prediction,
        "qualification": lead.qualification or {},
        "can_decide": is_open and user.can("leads.edit"),
        "can_convert": is_open and user.can("leads.edit") and user.can("sales.edit"),
        "qualify_form": QualifyForm(prefix="qualify"),
        "csrf_token": context.get("csrf_token"),
    }
