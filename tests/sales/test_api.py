"""REST API v1 for deals and proposals: contract (checked against OpenAPI), permissions, scoping."""

from __future__ import annotations

import io

import pypdf
import pytest
from rest_framework.test import APIClient

from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, DomainEvent
from throughline.core.roles import Role, role_has
from throughline.core.services import create_api_token
from throughline.sales.models import Deal, LostReason, Stage
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import templates

pytestmark = pytest.mark.django_db

# What each sales route demands, written out so loosening a view's declaration fails here.
ROUTES = {
    ("GET", "/api/v1/pipelines"): "sales.view",
    ("GET", "/api/v1/deals"): "sales.view",
    ("POST", "/api/v1/deals"): "sales.edit",
    ("GET", "/api/v1/deals/{id}"): "sales.view",
    ("PATCH", "/api/v1/deals/{id}"): "sales.edit",
    ("POST", "/api/v1/deals/{id}/lose"): "sales.edit",
    ("POST", "/api/v1/deals/{id}/win"): "sales.edit",
    ("GET", "/api/v1/proposals"): "sales.view",
    ("POST", "/api/v1/proposals"): "sales.edit",
    ("GET", "/api/v1/proposals/{id}"): "sales.view",
    ("POST", "/api/v1/proposals/{id}/send"): "sales.edit",
    ("POST", "/api/v1/proposals/{id}/request-approval"): "sales.edit",
    ("GET", "/api/v1/proposals/{id}/pdf"): "sales.view",
}


