# ruff: noqa: F811 - signing's fixtures are imported and then requested by name
"""The whole way: a contract signed through signing's real ceremony (codes from the SMTP
server, consent, signature, sealing) kicks off the project and welcomes the client — delivery
reacting to the real ``contract.signed``."""

from __future__ import annotations

import pytest

from tests.signing.conftest import (  # noqa: F401 - signing's fixtures, used by name
    accepted_proposal,
    client_company,
    contract,
    contract_template,
    joanna,
    media,
    peter,
    sales_actor,
    seal_certificate,
    seal_material,
    sign_everyone,
    signer_browser,
    two_party,
)
from throughline.crm.models import Task
from throughline.delivery.models import Project
from throughline.delivery.services import templates as project_templates
from throughline.messaging.models import OutboundMessage
from throughline.signing.services import contracts

from .fixtures import TEMPLATE_CONTENT

pytestmark = pytest.mark.django_db


def test_real_signature_kicks_off_the_project(
    two_party, seal_certificate, signer_browser, smtp_server, run_jobs, sales_actor, actor, users
):
    template = project_templates.create_template(
        actor, name="Consulting delivery", content=TEMPLATE_CONTENT
    )
    project_templates.choose_for_proposal(actor, two_party.proposal, template)
    request = contracts.send_contract(sales_actor, two_party)
    sign_everyone(request, signer_browser, run_jobs)
    two_party.refresh_from_db()
    assert two_party.status == "signed"

    project = Project.objects.get(contract=two_party)
    assert project.contact.email == "peter@initech.example"
    assert project.brief["contract"]["number"] == two_party.number
    assert project.brief["in_scope"] == ["Discovery workshop"]
    assert [m.title for m in project.milestones.all()] == ["Go-live"]
    assert "Peter Gibbons" in [c["name"] for c in project.brief["contacts"]]
    tasks = Task.objects.filter(source=f"delivery.project:{project.pk}")
    assert {t.owner for t in tasks} == {users["delivery"], users["billing"], project.owner}
    welcome = OutboundMessage.objects.get(template_key="delivery-welcome")
    assert welcome.to_email == "peter@initech.example" and welcome.status == "sent"
