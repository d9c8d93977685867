"""The records behind each figure: querysets that select exactly what a KPI counted.

Each takes the request's parameters (already validated into ``Filters`` and plain strings) and
the user (so a role that sees only its own records sees only those here too). Columns are
``(heading, getter)``; the same rows feed the page and its CSV export.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from throughline.reports.common import ReportParamError, org_tz
from throughline.reports.kpis.filters import Filters

INVOICE_VIEWS = ("issued", "open", "overdue", "paid")
LEAD_VIEWS = ("all", "answered", "within_5_min", "breached", "qualified", "converted")
DEAL_VIEWS = ("open", "won", "lost", "closed", "from_leads", "won_from_leads")


def _local(value):
    return value.astimezone(org_tz()).strftime("%Y-%m-%d %H:%M") if value else ""


def invoices(user, view: str, filters: Filters, contact: str = "", currency: str = ""):
    """``issued``: invoices and credit notes issued in the period (invoiced, DSO credit
    sales); ``open``: open on the period's last day (AR); ``overdue``: of those, past due;
    ``paid``: invoices paid in full in the period (days to pay). ``contact`` and ``currency``
    narrow them to one client's row of the per-client tables."""
    from throughline.billing.access import invoices_for
    from throughline.billing.models import Invoice

    if view not in INVOICE_VIEWS:
        raise ReportParamError("view", f"Choose one of: {', '.join(INVOICE_VIEWS)}.")
    qs = invoices_for(user).exclude(status=Invoice.Status.DRAFT).select_related("contact")
    if view == "issued":
        qs = qs.filter(issue_date__gte=filters.start, issue_date__lte=filters.end)
    elif view == "paid":
        from throughline.billing.models import DocumentType

        qs = qs.filter(
            document_type=DocumentType.INVOICE,
            status=Invoice.Status.PAID,
            paid_at__gte=filters.since,
            paid_at__lt=filters.until,
        )
    else:
        from throughline.reports.aging import open_invoices

        rows = open_invoices(filters.end)
        if view == "overdue":
            rows = [r for r in rows if r.days_past_due > 0]
        qs = qs.filter(pk__in=[r.id for r in rows])
    if contact:
        try:
            qs = qs.filter(contact_id=uuid.UUID(contact))
        except ValueError as exc:
            raise ReportParamError("contact", "Give a client id.") from exc
    if currency:
        qs = qs.filter(currency=currency.upper())
    columns = [
        ("Number", lambda i: i.number),
        ("Type", lambda i: i.get_document_type_display()),
        ("Client", lambda i: str(i.contact)),
        ("Issued", lambda i: i.issue_date),
        ("Due", lambda i: i.due_date),
        ("Status", lambda i: i.get_status_display()),
        ("Gross", lambda i: i.gross_total),
        ("Amount due", lambda i: i.amount_due),
        ("Paid", lambda i: _local(i.paid_at)),
        ("Currency", lambda i: i.currency),
    ]
    return qs.order_by("issue_date", "number"), columns, "billing:invoice_detail"


def payments(user, filters: Filters):
    """Payments received in the period (collected)."""
    from throughline.billing.access import payments_for
    from throughline.billing.models import Payment

    qs = payments_for(user).filter(
        status=Payment.Status.SUCCEEDED,
        received_on__gte=filters.start,
        received_on__lte=filters.end,
    )
    columns = [
        ("Received", lambda p: p.received_on),
        ("Client", lambda p: str(p.contact)),
        ("Method", lambda p: p.get_method_display()),
        ("Amount", lambda p: p.amount),
        ("Currency", lambda p: p.currency),
        ("Base amount", lambda p: p.base_amount),
    ]
    return qs.select_related("contact").order_by("received_on"), columns, "billing:payment_detail"


def deals(user, view: str, filters: Filters, month: str = "", currency: str = "", reason: str = ""):
    """``open``: the pipeline (``month`` YYYY-MM of expected close, or ``none``); ``won`` /
    ``lost`` / ``closed``: closed in the period (win rate, size, cycle, lost reasons)."""
    from throughline.sales.access import deals_for
    from throughline.sales.models import Deal

    if view not in DEAL_VIEWS:
        raise ReportParamError("view", f"Choose one of: {', '.join(DEAL_VIEWS)}.")
    from throughline.reports.kpis.sales import by_source

    qs = by_source(deals_for(user), filters)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if view in ("from_leads", "won_from_leads"):
        # The funnel: deals made from the leads that arrived in the period.
        qs = qs.filter(lead_id__in=leads(user, "all", filters)[0].values("id"))
        if view == "won_from_leads":
            qs = qs.filter(status=Deal.Status.WON)
    elif view == "open":
        qs = qs.filter(status=Deal.Status.OPEN)
        if month == "none":
            qs = qs.filter(expected_close_date__isnull=True)
        elif month:
            try:
                first = dt.date.fromisoformat(f"{month}-01")
            except ValueError as exc:
                raise ReportParamError("month", "Give a month as YYYY-MM or none.") from exc
            qs = qs.filter(
                expected_close_date__year=first.year, expected_close_date__month=first.month
            )
    else:
        qs = qs.filter(closed_at__gte=filters.since, closed_at__lt=filters.until)
        if view != "closed":
            qs = qs.filter(status=view)
        if reason:
            qs = qs.filter(
                Q(lost_reason__name=reason) if reason != "(none)" else Q(lost_reason__isnull=True)
            )
    if currency:
        qs = qs.filter(currency=currency)
    columns = [
        ("Deal", lambda d: d.title),
        ("Stage", lambda d: d.stage.name),
        ("Probability %", lambda d: d.probability),
        ("Status", lambda d: d.get_status_display()),
        ("Value", lambda d: d.value),
        ("Currency", lambda d: d.currency),
        ("Expected close", lambda d: d.expected_close_date),
        ("Closed", lambda d: _local(d.closed_at)),
        ("Owner", lambda d: d.owner.email if d.owner else ""),
        ("Lost reason", lambda d: d.lost_reason.name if d.lost_reason else ""),
    ]
    return qs.order_by("expected_close_date", "title"), columns, "sales:deal_detail"


