"""The weekly momentum review: what to look at this week, stored so it can be ticked off and
kept; e-mailed to owners and admins every Monday at 08:00 in the organization's time zone.

What goes in (definitions also on the page and in docs/REPORTS.md), as of the moment it is made:

* Deals stalled 7+ days: open deals with no activity for 7 days or more.
* Leads past SLA: open leads not answered yet whose response deadline has passed.
* Proposals awaiting the client: proposals sent and neither accepted nor expired/withdrawn.
* Milestones due this week: due Monday–Sunday of the review's week, not delivered or accepted
  (left out before any delivery project exists).
* Overdue invoices: issued invoices with an amount due and a due date before today.
* Cash expected in the next 30 days: the forecast's expectation and its p10–p90 range.

Every write goes through a function here (one transaction, audited).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization, User
from throughline.core.roles import Role
from throughline.reports.common import installed, org_tz
from throughline.reports.models import Review, ReviewItem

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 8
STALLED_DAYS = 7
CASH_DAYS = 30
DIGEST_TEMPLATE = "weekly-review-digest"
MAX_ITEMS_PER_KIND = 200


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _stalled_deals(now: dt.datetime) -> list[dict]:
    from throughline.sales.models import Deal

    cutoff = now - dt.timedelta(days=STALLED_DAYS)
    deals = (
        Deal.objects.filter(status=Deal.Status.OPEN, last_activity_at__lte=cutoff)
        .select_related("stage", "owner")
        .order_by("last_activity_at", "pk")[:MAX_ITEMS_PER_KIND]
    )
    return [
        {
            "kind": ReviewItem.Kind.STALLED_DEAL,
            "object_type": "sales.deal",
            "object_id": str(d.pk),
            "label": d.title,
            "detail": f"{d.stage.name}, idle {(now - d.last_activity_at).days} days"
            + (f", {d.owner.email}" if d.owner else ""),
            "amount": d.value,
            "currency": d.currency,
            "url": _url("sales:deal_detail", d.pk),
        }
        for d in deals
    ]


def _leads_past_sla(now: dt.datetime) -> list[dict]:
    from throughline.intake.models import Lead

    leads = (
        Lead.objects.filter(
            status__in=Lead.OPEN_STATUSES, first_response_at__isnull=True, sla_due_at__lt=now
        )
        .select_related("contact")
        .order_by("sla_due_at", "pk")[:MAX_ITEMS_PER_KIND]
    )
    return [
        {
            "kind": ReviewItem.Kind.LEAD_PAST_SLA,
            "object_type": "intake.lead",
            "object_id": str(lead.pk),
            "label": str(lead.contact),
            "detail": f"due {lead.sla_due_at.astimezone(org_tz()):%Y-%m-%d %H:%M}",
            "url": _url("intake:lead_detail", lead.pk),
        }
        for lead in leads
    ]


def _proposals_awaiting() -> list[dict]:
    from throughline.sales.models import Proposal

    proposals = Proposal.objects.filter(status=Proposal.Status.SENT).order_by("sent_at", "pk")
    return [
        {
            "kind": ReviewItem.Kind.PROPOSAL_AWAITING,
            "object_type": "sales.proposal",
            "object_id": str(p.pk),
            "label": f"{p.number} {p.title}",
            "detail": f"sent {p.sent_at.astimezone(org_tz()):%Y-%m-%d}" if p.sent_at else "",
            "url": _url("sales:proposal_detail", p.pk),
        }
        for p in proposals[:MAX_ITEMS_PER_KIND]
    ]


def _milestones_due(start: dt.date) -> list[dict] | None:
    """Milestones due Monday to Sunday of the review's week and not delivered or accepted yet,
    late ones of the week included; None (section left out) before any project exists."""
    if not installed("delivery"):
        return None
    from throughline.delivery.models import Milestone, Project

    if not Project.objects.exists():
        return None
    done = (Milestone.Status.DELIVERED, Milestone.Status.ACCEPTED)
    rows = (
        Milestone.objects.filter(due_date__gte=start, due_date__lte=start + dt.timedelta(days=6))
        .exclude(status__in=done)
        .select_related("project")
        .order_by("due_date", "project__name", "position", "pk")[:MAX_ITEMS_PER_KIND]
    )
    return [
        {
            "kind": ReviewItem.Kind.MILESTONE_DUE,
            "object_type": "delivery.milestone",
            "object_id": str(m.pk),
            "label": f"{m.project.name}: {m.title}",
            "detail": f"due {m.due_date:%Y-%m-%d}, {m.get_status_display().lower()}",
            "url": _url("delivery:project_detail", m.project_id),
        }
        for m in rows
    ]


def _overdue_invoices(today: dt.date) -> list[dict]:
    from throughline.billing.models import Invoice

    invoices = Invoice.objects.overdue(today).order_by("due_date", "number")
    return [
        {
            "kind": ReviewItem.Kind.OVERDUE_INVOICE,
            "object_type": "billing.invoice",
            "object_id": str(i.pk),
            "label": i.number,
            "detail": f"due {i.due_date}, {(today - i.due_date).days} days late",
            "amount": i.amount_due,
            "currency": i.currency,
            "url": _url("billing:invoice_detail", i.pk),
        }
        for i in invoices[:MAX_ITEMS_PER_KIND]
    ]


def gather(now: dt.datetime) -> tuple[list[dict], dict]:
    """The items and the figures of a review made at ``now``."""
    from throughline.reports.forecast import forecast

    local = now.astimezone(org_tz())
    today, start = local.date(), week_start(local.date())
    items: list[dict] = []
    sections = {}
    if installed("sales"):
        sections["stalled_deal"] = _stalled_deals(now)
        sections["proposal_awaiting"] = _proposals_awaiting()
    if installed("intake"):
        sections["lead_past_sla"] = _leads_past_sla(now)
    milestones = _milestones_due(start)
    if milestones is not None:
        sections["milestone_due"] = milestones
    if installed("billing"):
        sections["overdue_invoice"] = _overdue_invoices(today)
    for rows in sections.values():
        items += rows
    cash = forecast(today, CASH_DAYS, sims=300)
    snapshot = {
        "made_at": now.isoformat(),
        "time_zone": str(local.tzinfo),
        "counts": {kind: len(rows) for kind, rows in sections.items()},
        "overdue_total": [
            {"currency": c, "amount": f"{a:f}"}
            for c, a in _sum_by_currency(sections.get("overdue_invoice", []))
        ],
        "cash_30_days": {
            "currency": cash["currency"],
            "expected": f"{cash['total']:f}",
            "low": f"{cash['total_low']:f}",
            "high": f"{cash['total_high']:f}",
        },
    }
    return items, snapshot


def _sum_by_currency(rows: list[dict]) -> list[tuple[str, Decimal]]:
    sums: dict[str, Decimal] = {}
    for row in rows:
        sums[row["currency"]] = sums.get(row["currency"], Decimal(0)) + row["amount"]
    return sorted(sums.items())


def review_for(day: dt.date) -> Review | None:
    return Review.objects.filter(week_start=week_start(day)).first()


def create_review(actor: Actor, now: dt.datetime | None = None) -> tuple[Review, bool]:
    """This week's review (organization time), made now if it does not exist yet."""
    now = now or timezone.now()
    start = week_start(now.astimezone(org_tz()).date())
    existing = Review.objects.filter(week_start=start).first()
    if existing is not None:
        return existing, False
    items, snapshot = gather(now)
    try:
        with transaction.atomic():
            return _store(actor, start, items, snapshot), True
    except IntegrityError:  # made by someone else in the meantime
        return Review.objects.get(week_start=start), False


