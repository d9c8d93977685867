"""Converting a lead into a deal: everything carries over; API; refusals; permissions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from throughline.core.models import AuditEntry, DomainEvent
from throughline.intake import services as intake
from throughline.intake.models import Lead
from throughline.sales.models import Deal, Pipeline
from throughline.sales.services.lead_conversion import convert_lead
from throughline.sales.services.pipeline import create_pipeline


@pytest.fixture
def lead(questions, capture):
    return capture(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@analytical.example",
        phone="020 7946 0958",
        company="Analytical Engines Ltd",
        title="Founder",
        website="analytical.example",
        message="We need a booking site for our engine demos.",
        source="partner-site",
        utm={"utm_campaign": "spring"},
        custom={"budget": 12000, "timeline": "now", "service": "websites"},
    ).lead


def test_everything_carries_over_to_the_deal(lead, actor, run_jobs):
    deal = convert_lead(actor, lead, value="12000.00")
    assert deal.contact_id == lead.contact_id
    assert deal.company_id == lead.company_id and deal.company.name == "Analytical Engines Ltd"
    assert deal.owner_id == lead.owner_id
    assert deal.lead_id == lead.pk and deal.source == "Partner Site"
    assert str(deal.value) == "12000.00" and deal.currency == "GBP"
    assert deal.title == "Analytical Engines Ltd — Partner Site"
    for text in (
        "We need a booking site for our engine demos.",
        "- Budget: 12000",
        "- Timeline: now",
        "- Service: websites",
        "- utm_campaign: spring",
        "- Job title: Founder",
        "- Phone: +442079460958",
    ):
        assert text in deal.notes
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_deal_id == deal.pk
    event = DomainEvent.objects.get(name="lead.converted", subject_id=str(lead.pk))
    assert event.payload["deal_id"] == str(deal.pk) and event.payload["value"] == "12000.00"
    assert AuditEntry.objects.filter(action="lead.converted", object_id=str(lead.pk)).exists()
    # The sales reaction to lead.converted finds the same deal: still one.
    run_jobs()
    assert Deal.objects.filter(lead_id=lead.pk).count() == 1


def test_pipeline_and_stage_are_chosen(lead, actor):
    pipeline = create_pipeline(
        actor, name="Retainers", stages=[{"name": "Intro"}, {"name": "Scoping"}]
    )
    stage = pipeline.stages.get(name="Scoping")
    deal = convert_lead(actor, lead, pipeline=pipeline, stage=stage, title="Demo site")
    assert deal.pipeline == pipeline and deal.stage == stage and deal.title == "Demo site"


def test_converting_twice_or_a_rejected_lead_is_refused(lead, actor, capture):
    convert_lead(actor, lead)
    with pytest.raises(ValidationError, match="already converted"):
        convert_lead(actor, lead)
    other = capture(email="other@example.com").lead
    intake.reject_lead(actor, other, reason="spam")
    with pytest.raises(ValidationError, match="rejected"):
        convert_lead(actor, other)
    assert Deal.objects.count() == 1


def test_bad_value_changes_nothing(lead, actor):
    with pytest.raises(ValidationError) as error:
        convert_lead(actor, lead, value="-5")
    assert "value" in error.value.message_dict
    assert not Deal.objects.exists()
    assert Lead.objects.get(pk=lead.pk).status == "new"


# --- API -------------------------------------------------------------------------------------


def test_api_convert_answers_the_deal_id(lead, api):
    response = api().post(f"/api/v1/leads/{lead.pk}/convert", {"value": "5000"}, format="json")
    assert response.status_code == 201, response.json()
    deal = Deal.objects.get(pk=response.json()["deal_id"])
    assert deal.lead_id == lead.pk and deal.value == Decimal("5000")


def test_api_convert_refuses_a_stage_of_another_pipeline(lead, api, actor):
    other = create_pipeline(actor, name="Other", stages=[{"name": "One"}])
    default = Pipeline.objects.exclude(pk=other.pk).first()
    response = api().post(
        f"/api/v1/leads/{lead.pk}/convert",
        {"pipeline_id": str(default.pk), "stage_id": str(other.stages.first().pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "stage_id" in response.json()["errors"]
    assert not Deal.objects.exists()


def test_api_convert_twice_is_a_problem(lead, api):
    assert api().post(f"/api/v1/leads/{lead.pk}/convert", {}, format="json").status_code == 201
    again = api().post(f"/api/v1/leads/{lead.pk}/convert", {}, format="json")
    assert again.status_code == 400 and "already converted" in str(again.json())


def test_api_qualify_decisions(lead, api, capture):
    accepted = api().post(f"/api/v1/leads/{lead.pk}/qualify", {"decision": "accept"}, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["status"] == "qualified"
    other = capture(email="nurture@example.com").lead
    nurtured = api().post(
        f"/api/v1/leads/{other.pk}/qualify",
        {"decision": "nurture", "reason": "Next year"},
        format="json",
    )
    assert nurtured.json()["status"] == "nurturing"
    assert DomainEvent.objects.filter(name="lead.nurtured", subject_id=str(other.pk)).exists()
    rejected = api().post(
        f"/api/v1/leads/{other.pk}/qualify",
        {"decision": "reject", "reason": "Went with a competitor"},
        format="json",
    )
    assert rejected.json()["status"] == "rejected"
    assert "Went with a competitor" in rejected.json()["status_reason"]


def test_api_qualify_bad_input(lead, api):
    bad = api().post(f"/api/v1/leads/{lead.pk}/qualify", {"decision": "maybe"}, format="json")
    assert bad.status_code == 400 and "decision" in bad.json()["errors"]
    no_reason = api().post(
        f"/api/v1/leads/{lead.pk}/qualify", {"decision": "reject"}, format="json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).status == "new"


@pytest.mark.parametrize(
    ("role", "qualify", "convert"),
    [
        ("owner", 200, 201),
        ("admin", 200, 201),
        ("sales", 200, 201),
        ("delivery", 403, 403),
        ("billing", 403, 403),
        ("viewer", 403, 403),
    ],
)
def test_api_permissions(lead, api, role, qualify, convert):
    first = api(role).post(
        f"/api/v1/leads/{lead.pk}/qualify", {"decision": "accept"}, format="json"
    )
    assert first.status_code == qualify
    second = api(role).post(f"/api/v1/leads/{lead.pk}/convert", {}, format="json")
    assert second.status_code == convert
    if convert == 403:
        assert AuditEntry.objects.filter(action="access.denied").exists()


def test_sales_limited_to_their_own_records_cannot_reach_others_leads(lead, api, org):
    org.sales_own_records_only = True
    org.save()
    for action, body in (("qualify", {"decision": "accept"}), ("convert", {})):
        response = api("sales").post(f"/api/v1/leads/{lead.pk}/{action}", body, format="json")
        assert response.status_code == 404
    assert Lead.objects.get(pk=lead.pk).status == "new" and not Deal.objects.exists()


def test_api_convert_replayed_with_the_same_idempotency_key_changes_nothing(lead, api):
    client = api()
    url = f"/api/v1/leads/{lead.pk}/convert"
    first = client.post(url, {"value": "900"}, format="json", HTTP_IDEMPOTENCY_KEY="conv-1")
    again = client.post(url, {"value": "900"}, format="json", HTTP_IDEMPOTENCY_KEY="conv-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["deal_id"] == first.json()["deal_id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Deal.objects.count() == 1
