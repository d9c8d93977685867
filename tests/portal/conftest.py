"""Portal fixtures: two clients, each with a kicked-off project (made through delivery's
services from real contracts, as on contract.signed), and their portal links."""

from __future__ import annotations

import pytest

from tests.delivery.fixtures import *  # noqa: F403 - fixtures shared with delivery
from tests.delivery.fixtures import accept_proposal, sign
from throughline.crm import services as crm_services
from throughline.delivery.models import Project
from throughline.portal import links


@pytest.fixture
def other_client(actor, sales_actor, users, run_jobs, project):
    company = crm_services.create_company(actor, name="Globex")
    hank = crm_services.create_contact(
        actor,
        first_name="Hank",
        last_name="Scorpio",
        email="hank@globex.example",
        company=company,
        owner=users["sales"],
    )
    proposal = accept_proposal(actor, sales_actor, hank, title="Globex doomsday device")
    sign(actor, proposal)
    run_jobs()
    return Project.objects.get(proposal=proposal)


@pytest.fixture
def link(project):
    return links.issue_link(project.contact)
