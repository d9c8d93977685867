"""Retainers: recurring projects billed per monthly period.

``open_due_periods`` (a daily sweep) opens every period whose first day has come, one row per
(project, number) so a sweep that runs twice opens nothing twice, and emits
``retainer.period_started`` with the figures billing needs for the period's invoice.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.delivery.models import Project, RetainerPeriod
from throughline.delivery.services.projects import org_today


def add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_bounds(project: Project, number: int) -> tuple[dt.date, dt.date]:
    """Period ``number`` (1-based) runs from start + (n-1) months to the day before the next."""
    starts = add_months(project.start_date, number - 1)
    return starts, add_months(project.start_date, number) - dt.timedelta(days=1)


def _open(actor: Actor, project: Project, number: int) -> RetainerPeriod | None:
    starts, ends = period_bounds(project, number)
    try:
        with transaction.atomic():
            period = RetainerPeriod.objects.create(
                project=project,
                number=number,
                starts_on=starts,
                ends_on=ends,
                amount=project.retainer_amount,
                currency=project.currency,
            )
            audit_log.record(
                actor, "retainer.period_started", period, changes={"number": [None, number]}
            )
            events.emit(
                actor,
                "retainer.period_started",
                period,
                project_id=str(project.pk),
                period_id=str(period.pk),
                number=number,
                starts_on=starts.isoformat(),
                ends_on=ends.isoformat(),
                amount=str(period.amount),
                currency=period.currency,
                contact_id=str(project.contact_id),
                deal_id=str(project.deal_id) if project.deal_id else None,
                proposal_id=str(project.proposal_id) if project.proposal_id else None,
                contract_id=str(project.contract_id) if project.contract_id else None,
            )
    except IntegrityError:
        return None  # another sweep opened it first
    return period


def open_due_periods(actor: Actor, today: dt.date | None = None) -> list[RetainerPeriod]:
    today = today or org_today()
    opened = []
    retainers = Project.objects.filter(
        kind=Project.Kind.RETAINER, retainer_amount__isnull=False
    ).exclude(status=Project.Status.CLOSED)
    for project in retainers:
        number = project.periods.order_by("-number").values_list("number", flat=True).first() or 0
        while True:
            number += 1
            if project.retainer_months and number > project.retainer_months:
                break
            if period_bounds(project, number)[0] > today:
                break
            period = _open(actor, project, number)
            if period is not None:
                opened.append(period)
    return opened
