"""Marketing spend per source → cost per lead and per won deal, on hand-computed figures.

Spend entered (GBP, the organization's base currency):
  website  June 600.00 (30 days)    referral June 100.00    email June 10.00, July 10.00
Leads (all arriving 2–3 June): website 3 (one has a won deal, one an open deal), referral 3,
phone 1 (no spend entered).

Period 1–15 June (15 of June's 30 days, so half of each June amount):
  website  spend 300.00; per lead 300.00 ÷ 3 = 100.00; per won deal 300.00 ÷ 1 = 300.00
  referral spend  50.00; per lead  50.00 ÷ 3 = 16.666… → 16.67; no won deal → None
  phone    no spend → spend, both costs None
  email    spend 5.00, no lead → a row of zeros, costs None
  total    spend 355.00 (website + referral + email); leads of those sources 6 → 59.1666… →
           59.17; won 1 → 355.00
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from throughline.core.models import AuditEntry
from throughline.core.roles import Role
from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.models import Lead, LeadSource
from throughline.reports import spend
from throughline.reports.kpis import kpis
from throughline.reports.kpis.filters import Filters
from throughline.reports.models import SourceSpend
from throughline.sales.services import pipeline as sales

FIRST_HALF = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 15))
JUNE = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30))
HALF_QUERY = "from=2025-06-01&to=2025-06-15"


def _lead(actor, index: int, source: str, day: int) -> Lead:
    received = dt.datetime(2025, 6, day, 9, index, tzinfo=dt.UTC)
    lead = capture_lead(
        actor,
        LeadInput(
            first_name=f"Lead{index}",
            last_name="Person",
            email=f"spend-lead{index}@example.org",
            source=source,
            received_at=received,
            acknowledge=False,
            create_task=False,
        ),
    ).lead
    Lead.objects.filter(pk=lead.pk).update(received_at=received)
    return lead


@pytest.fixture
def funnel_data(actor, org, time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC))
    made = [_lead(actor, i, "website", 2) for i in range(3)]
    made += [_lead(actor, 3 + i, "referral", 3) for i in range(3)]
    made.append(_lead(actor, 6, "phone", 3))
    won = sales.create_deal(actor, lead_id=made[0].pk, title="Won", value="1000", currency="GBP")
    sales.win_deal(actor, won)
    sales.create_deal(actor, lead_id=made[1].pk, title="Open", value="500", currency="GBP")
    for source, month, amount in (
        ("website", "2025-06", "600.00"),
        ("referral", "2025-06", "100"),
        ("email", "2025-06", "10.00"),
        ("email", "2025-07", "10.00"),
    ):
        spend.record_spend(actor, source=source, month=month, amount=amount)
    return made


def _funnel(filters: Filters) -> dict:
    return kpis(filters)["leads"]["funnel"]


def test_costs_per_source_and_total_for_half_a_month(funnel_data):
    funnel = _funnel(FIRST_HALF)
    assert funnel["currency"] == "GBP"
    rows = funnel["by_source"]
    assert list(rows) == ["email", "phone", "referral", "website"]
    website = rows["website"]
    assert (website["leads"], website["deals"], website["won"]) == (3, 2, 1)
    assert website["spend"] == Decimal("300.00")
    assert website["cost_per_lead"] == Decimal("100.00")
    assert website["cost_per_won_deal"] == Decimal("300.00")
    referral = rows["referral"]
    assert (referral["spend"], referral["cost_per_lead"]) == (Decimal("50.00"), Decimal("16.67"))
    assert referral["cost_per_won_deal"] is None  # no won deal
    assert (rows["phone"]["spend"], rows["phone"]["cost_per_lead"]) == (None, None)
    assert rows["phone"]["cost_per_won_deal"] is None
    assert rows["email"] == {
        "leads": 0,
        "qualified": 0,
        "deals": 0,
        "won": 0,
        "lead_to_won_rate": None,
        "spend": Decimal("5.00"),
        "cost_per_lead": None,
        "cost_per_won_deal": None,
    }
    totals = funnel["totals"]
    assert (totals["leads"], totals["deals"], totals["won"]) == (7, 2, 1)
    assert totals["lead_to_won_rate"] == round(1 / 7, 4)
    assert totals["spend"] == Decimal("355.00")
    assert totals["cost_per_lead"] == Decimal("59.17")  # 355.00 ÷ 6 leads of sources with spend
    assert totals["cost_per_won_deal"] == Decimal("355.00")


def test_whole_month_rounds_a_third_half_up(funnel_data):
    rows = _funnel(JUNE)["by_source"]
    assert rows["referral"]["spend"] == Decimal("100.00")
    assert rows["referral"]["cost_per_lead"] == Decimal("33.33")  # 100 ÷ 3
    assert rows["website"]["cost_per_lead"] == Decimal("200.00")


def test_source_filter_and_owner_filter(funnel_data, owner):
    only = _funnel(Filters(FIRST_HALF.start, FIRST_HALF.end, source="referral"))
    assert list(only["by_source"]) == ["referral"]
    assert only["totals"]["spend"] == Decimal("50.00")
    Lead.objects.update(owner=owner)
    by_owner = _funnel(Filters(FIRST_HALF.start, FIRST_HALF.end, owner=str(owner.pk)))
    # Spend is per source, not per owner: shown, but no cost is divided by one owner's leads.
    assert by_owner["by_source"]["website"]["spend"] == Decimal("300.00")
    assert by_owner["by_source"]["website"]["cost_per_lead"] is None
    assert by_owner["totals"]["cost_per_lead"] is None


def test_no_spend_entered_means_no_costs(actor, org, time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC))
    _lead(actor, 0, "website", 2)
    funnel = _funnel(FIRST_HALF)
    row = funnel["by_source"]["website"]
    assert (row["spend"], row["cost_per_lead"], row["cost_per_won_deal"]) == (None, None, None)
    totals = funnel["totals"]
    assert (totals["spend"], totals["cost_per_lead"], totals["cost_per_won_deal"]) == (
        None,
        None,
        None,
    )


def test_prorating_across_months_is_rounded_once(actor, org):
    spend.record_spend(actor, source="website", month="2025-06", amount="600.00")
    spend.record_spend(actor, source="website", month="2025-07", amount="310.00")
    spend.record_spend(actor, source="email", month="2025-06", amount="10.00")
    spend.record_spend(actor, source="email", month="2025-07", amount="10.00")
    # 16 June – 10 July: 600 × 15/30 + 310 × 10/31 = 300 + 100.
    spent = spend.spend_for(Filters(dt.date(2025, 6, 16), dt.date(2025, 7, 10)))
    assert spent["by_source"]["website"] == Decimal("400.00")
    # 30 June – 1 July: 10/30 + 10/31 = 0.6559… → 0.66 (rounding each day first gives 0.65).
    two_days = spend.spend_for(Filters(dt.date(2025, 6, 30), dt.date(2025, 7, 1)))
    assert two_days["by_source"]["email"] == Decimal("0.66")
    assert spend.spend_for(Filters(dt.date(2025, 8, 1), dt.date(2025, 8, 31)))["by_source"] == {}


def test_record_normalises_the_month_replaces_and_audits(actor, org):
    entry, created = spend.record_spend(
        actor, source="website", month="2025-06-17", amount="600", note=" Ads "
    )
    assert created and entry.month == dt.date(2025, 6, 1)
    assert (entry.amount, entry.currency, entry.note) == (Decimal("600.00"), "GBP", "Ads")
    again, created = spend.record_spend(actor, source="website", month="2025-06", amount="650.50")
    assert not created and again.pk == entry.pk
    entry.refresh_from_db()
    assert (str(entry.amount), entry.note) == ("650.50", "")
    actions = list(
        AuditEntry.objects.filter(object_id=str(entry.pk)).order_by("seq").values_list("action")
    )
    assert actions == [("report.spend_recorded",), ("report.spend_updated",)]
    updated = AuditEntry.objects.get(action="report.spend_updated")
    assert updated.changes == {"amount": ["600.00", "650.50"], "note": ["Ads", ""]}
    spend.update_spend(actor, entry, note="Google Ads")
    spend.delete_spend(actor, entry)
    assert not SourceSpend.objects.exists()
    assert AuditEntry.objects.filter(action="report.spend_deleted").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"month": "June"}, "month"),
        ({"month": "2025-13"}, "month"),
        ({"source": "no-such-source"}, "source"),
        ({"note": "x" * 301}, "note"),
    ],
)
def test_validation_errors_change_nothing(actor, org, fields, field):
    entry, _ = spend.record_spend(actor, source="website", month="2025-06", amount="600.00")
    audited = AuditEntry.objects.count()
    data = {"source": "website", "month": "2025-06", "amount": "700.00", **fields}
    with pytest.raises(ValidationError) as raised:
        spend.record_spend(actor, **data)
    assert field in raised.value.message_dict
    entry.refresh_from_db()
    assert entry.amount == Decimal("600.00")
    assert SourceSpend.objects.count() == 1
    assert AuditEntry.objects.count() == audited


def test_update_refuses_key_fields(actor, org):
    entry, _ = spend.record_spend(actor, source="website", month="2025-06", amount="1")
    with pytest.raises(ValidationError) as raised:
        spend.update_spend(actor, entry, month="2025-07")
    assert "month" in raised.value.message_dict


def test_a_source_with_spend_cannot_be_deleted(actor, org):
    from django.db.models import ProtectedError

    spend.record_spend(actor, source="webhook", month="2025-06", amount="1")
    with pytest.raises(ProtectedError):
        LeadSource.objects.get(slug="webhook").delete()


# --- staff page -----------------------------------------------------------------------------


def test_owner_and_admin_enter_spend_on_the_page(client_as, org, time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC))
    client = client_as(Role.OWNER)
    page = client.get("/reports/spend/")
    assert page.status_code == 200 and "Marketing spend by lead source" in page.content.decode()
    response = client.post(
        "/reports/spend/", {"source": "website", "month": "2025-06", "amount": "600.00"}
    )
    assert response.status_code == 302
    entry = SourceSpend.objects.get()
    assert (entry.source.slug, entry.month, entry.amount) == (
        "website",
        dt.date(2025, 6, 1),
        Decimal("600.00"),
    )
    listing = client.get("/reports/spend/").content.decode()
    assert "600.00 GBP" in listing and "2025-06" in listing
    admin = client_as(Role.ADMIN)
    bad = admin.post("/reports/spend/", {"source": "website", "month": "2025-06", "amount": "-5"})
    assert bad.status_code == 400
    assert "Spend cannot be negative." in bad.content.decode()
    assert admin.post(f"/reports/spend/{entry.pk}/delete/").status_code == 302
    assert not SourceSpend.objects.exists()


@pytest.mark.parametrize("role", [Role.SALES, Role.BILLING, Role.VIEWER, Role.DELIVERY])
def test_other_roles_cannot_enter_spend(client_as, actor, org, role):
    entry, _ = spend.record_spend(actor, source="website", month="2025-06", amount="600.00")
    client = client_as(role)
    assert client.get("/reports/spend/").status_code == 403
    post = client.post("/reports/spend/", {"source": "website", "month": "2025-06", "amount": "1"})
    assert post.status_code == 403
    assert client.post(f"/reports/spend/{entry.pk}/delete/").status_code == 403
    entry.refresh_from_db()
    assert entry.amount == Decimal("600.00")


def test_dashboard_shows_costs_and_links_spend_only_for_who_may_enter_it(funnel_data, client_as):
    owner_html = client_as(Role.OWNER).get(f"/reports/?{HALF_QUERY}").content.decode()
    assert "Cost per lead" in owner_html and "Cost per won deal" in owner_html
    assert '<td class="report-figure">100.00</td>' in owner_html
    assert '<td class="report-figure">59.17</td>' in owner_html
    assert "/reports/spend/" in owner_html
    assert "/reports/export/funnel.csv" in owner_html
    sales_html = client_as(Role.SALES).get(f"/reports/?{HALF_QUERY}").content.decode()
    assert '<td class="report-figure">300.00</td>' in sales_html
    assert "/reports/spend/" not in sales_html


# --- CSV and API ----------------------------------------------------------------------------


def test_funnel_and_kpi_csv_carry_the_figures(funnel_data, client_as):
    client = client_as(Role.OWNER)
    body = client.get(f"/reports/export/funnel.csv?{HALF_QUERY}").content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [
        "source",
        "leads",
        "qualified",
        "deals",
        "won",
        "lead_to_won_rate",
        "currency",
        "spend",
        "cost_per_lead",
        "cost_per_won_deal",
    ]
    by_source = {row[0]: row for row in rows[1:]}
    assert by_source["website"] == ["website", "3", "0", "2", "1", "0.3333", "GBP"] + [
        "300.00",
        "100.00",
        "300.00",
    ]
    assert by_source["phone"][7:] == ["", "", ""]
    assert by_source["(total)"][7:] == ["355.00", "59.17", "355.00"]
    flat = client.get(f"/reports/export/kpis.csv?{HALF_QUERY}").content.decode()
    assert "leads.funnel.by_source.referral.cost_per_lead,16.67" in flat
    assert "leads.funnel.totals.spend,355.00" in flat
    assert AuditEntry.objects.filter(action="report.exported", object_id="funnel").exists()


def test_api_kpis_carry_costs(funnel_data, api):
    body = api(Role.SALES).get(f"/api/v1/reports/kpis?{HALF_QUERY}").json()
    website = body["leads"]["funnel"]["by_source"]["website"]
    assert (website["spend"], website["cost_per_lead"], website["cost_per_won_deal"]) == (
        "300.00",
        "100.00",
        "300.00",
    )
    assert body["leads"]["funnel"]["totals"]["cost_per_lead"] == "59.17"
    assert body["leads"]["funnel"]["by_source"]["phone"]["cost_per_lead"] is None


def test_api_spend_resource(api, org, time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC))
    owner = api(Role.OWNER)
    data = {"source": "website", "month": "2025-06", "amount": "600.00", "note": "Ads"}
    created = owner.post("/api/v1/reports/spend", data, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    assert created.status_code == 201
    entry = created.json()
    assert (entry["month"], entry["amount"], entry["currency"]) == ("2025-06", "600.00", "GBP")
    replaced = owner.post(
        "/api/v1/reports/spend", {**data, "amount": "650"}, format="json", HTTP_IDEMPOTENCY_KEY="s2"
    )
    assert replaced.status_code == 200 and replaced.json()["id"] == entry["id"]
    assert replaced.json()["amount"] == "650.00"
    bad = owner.post(
        "/api/v1/reports/spend",
        {**data, "currency": "EUR", "amount": "1.234"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="s3",
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"currency", "amount"}
    sales = api(Role.SALES)
    listed = sales.get("/api/v1/reports/spend?from=2025-06-01&source=website").json()
    assert [row["amount"] for row in listed["results"]] == ["650.00"]
    refused = sales.post(
        "/api/v1/reports/spend", {**data, "amount": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="s4"
    )
    assert refused.status_code == 403
    assert api(Role.VIEWER).get("/api/v1/reports/spend").status_code == 403
    path = f"/api/v1/reports/spend/{entry['id']}"
    assert sales.delete(path).status_code == 403
    patched = owner.patch(path, {"amount": "700.10"}, format="json")
    assert patched.status_code == 200 and patched.json()["amount"] == "700.10"
    assert owner.delete(path).status_code == 204
    assert not SourceSpend.objects.exists()