def _store(actor: Actor, start: dt.date, items: list[dict], snapshot: dict) -> Review:
    review = Review.objects.create(week_start=start, snapshot=snapshot)
    ReviewItem.objects.bulk_create(
        [ReviewItem(review=review, position=index, **item) for index, item in enumerate(items)]
    )
    audit_log.record(
        actor,
        "report.review_created",
        review,
        changes={"week_start": [None, start.isoformat()], "items": [None, len(items)]},
    )
    return review


def set_reviewed(actor: Actor, item: ReviewItem, reviewed: bool) -> ReviewItem:
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        before = item.reviewed_at is not None
        if before == reviewed:
            return item
        item.reviewed_at = timezone.now() if reviewed else None
        item.reviewed_by = actor.user if reviewed else None
        item.save(update_fields=["reviewed_at", "reviewed_by"])
        audit_log.record(
            actor,
            "report.review_item_reviewed" if reviewed else "report.review_item_reopened",
            object_type="reports.reviewitem",
            object_id=str(item.pk),
            object_repr=str(item)[:200],
            changes={"reviewed": [before, reviewed], "review": [None, str(item.review_id)]},
        )
    return item


def recipients() -> list[User]:
    return list(
        User.objects.filter(is_active=True, role__in=[Role.OWNER, Role.ADMIN]).order_by("email")
    )