def leads(user, view: str, filters: Filters):
    """Leads that arrived in the period (owner, source filters), narrowed by ``view``: answered,
    answered within 5 minutes, SLA breached, qualified (or converted), converted."""
    from throughline.intake.access import leads_for

    if view not in LEAD_VIEWS:
        raise ReportParamError("view", f"Choose one of: {', '.join(LEAD_VIEWS)}.")
    qs = leads_for(user).filter(received_at__gte=filters.since, received_at__lt=filters.until)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.source:
        qs = qs.filter(source__slug=filters.source)
    now = timezone.now()
    if view == "answered":
        qs = qs.filter(first_response_at__isnull=False)
    elif view == "within_5_min":
        qs = qs.filter(first_response_at__lte=F("received_at") + dt.timedelta(seconds=300))
    elif view == "breached":
        qs = qs.filter(
            Q(sla_breached_at__isnull=False)
            | Q(sla_due_at__isnull=False, first_response_at__gt=F("sla_due_at"))
            | Q(sla_due_at__lt=now, first_response_at__isnull=True)
        )
    elif view == "qualified":
        qs = qs.filter(status__in=["qualified", "converted"])
    elif view == "converted":
        qs = qs.filter(status="converted")
    columns = [
        ("Contact", lambda lead: str(lead.contact)),
        ("Source", lambda lead: lead.source.name if lead.source_id else ""),
        ("Owner", lambda lead: lead.owner.email if lead.owner else ""),
        ("Received", lambda lead: _local(lead.received_at)),
        ("First response", lambda lead: _local(lead.first_response_at)),
        ("SLA due", lambda lead: _local(lead.sla_due_at)),
        ("Status", lambda lead: lead.get_status_display()),
    ]
    qs = qs.select_related("contact", "source", "owner").order_by("received_at")
    return qs, columns, "intake:lead_detail"


def proposals(user, filters: Filters):
    """Proposals sent in the period (turnaround, sent → accepted)."""
    from throughline.reports.kpis.sales import by_source
    from throughline.sales.access import proposals_for
    from throughline.sales.models import Deal

    qs = proposals_for(user).filter(sent_at__gte=filters.since, sent_at__lt=filters.until)
    if filters.owner:
        qs = qs.filter(deal__owner_id=filters.owner)
    if filters.source:
        qs = qs.filter(deal__in=by_source(Deal.objects.all(), filters))

    def hours(a, b):
        return round((b - a).total_seconds() / 3600, 2) if a and b else ""

    columns = [
        ("Number", lambda p: p.number),
        ("Title", lambda p: p.title),
        ("Qualified", lambda p: _local(p.deal.qualified_at)),
        ("Sent", lambda p: _local(p.sent_at)),
        ("Accepted", lambda p: _local(p.accepted_at)),
        ("Qualified → sent (h)", lambda p: hours(p.deal.qualified_at, p.sent_at)),
        ("Sent → accepted (h)", lambda p: hours(p.sent_at, p.accepted_at)),
        ("Status", lambda p: p.get_status_display()),
    ]
    return qs.order_by("sent_at"), columns, "sales:proposal_detail"


MILESTONE_VIEWS = ("late", "delivered")


def milestones(user, view: str, filters: Filters):
    """``late``: due before today, not delivered or accepted (milestones late); ``delivered``:
    delivered in the period (revisions per milestone)."""
    from throughline.delivery.access import milestones_for
    from throughline.reports.kpis.delivery import delivered_milestones, late_milestones

    if view not in MILESTONE_VIEWS:
        raise ReportParamError("view", f"Choose one of: {', '.join(MILESTONE_VIEWS)}.")
    chosen = late_milestones(filters) if view == "late" else delivered_milestones(filters)
    qs = milestones_for(user).filter(pk__in=chosen.values("pk"))
    columns = [
        ("Project", lambda m: str(m.project)),
        ("Milestone", lambda m: m.title),
        ("Client", lambda m: str(m.project.contact)),
        ("Status", lambda m: m.get_status_display()),
        ("Due", lambda m: m.due_date),
        ("Delivered", lambda m: _local(m.delivered_at)),
        ("Revisions", lambda m: m.revision_count),
    ]

    def detail(m):
        return reverse("delivery:project_detail", args=[m.project_id])

    return qs.order_by("due_date", "project__name", "position"), columns, detail
