"""REST API v1 ``contracts``: create from an accepted proposal, send, read, PDF, void —
every response checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from throughline.signing.models import Contract

pytestmark = pytest.mark.django_db


def unchecked(client):
    """The same credentials without the JSON schema check (for PDF bodies)."""
    from rest_framework.test import APIClient

    plain = APIClient()
    plain.credentials(**client._credentials)
    return plain


def test_create_send_read_pdf_void(
    api, accepted_proposal, contract_template, seal_certificate, media, run_jobs, smtp_server
):
    owner = api("owner")
    response = owner.post(
        "/api/v1/contracts",
        {
            "proposal_id": str(accepted_proposal.pk),
            "document_kind": "contract",
            "template_id": str(contract_template.pk),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["document_kind"] == "contract"
    assert body["proposal_version"] == accepted_proposal.accepted_version.number
    contract_id = body["id"]

    draft_pdf = unchecked(owner).get(f"/api/v1/contracts/{contract_id}/pdf")
    assert draft_pdf.status_code == 200 and draft_pdf.content.startswith(b"%PDF")

    sent = owner.post(
        f"/api/v1/contracts/{contract_id}/send", {"expires_in_days": 14}, format="json"
    )
    assert sent.status_code == 200, sent.json()
    data = sent.json()
    assert data["status"] == "sent" and len(data["document_sha256"]) == 64
    assert [s["status"] for s in data["signers"]] == ["invited", "waiting"]
    assert set(data["signers"][0]) == {
        "id",
        "order",
        "role",
        "name",
        "email",
        "status",
        "invited_at",
        "first_viewed_at",
        "signed_at",
        "declined_at",
        "decline_reason",
    }

    listed = owner.get("/api/v1/contracts?status=sent").json()
    assert [c["id"] for c in listed["results"]] == [contract_id]

    # a second contract for the same proposal is refused while this one lives
    again = owner.post(
        "/api/v1/contracts",
        {"proposal_id": str(accepted_proposal.pk), "document_kind": "proposal"},
        format="json",
    )
    assert again.status_code == 400 and "proposal_id" in again.json()["errors"]

    voided = owner.post(f"/api/v1/contracts/{contract_id}/void", {"reason": "Typo"}, format="json")
    assert voided.status_code == 200 and voided.json()["status"] == "voided"


def test_roles(api, accepted_proposal, contract_template, media):
    viewer = api("viewer")
    assert viewer.get("/api/v1/contracts").status_code == 200
    refused = viewer.post(
        "/api/v1/contracts", {"proposal_id": str(accepted_proposal.pk)}, format="json"
    )
    assert refused.status_code == 403
    sales = api("sales")
    made = sales.post(
        "/api/v1/contracts",
        {"proposal_id": str(accepted_proposal.pk), "document_kind": "proposal"},
        format="json",
    )
    assert made.status_code == 201
    assert Contract.objects.get(pk=made.json()["id"]).kind == "proposal"


def test_unaccepted_proposal_and_unapproved_template_are_refused(
    api, accepted_proposal, actor, media
):
    from throughline.signing.services import templates

    draft_only = templates.create_template(
        actor, name="Unapproved", clauses=[{"title": "A", "body": "<p>x</p>"}]
    )
    response = api("owner").post(
        "/api/v1/contracts",
        {
            "proposal_id": str(accepted_proposal.pk),
            "document_kind": "contract",
            "template_id": str(draft_only.pk),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "no approved version" in str(response.json()["errors"]["template_id"])