def digest_context(review: Review) -> dict:
    counts = review.snapshot.get("counts", {})
    cash = review.snapshot.get("cash_30_days", {})
    labels = dict(ReviewItem.Kind.choices)
    lines = [f"{labels[kind]}: {n}" for kind, n in counts.items()]
    if cash:
        lines.append(
            f"Cash expected in the next 30 days: {cash['expected']} {cash['currency']} "
            f"(p10–p90: {cash['low']}–{cash['high']})"
        )
    items_text = []
    for item in review.items.all():
        amount = f" — {item.amount} {item.currency}" if item.amount is not None else ""
        items_text.append(f"- [{labels[item.kind]}] {item.label}{amount} ({item.detail})")
    summary_html = format_html(
        "<ul>{}</ul><h3>To look at</h3><ul>{}</ul>",
        format_html_join("", "<li>{}</li>", ((line,) for line in lines)),
        format_html_join(
            "",
            "<li>{}</li>",
            ((text[2:],) for text in items_text),
        ),
    )
    return {
        "week": review.week_start.isoformat(),
        "organization": Organization.current().legal_name,
        "headline": f"{sum(counts.values())} items to look at",
        "summary_text": "\n".join(lines + ["", "To look at:"] + items_text),
        "summary_html": summary_html,
        "review_url": settings.BASE_URL + _url("reports:review_detail", review.pk),
    }


def send_digest(actor: Actor, review: Review) -> int:
    """Queue the digest to every active owner and admin, once per review."""
    from throughline.messaging.services import queue_templated_email

    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.digest_sent_at is not None:
            return 0
        context = digest_context(review)
        sent = []
        for user in recipients():
            queue_templated_email(
                actor,
                DIGEST_TEMPLATE,
                to=user.email,
                context={**context, "name": user.full_name or user.email},
                source=f"reports.review:{review.pk}",
                idempotency_key=f"reports.review:{review.pk}:{user.pk}",
            )
            sent.append(user.email)
        review.digest_sent_at = timezone.now()
        review.digest_recipients = sent
        review.save(update_fields=["digest_sent_at", "digest_recipients"])
        audit_log.record(actor, "report.review_digest_queued", review, changes={"to": [None, sent]})
    return len(sent)


def digest_due(now: dt.datetime) -> bool:
    """On Monday from 08:00 to midnight, organization time. A worker that was down at 08:00
    sends it late that day; a digest missed all Monday is skipped (a Monday summary arriving
    later in the week is noise) — the review can still be started from its page."""
    local = now.astimezone(org_tz())
    return local.weekday() == DIGEST_WEEKDAY and local.hour >= DIGEST_HOUR


def weekly_sweep(now: dt.datetime | None = None) -> int:
    """The periodic sweep: make this week's review and send its digest once, when due."""
    now = now or timezone.now()
    if not digest_due(now):
        return 0
    start = week_start(now.astimezone(org_tz()).date())
    if Review.objects.filter(week_start=start, digest_sent_at__isnull=False).exists():
        return 0
    actor = Actor.system(Channel.WORKER, label="weekly review")
    review, _created = create_review(actor, now)
    return send_digest(actor, review)


def review_payload(review: Review) -> dict:
    return {
        "week_start": review.week_start,
        "snapshot": review.snapshot,
        "digest_sent_at": review.digest_sent_at,
        "items": [
            {
                "id": item.pk,
                "kind": item.kind,
                "object_type": item.object_type,
                "object_id": item.object_id,
                "label": item.label,
                "detail": item.detail,
                "amount": item.amount,
                "currency": item.currency,
                "reviewed_at": item.reviewed_at,
            }
            for item in review.items.all()
        ],
    }