def test_the_sales_routes_are_documented_exactly():
    from tests.api import openapi

    documented = {
        (method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
        if path.split("/")[3] in {"pipelines", "deals", "proposals"}
    }
    assert documented == set(ROUTES)


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("method", "template"), list(ROUTES))
def test_permission_matrix(users, proposal, role, method, template):
    permission = ROUTES[method, template]
    resource = template.split("/")[3]
    target = {"deals": proposal.deal, "proposals": proposal}.get(resource)
    path = template.replace("{id}", str(target.pk)) if "{id}" in template else template
    _token, raw = create_api_token(Actor.cli(), users[role], name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    denied_before = AuditEntry.objects.filter(action="access.denied").count()

    response = client.generic(method, path, "{}", content_type="application/json")

    if role_has(role, permission):
        assert response.status_code != 403, response.content
        assert response.status_code < 500, response.content
    else:
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert AuditEntry.objects.filter(action="access.denied").count() == denied_before + 1


def test_create_move_and_lose_a_deal(api, client_contact):
    client = api("sales")
    pipelines = client.get("/api/v1/pipelines").json()["results"]
    stages = {s["name"]: s["id"] for s in pipelines[0]["stages"]}
    created = client.post(
        "/api/v1/deals",
        {
            "title": "API deal",
            "contact_id": str(client_contact.pk),
            "value": "2500.5",
            "currency": "GBP",
            "expected_close_date": "2030-01-31",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    deal = created.json()
    assert deal["stage"] == "New" and deal["value"] == "2500.50" and deal["status"] == "open"
    assert deal["company_id"] == str(client_contact.company_id)

    moved = client.patch(
        f"/api/v1/deals/{deal['id']}", {"stage_id": stages["Negotiation"]}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["stage"] == "Negotiation"
    assert moved.json()["probability"] == 75
    assert DomainEvent.objects.filter(name="deal.stage_changed", subject_id=deal["id"]).exists()

    refused = client.post(f"/api/v1/deals/{deal['id']}/lose", {"reason": "bored"}, format="json")
    assert refused.status_code == 400
    assert "reason" in refused.json()["errors"]
    lost = client.post(
        f"/api/v1/deals/{deal['id']}/lose", {"reason": "Price", "note": "Too dear"}, format="json"
    )
    assert lost.status_code == 200
    assert lost.json()["status"] == "lost" and lost.json()["lost_reason"] == "Price"
    assert DomainEvent.objects.filter(name="deal.lost", subject_id=deal["id"]).exists()


def test_a_stage_of_another_pipeline_is_a_field_error(api, actor, deal):
    other = pipeline_services.create_pipeline(actor, name="Partners", stages=[{"name": "Intro"}])
    response = api("sales").patch(
        f"/api/v1/deals/{deal.pk}", {"stage_id": str(other.stages.get().pk)}, format="json"
    )
    assert response.status_code == 400
    assert "stage_id" in response.json()["errors"]


def test_idempotent_lose(api, deal):
    client = api("sales")
    headers = {"HTTP_IDEMPOTENCY_KEY": "lose-once"}
    first = client.post(
        f"/api/v1/deals/{deal.pk}/lose", {"reason": "Timing"}, format="json", **headers
    )
    second = client.post(
        f"/api/v1/deals/{deal.pk}/lose", {"reason": "Timing"}, format="json", **headers
    )
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert DomainEvent.objects.filter(name="deal.lost").count() == 1


def test_proposal_from_deal_and_template_then_send(api, deal, approved_template, policy):
    client = api("sales")
    created = client.post(
        "/api/v1/proposals",
        {"deal_id": str(deal.pk), "template_id": str(approved_template.pk)},
        format="json",
    )
    assert created.status_code == 201, created.content
    proposal = created.json()
    assert proposal["status"] == "draft" and proposal["version"] == 1
    assert proposal["gross_total"] == "4558.73" and proposal["currency"] == "GBP"
    assert proposal["approval_required"] == []
    sent = client.post(f"/api/v1/proposals/{proposal['id']}/send", {}, format="json")
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "sent" and sent.json()["sent_at"].endswith("Z")


def test_a_draft_template_version_is_refused(api, actor, deal, items):
    from tests.sales.conftest import template_content

    template = templates.create_template(
        actor, name="Draft only", currency="GBP", content=template_content(items)
    )
    response = api("sales").post(
        "/api/v1/proposals",
        {"deal_id": str(deal.pk), "template_version_id": str(template.versions.get().pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "template_version_id" in response.json()["errors"]


def test_sending_needs_approval_first(api, sales_actor, proposal):
    from throughline.sales.services import proposals as proposal_services

    version = proposal.latest_version()
    lines = proposal_services.line_dicts(version)
    lines[1]["discount_percent"] = "40"
    proposal_services.update_draft(sales_actor, version, lines=lines)
    client = api("sales")
    detail = client.get(f"/api/v1/proposals/{proposal.pk}").json()
    assert detail["approval_required"] and "40% is above" in detail["approval_required"][0]
    refused = client.post(f"/api/v1/proposals/{proposal.pk}/send", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["errors"]["approval"]
    assert not DomainEvent.objects.filter(name="proposal.sent").exists()
    requested = client.post(
        f"/api/v1/proposals/{proposal.pk}/request-approval", {"note": "key account"}, format="json"
    )
    assert requested.status_code == 200
    assert requested.json()["version_status"] == "pending_approval"


def test_pdf(users, sent_proposal):
    _token, raw = create_api_token(Actor.cli(), users["viewer"], name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get(f"/api/v1/proposals/{sent_proposal.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert sent_proposal.number in text


def test_sales_see_only_their_own_deals_and_proposals(api, actor, proposal, org):
    org.sales_own_records_only = True
    org.save()
    mine = api("sales").get("/api/v1/deals").json()["results"]
    assert [d["id"] for d in mine] == [str(proposal.deal_id)]
    foreign = pipeline_services.create_deal(actor, title="Owner's", currency="GBP")
    assert api("sales").get(f"/api/v1/deals/{foreign.pk}").status_code == 404
    assert api("owner").get(f"/api/v1/deals/{foreign.pk}").status_code == 200
    # A proposal cannot be created on a deal the user cannot see.
    response = api("sales").post(
        "/api/v1/proposals",
        {"deal_id": str(foreign.pk), "template_id": str(proposal.template_version.template_id)},
        format="json",
    )
    assert response.status_code == 400 and "deal_id" in response.json()["errors"]


def test_list_filters(api, deal, sales_actor):
    pipeline_services.lose_deal(sales_actor, deal, LostReason.objects.first())
    other = pipeline_services.create_deal(sales_actor, title="Second", currency="GBP")
    client = api("sales")
    assert [d["id"] for d in client.get("/api/v1/deals?status=open").json()["results"]] == [
        str(other.pk)
    ]
    stage = Stage.objects.get(name="New", pipeline__is_default=True)
    assert len(client.get(f"/api/v1/deals?stage_id={stage.pk}").json()["results"]) == 2
    assert client.get("/api/v1/deals?stage_id=not-a-uuid").json()["results"] == []
    assert Deal.objects.count() == 2
