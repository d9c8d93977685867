"""The lead inbox: every lead in one list, filtered, refreshed in place every few seconds."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from throughline.core.access import requires
from throughline.crm.access import own_records_only
from throughline.crm.forms import user_choices
from throughline.crm.views.listing import (
    match_all_terms,
    paginate,
    query_text,
    render_page_or_partial,
)
from throughline.intake import access
from throughline.intake.models import Lead, LeadSource, PossibleDuplicate

RESULTS_TARGET = "lead-results"
POLL_SECONDS = 5
SEARCH_FIELDS = ("first_name", "last_name", "email", "phone", "company_name", "message")
STATUS_CHOICES = [("", "Any status"), ("open", "Open (not rejected or converted)")] + list(
    Lead.Status.choices
)
SLA_CHOICES = [
    ("", "Any"),
    ("waiting", "Waiting for a first response"),
    ("breached", "Overdue"),
    ("met", "Answered in time"),
    ("late", "Answered late"),
]


def _filter_sla(leads, state: str, now):
    if state == "waiting":
        return leads.filter(
            first_response_at__isnull=True, sla_due_at__gt=now, status__in=Lead.OPEN_STATUSES
        )
    if state == "breached":
        return leads.filter(
            first_response_at__isnull=True, sla_due_at__lte=now, status__in=Lead.OPEN_STATUSES
        )
    if state == "met":
        return leads.filter(first_response_at__isnull=False, first_response_at__lte=F("sla_due_at"))
    if state == "late":
        return leads.filter(first_response_at__gt=F("sla_due_at"))
    return leads


def filtered_leads(request: HttpRequest):
    """The inbox's queryset and the filters as understood (shared by page and partial)."""
    user = request.user
    leads = access.leads_for(user)
    params = request.GET
    filters = {
        "q": query_text(request),
        "status": params.get("status", ""),
        "source": params.get("source", ""),
        "owner": params.get("owner", ""),
        "sla": params.get("sla", ""),
        "duplicates": params.get("duplicates", "") == "1",
    }
    if filters["q"]:
        leads = leads.filter(match_all_terms(filters["q"], SEARCH_FIELDS))
    if filters["status"] == "open":
        leads = leads.filter(status__in=Lead.OPEN_STATUSES)
    elif filters["status"] in Lead.Status.values:
        leads = leads.filter(status=filters["status"])
    else:
        filters["status"] = ""
    if filters["source"]:
        leads = leads.filter(source__slug=filters["source"])
    owner = filters["owner"]
    if owner == "me":
        leads = leads.filter(owner=user)
    elif owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif owner.isdigit():
        leads = leads.filter(owner_id=int(owner))
    else:
        filters["owner"] = ""
    if filters["sla"] in dict(SLA_CHOICES):
        leads = _filter_sla(leads, filters["sla"], timezone.now())
    else:
        filters["sla"] = ""
    open_duplicates = PossibleDuplicate.objects.filter(
        lead=OuterRef("pk"), status=PossibleDuplicate.Status.OPEN
    )
    leads = leads.annotate(has_duplicates=Exists(open_duplicates))
    if filters["duplicates"]:
        leads = leads.filter(has_duplicates=True)
    filters["active"] = (
        any(filters[k] for k in ("q", "status", "source", "owner", "sla"))
        or (filters["duplicates"])
    )
    return leads.order_by("-received_at", "-pk"), filters


@requires("leads.view")
def inbox(request: HttpRequest) -> HttpResponse:
    leads, filters = filtered_leads(request)
    page = paginate(request, leads)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "status_choices": STATUS_CHOICES,
        "sla_choices": SLA_CHOICES,
        "sources": LeadSource.objects.all(),
        "owners": [] if own_records_only(request.user) else user_choices(),
        "poll_url": f"{request.path}?{request.GET.urlencode()}",
        "poll_seconds": POLL_SECONDS,
        "results_target": RESULTS_TARGET,
        "open_duplicates": access.duplicates_for(request.user)
        .filter(status=PossibleDuplicate.Status.OPEN)
        .count(),
        "can_edit": request.user.can("leads.edit"),
        "now": timezone.now(),
        "filter_query": query.urlencode(),
    }
    return render_page_or_partial(
        request, "intake/inbox.html", "intake/_inbox_results.html", RESULTS_TARGET, context
    )
