"""Staff pages: settings (rubric, rules, models), the lead panel, qualify and convert."""

from __future__ import annotations

import pytest

from throughline.intake.models import Lead
from throughline.intake.scoring import booking, rules
from throughline.intake.scoring.models import Criterion, ScoringRule
from throughline.sales.models import Deal

SETTINGS = "/leads/scoring/"


def test_settings_page_shows_rubric_rules_and_model_state(rubric, client_as, actor):
    rules.add_rule(actor, kind="intent", label="Replied", signal="reply", points=20)
    page = client_as("owner").get(SETTINGS)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Budget 5k–50k" in text and "Budget is between 5000 and 50000" in text
    assert "knock-out" in text and "Replied to an e-mail" in text
    assert "No model in use: the rules alone score." in text
    assert "Train now" in text


def test_adding_a_criterion_and_a_rule_through_the_page(questions, client_as):
    client = client_as("admin")
    response = client.post(
        SETTINGS + "criteria/",
        {
            "criterion-kind": "budget",
            "criterion-label": "Big budget",
            "criterion-field": "custom.budget",
            "criterion-operator": "gte",
            "criterion-value": "20000",
            "criterion-points": "50",
        },
    )
    assert response.status_code == 302
    assert Criterion.objects.get().value == "20000"
    response = client.post(
        SETTINGS + "rules/",
        {
            "rule-kind": "intent",
            "rule-label": "Booked",
            "rule-signal": "meeting",
            "rule-points": "30",
        },
    )
    assert response.status_code == 302 and ScoringRule.objects.get().signal == "meeting"


def test_an_invalid_rule_is_refused_on_the_page_with_its_reason(questions, client_as):
    response = client_as("owner").post(
        SETTINGS + "criteria/",
        {
            "criterion-kind": "custom",
            "criterion-label": "Shoe size",
            "criterion-field": "shoe_size",
            "criterion-operator": "eq",
            "criterion-value": "42",
        },
    )
    assert response.status_code == 400
    assert "Unknown field “shoe_size”." in response.content.decode()
    assert not Criterion.objects.exists()
    response = client_as("owner").post(
        SETTINGS + "config/", {"half_life_days": "soon", "hot_at": "10", "warm_at": "5"}
    )
    assert response.status_code == 400 and "between 0.1 and 3650" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "get", "post"),
    [("owner", 200, 302), ("sales", 200, 403), ("viewer", 200, 403), ("delivery", 200, 403)],
)
def test_settings_permissions(questions, client_as, role, get, post):
    client = client_as(role)
    assert client.get(SETTINGS).status_code == get
    response = client.post(
        SETTINGS + "config/", {"half_life_days": "7", "hot_at": "9", "warm_at": "3"}
    )
    assert response.status_code == post


def test_lead_page_shows_outcome_reasons_score_and_history(rubric, capture, client_as, actor):
    rules.add_rule(
        actor,
        kind="fit",
        label="Company given",
        field="has_company",
        operator="eq",
        value="yes",
        points=10,
    )
    lead = capture(
        email="zoe@example.com",
        phone="020 7946 0958",
        company="Zoe Ltd",
        custom={"budget": 8000},
    ).lead
    page = client_as("owner").get(f"/leads/{lead.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Qualification and score" in text and "Nurture" in text
    assert "Budget 5k–50k — met (+40)" in text and "Starting now — not met" in text
    assert "Company given" in text and "Score history" in text
    assert "Convert to a deal" in text


def test_deciding_on_the_lead_page(questions, capture, client_as, owner, actor):
    booking.set_booking_link(actor, owner, "https://cal.example.com/o")
    lead = capture(email="yan@example.com").lead
    client = client_as("sales")
    response = client.post(
        f"/leads/scoring/lead/{lead.pk}/qualify/", {"qualify-decision": "accept"}
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).status == "qualified"
    response = client.post(
        f"/leads/scoring/lead/{lead.pk}/qualify/", {"qualify-decision": "accept"}
    )
    page = client.get(response["Location"])
    assert "already qualified" in page.content.decode()


def test_viewer_cannot_decide(questions, capture, client_as):
    lead = capture(email="xi@example.com").lead
    response = client_as("viewer").post(
        f"/leads/scoring/lead/{lead.pk}/qualify/",
        {"qualify-decision": "reject", "qualify-reason": "x"},
    )
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).status == "new"


def test_convert_page_carries_everything_and_creates_the_deal(questions, capture, client_as):
    lead = capture(
        email="wu@example.com", company="Wu Ltd", message="Shop please", custom={"budget": 7000}
    ).lead
    client = client_as("sales")
    page = client.get(f"/sales/leads/{lead.pk}/convert/")
    text = page.content.decode()
    assert page.status_code == 200 and "Shop please" in text and "7000" in text
    stage = page.context["form"].fields["stage"].queryset.first()
    response = client.post(
        f"/sales/leads/{lead.pk}/convert/",
        {"title": "Wu shop", "stage": stage.pk, "value": "7000", "currency": "GBP"},
    )
    deal = Deal.objects.get(lead_id=lead.pk)
    assert response.status_code == 302 and response["Location"] == f"/sales/deals/{deal.pk}/"
    assert deal.title == "Wu shop" and "Shop please" in deal.notes and deal.company.name == "Wu Ltd"
    assert Lead.objects.get(pk=lead.pk).status == "converted"


def test_convert_page_refuses_bad_value_and_other_roles(questions, capture, client_as):
    lead = capture(email="vic@example.com").lead
    client = client_as("owner")
    stage = (
        client.get(f"/sales/leads/{lead.pk}/convert/")
        .context["form"]
        .fields["stage"]
        .queryset.first()
    )
    response = client.post(
        f"/sales/leads/{lead.pk}/convert/",
        {"title": "X", "stage": stage.pk, "value": "lots", "currency": "GBP"},
    )
    assert response.status_code == 400 and not Deal.objects.exists()
    assert client_as("viewer").get(f"/sales/leads/{lead.pk}/convert/").status_code == 403
