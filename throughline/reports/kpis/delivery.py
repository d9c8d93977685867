"""Delivery KPIs; they appear once a project exists. Owner filter: the project's owner.

* Milestones late: due date before today (organization time), not delivered or accepted
  (``Milestone.is_late``), whatever the period; counted in SQL.
* Revisions per milestone: milestones delivered in the period (first delivery or a revision;
  accepted ones included), mean ``revision_count`` (SQL ``AVG``) and how many milestones had
  0, 1, 2 … revisions (SQL ``GROUP BY``).
* Signature → kick-off: projects created in the period from a contract with a signing time:
  whole days from the signing day to the kick-off day (``kickoff_date``, else the day the
  project was created), both in the organization's time zone; median and p90 (nearest rank).
* Milestone completed → invoice sent: milestone invoices (``source`` ``delivery.milestone:<id>``)
  sent in the period: hours from the milestone's delivery (``delivered_at``) to the invoice's
  ``sent_at``; median.
"""

from __future__ import annotations

import uuid

from django.db.models import Avg, Count

from throughline.reports.common import installed, median, org_today, org_tz, percentile
from throughline.reports.kpis.filters import Filters

MILESTONE_SOURCE = "delivery.milestone:"


def late_milestones(filters: Filters | None = None, today=None):
    """The late milestones' queryset (the figure and its drill-down share it)."""
    from throughline.delivery.models import Milestone

    done = (Milestone.Status.DELIVERED, Milestone.Status.ACCEPTED)
    qs = Milestone.objects.filter(due_date__lt=today or org_today()).exclude(status__in=done)
    if filters and filters.owner:
        qs = qs.filter(project__owner_id=filters.owner)
    return qs


def delivered_milestones(filters: Filters):
    from throughline.delivery.models import Milestone

    qs = Milestone.objects.filter(
        delivered_at__gte=filters.since, delivered_at__lt=filters.until
    ).exclude(delivered_at__isnull=True)
    if filters.owner:
        qs = qs.filter(project__owner_id=filters.owner)
    return qs


def _revisions(filters: Filters) -> dict:
    qs = delivered_milestones(filters).order_by()
    summary = qs.aggregate(milestones=Count("id"), average=Avg("revision_count"))
    rows = qs.values("revision_count").annotate(milestones=Count("id")).order_by("revision_count")
    average = summary["average"]
    return {
        "milestones": summary["milestones"],
        "average": round(float(average), 2) if average is not None else None,
        "distribution": [
            {"revisions": r["revision_count"], "milestones": r["milestones"]} for r in rows
        ],
    }


def _signature_to_kickoff(filters: Filters) -> dict:
    from throughline.delivery.models import Project

    qs = Project.objects.filter(
        created_at__gte=filters.since,
        created_at__lt=filters.until,
        contract__signed_at__isnull=False,
    )
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    tz = org_tz()
    days = [
        ((kickoff or created.astimezone(tz).date()) - signed.astimezone(tz).date()).days
        for signed, kickoff, created in qs.values_list(
            "contract__signed_at", "kickoff_date", "created_at"
        )
    ]
    return {
        "projects": len(days),
        "median_days": median(days),
        "p90_days": percentile(days, 90),
    }


def _completed_to_invoiced(filters: Filters) -> dict | None:
    if not installed("billing"):
        return None
    from throughline.billing.models import Invoice
    from throughline.delivery.models import Milestone

    sent = dict(
        Invoice.objects.filter(
            source__startswith=MILESTONE_SOURCE,
            sent_at__gte=filters.since,
            sent_at__lt=filters.until,
        ).values_list("source", "sent_at")
    )
    ids = []
    for source in sent:
        try:
            ids.append(uuid.UUID(source.removeprefix(MILESTONE_SOURCE)))
        except ValueError:
            continue
    milestones = Milestone.objects.filter(pk__in=ids, delivered_at__isnull=False)
    if filters.owner:
        milestones = milestones.filter(project__owner_id=filters.owner)
    hours = [
        round((sent[f"{MILESTONE_SOURCE}{pk}"] - delivered).total_seconds() / 3600, 2)
        for pk, delivered in milestones.values_list("pk", "delivered_at")
    ]
    return {"invoices": len(hours), "median_hours": median(hours)}


def delivery_kpis(filters: Filters) -> dict | None:
    if not installed("delivery"):
        return None
    from throughline.delivery.models import Project

    if not Project.objects.exists():
        return None
    late = late_milestones(filters).aggregate(
        count=Count("id"), projects=Count("project", distinct=True)
    )
    return {
        "late": late["count"],
        "late_projects": late["projects"],
        "revisions": _revisions(filters),
        "signature_to_kickoff": _signature_to_kickoff(filters),
        "completed_to_invoice_sent": _completed_to_invoiced(filters),
    }
