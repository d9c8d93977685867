"""The weekly momentum review: its contents, ticking items, and the Monday 08:00 digest received
by a real SMTP server in the organization's time zone (Europe/Berlin, across DST), once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from throughline.core import scheduler
from throughline.core.models.audit import AuditEntry
from throughline.core.roles import Role
from throughline.reports import review as reviews
from throughline.reports.models import Review, ReviewItem
from throughline.sales.services import pipeline as sales

UTC = dt.UTC


@pytest.fixture
def berlin(org):
    org.time_zone = "Europe/Berlin"
    org.save()
    return org


@pytest.fixture
def week_data(actor, seller, issued, at, berlin):
    """An invoice overdue since 10 March, a deal idle since 1 March, one active deal."""
    at(dt.date(2025, 2, 20))
    invoice = issued(dt.date(2025, 2, 20), dt.date(2025, 3, 10))
    at(dt.date(2025, 3, 1))
    pipe = sales.create_pipeline(actor, name="Review", stages=[{"name": "Talk", "probability": 50}])
    stalled = sales.create_deal(
        actor,
        pipeline=pipe,
        stage=pipe.stages.get(),
        title="Idle <b>deal</b>",
        value="500",
        currency="GBP",
    )
    at(dt.date(2025, 3, 20))
    sales.create_deal(
        actor,
        pipeline=pipe,
        stage=pipe.stages.get(),
        title="Busy deal",
        value="700",
        currency="GBP",
    )
    return {"invoice": invoice, "stalled": stalled}


def _sweep(moment: dt.datetime, run_jobs) -> None:
    """What a worker does at ``moment``: the scheduler's tick, then the jobs it enqueued."""
    with time_machine.travel(moment, tick=False):
        scheduler.tick()
        run_jobs()


def digests(smtp_server) -> list[dict]:
    """The weekly digests received (other sweeps, e.g. billing's dunning, mail clients too)."""
    return [m for m in smtp_server.messages if m["message"]["Subject"].startswith("Weekly review")]


def test_digest_arrives_monday_0800_berlin_once_across_dst(week_data, users, smtp_server, run_jobs):
    # Winter time (CET, UTC+1): Monday 24 March 2025, 08:00 in Berlin is 07:00 UTC.
    _sweep(dt.datetime(2025, 3, 23, 7, 0, tzinfo=UTC), run_jobs)  # Sunday: nothing
    _sweep(dt.datetime(2025, 3, 24, 6, 59, tzinfo=UTC), run_jobs)  # 07:59 local: nothing
    assert digests(smtp_server) == []
    _sweep(dt.datetime(2025, 3, 24, 7, 0, tzinfo=UTC), run_jobs)
    received = {m["envelope"].rcpt_tos[0]: m["message"] for m in digests(smtp_server)}
    assert set(received) == {"olivia@example.com", "adam@example.com"}  # owners and admins
    _sweep(dt.datetime(2025, 3, 24, 7, 5, tzinfo=UTC), run_jobs)
    _sweep(dt.datetime(2025, 3, 24, 22, 59, tzinfo=UTC), run_jobs)  # 23:59 local
    assert len(digests(smtp_server)) == 2  # once

    mail = received["olivia@example.com"]
    assert mail["Subject"].startswith("Weekly review, week of 2025-03-24")
    text = mail.get_body(("plain",)).get_content()
    assert "Deals stalled 7+ days: 1" in text
    assert "Overdue invoices: 1" in text
    assert week_data["invoice"].number in text
    assert "Cash expected in the next 30 days: 120.00 GBP" in text
    html = mail.get_body(("html",)).get_content()
    assert "Idle &lt;b&gt;deal&lt;/b&gt;" in html  # what users typed stays escaped
    review = Review.objects.get()
    assert review.week_start == dt.date(2025, 3, 24)
    assert review.digest_recipients == ["adam@example.com", "olivia@example.com"]

    # Summer time (CEST, UTC+2) from 30 March: Monday 31 March, 08:00 in Berlin is 06:00 UTC.
    _sweep(dt.datetime(2025, 3, 31, 5, 59, tzinfo=UTC), run_jobs)
    assert len(digests(smtp_server)) == 2
    _sweep(dt.datetime(2025, 3, 31, 6, 0, tzinfo=UTC), run_jobs)
    assert len(digests(smtp_server)) == 4
    _sweep(dt.datetime(2025, 3, 31, 6, 1, tzinfo=UTC), run_jobs)
    assert len(digests(smtp_server)) == 4
    assert list(Review.objects.values_list("week_start", flat=True)) == [
        dt.date(2025, 3, 31),
        dt.date(2025, 3, 24),  # the past review is kept
    ]


def test_review_contents_snapshot_and_ticking(week_data, actor, client_as, users):
    with time_machine.travel(dt.datetime(2025, 3, 24, 9, 0, tzinfo=UTC), tick=False):
        review, created = reviews.create_review(actor)
        again, created_again = reviews.create_review(actor)
    assert created and not created_again and again.pk == review.pk
    kinds = {item.kind: item for item in review.items.all()}
    assert set(kinds) == {ReviewItem.Kind.STALLED_DEAL, ReviewItem.Kind.OVERDUE_INVOICE}
    assert kinds[ReviewItem.Kind.STALLED_DEAL].object_id == str(week_data["stalled"].pk)
    assert kinds[ReviewItem.Kind.OVERDUE_INVOICE].amount == Decimal("120.00")
    assert review.snapshot["counts"] == {
        "stalled_deal": 1,
        "proposal_awaiting": 0,
        "lead_past_sla": 0,
        "overdue_invoice": 1,
    }
    assert "milestone_due" not in review.snapshot["counts"]  # no delivery app: left out
    assert review.snapshot["cash_30_days"]["expected"] == "120.00"

    page = client_as(Role.SALES).get(f"/reports/review/{review.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Idle &lt;b&gt;deal&lt;/b&gt;" in html and "Definitions" in html
    item = kinds[ReviewItem.Kind.OVERDUE_INVOICE]
    response = client_as(Role.SALES).post(
        f"/reports/review/item/{item.pk}/tick/", {"reviewed": "1"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.reviewed_at is not None and item.reviewed_by == users[Role.SALES]
    assert AuditEntry.objects.filter(action="report.review_item_reviewed").count() == 1
    client_as(Role.SALES).post(f"/reports/review/item/{item.pk}/tick/", {"reviewed": "0"})
    item.refresh_from_db()
    assert item.reviewed_at is None
    assert (
        client_as(Role.SALES)
        .post(f"/reports/review/item/{item.pk}/tick/", {"reviewed": "maybe"})
        .status_code
        == 404
    )

    listing = client_as(Role.OWNER).get("/reports/review/").content.decode()
    assert f"/reports/review/{review.pk}/" in listing


def test_review_permissions(client_as, seller, actor):
    review, _ = reviews.create_review(actor)
    item = ReviewItem.objects.create(
        review=review, kind="overdue_invoice", object_type="x", object_id="1", label="X"
    )
    assert client_as(Role.VIEWER).get("/reports/review/").status_code == 403
    assert client_as(Role.DELIVERY).get(f"/reports/review/{review.pk}/").status_code == 403
    assert (
        client_as(Role.VIEWER)
        .post(f"/reports/review/item/{item.pk}/tick/", {"reviewed": "1"})
        .status_code
        == 403
    )
    assert client_as(Role.SALES).get("/reports/review/start/").status_code == 405
    response = client_as(Role.BILLING).post("/reports/review/start/")
    assert response.status_code == 302 and Review.objects.count() == 1
