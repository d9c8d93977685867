"""In a real browser: the client opens the link, comments, the team revises, the client accepts
the new version. And the deal board works by drag-and-drop and by keyboard.

Playwright (sync API) drives Debian's /usr/bin/chromium (no ``playwright install``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from throughline.messaging.models import OutboundMessage
from throughline.sales.models import Deal, Pipeline, Proposal, ProposalAcceptance, ProposalComment
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services

browser_db = pytest.mark.django_db(transaction=True)


def new_page(chromium, request, name: str):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    request.addfinalizer(lambda: _close(context, page, request, name))
    return page


def _close(context, page, request, name):
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        artifacts = Path(request.config.rootpath) / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{request.node.nodeid}-{name}")
        page.screenshot(path=str(artifacts / f"{stem}.png"), full_page=True)
    context.close()


def log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + reverse("login"))
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login/" not in url)


def ensure_pipeline(actor):
    if not Pipeline.objects.exists():  # a transactional test before us may have flushed it
        pipeline_services.create_pipeline(
            actor,
            name="Sales",
            stages=[
                {"name": "New", "probability": 10, "stall_after_days": 7},
                {"name": "Qualified", "probability": 25},
                {"name": "Proposal sent", "probability": 50},
                {"name": "Negotiation", "probability": 75},
            ],
        )


@pytest.mark.browser
@browser_db
def test_client_comments_team_revises_client_accepts_the_new_version(
    live_server,
    chromium,
    request,
    actor,
    sales_actor,
    users,
    approved_template,
    client_contact,
    policy,
):
    ensure_pipeline(actor)
    deal = pipeline_services.create_deal(
        sales_actor, title="Initech analytics rollout", contact=client_contact, currency="GBP"
    )
    proposal = proposal_services.create_proposal(sales_actor, deal, approved_template)
    proposal_services.send_proposal(sales_actor, proposal)
    mail = OutboundMessage.objects.get(to_email="peter@initech.example")
    link = re.search(r"http://[^/]+(/c/\S+/proposal)", mail.body_text).group(1)

    # 1. The client opens the link and asks for a change.
    client = new_page(chromium, request, "client")
    client.goto(live_server.url + link)
    client.get_by_role("heading", name=proposal.title, exact=True).wait_for()
    assert "£4,558.73" in client.locator("[data-total]").inner_text()
    thread = client.get_by_role("form", name="Add a comment")
    thread.get_by_label("Comment").fill("Could you drop the licences <b>please</b>?")
    thread.get_by_label("I would like changes").check()
    thread.get_by_role("button", name="Send comment").click()
    client.get_by_role("status").filter(has_text="we will prepare a new version").wait_for()
    client.locator("#thread").get_by_text("Could you drop the licences <b>please</b>?").wait_for()
    comment = ProposalComment.objects.get()
    assert comment.requests_change and comment.is_client

    # 2. The team revises from the request, removes the licences and sends version 2.
    team = new_page(chromium, request, "team")
    log_in(team, live_server.url, users["sales"].email)
    team.goto(live_server.url + reverse("sales:proposal_detail", args=[proposal.pk]))
    team.get_by_role("button", name="Start a new version from this request").click()
    team.get_by_role("heading", name=re.compile(r"Version 2")).wait_for()
    team.get_by_label("Remove line 2").check()
    # Live totals: the server recomputes as the form changes.
    team.locator("#live-totals").filter(has_text="£3,420.00").wait_for()
    team.get_by_role("button", name="Save draft").click()
    team.get_by_role("status").filter(has_text="Draft saved").wait_for()
    team.get_by_role("button", name=re.compile(r"Send version 2")).click()
    team.get_by_role("status").filter(has_text="Version 2 sent").wait_for()
    versions = {v.number: v.status for v in Proposal.objects.get(pk=proposal.pk).versions.all()}
    assert versions == {1: "superseded", 2: "sent"}

    # 3. The client reloads the same link: version 2, with what changed, and accepts it.
    client.reload()
    client.get_by_text("What changed since version 1").wait_for()
    assert "Analytics licence" in client.locator(".portal-changes").inner_text()
    assert "£3,420.00" in client.locator("[data-total]").inner_text()
    client.get_by_label("Team training").check()  # the optional extra: totals follow
    client.locator("[data-total]").filter(has_text="£3,820.00").wait_for()
    accept = client.get_by_role("form", name="Accept this proposal")
    assert accept.get_by_label("Your full name").input_value() == "Peter Gibbons"
    accept.get_by_label("I accept this proposal, its scope and its terms").check()
    accept.get_by_role("button", name="Accept version 2").click()
    client.get_by_role("status").filter(has_text="the proposal is accepted").wait_for()
    client.get_by_text("Accepted by").wait_for()

    acceptance = ProposalAcceptance.objects.get()
    assert acceptance.version.number == 2
    assert acceptance.selected_options == ["training"]
    assert str(acceptance.gross_total).startswith("3820.00")
    assert Proposal.objects.get(pk=proposal.pk).status == "accepted"


@pytest.mark.browser
@browser_db
def test_the_board_moves_deals_by_drag_and_drop_and_by_keyboard(
    live_server, chromium, request, actor, sales_actor, users, client_contact
):
    ensure_pipeline(actor)
    deal = pipeline_services.create_deal(
        sales_actor, title="Board deal", contact=client_contact, currency="GBP", value="1000"
    )
    page = new_page(chromium, request, "board")
    log_in(page, live_server.url, users["sales"].email)
    page.goto(live_server.url + reverse("sales:deal_board"))
    card = page.locator(f'[data-deal="{deal.pk}"]')
    target = page.locator(".board-column").filter(
        has=page.get_by_role("heading", name=re.compile("^Qualified"))
    )
    card.drag_to(target)
    target.locator(f'[data-deal="{deal.pk}"]').wait_for()
    page.get_by_role("status").filter(has_text="moved to Qualified").wait_for()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualified"

    # Keyboard only: focus the card's stage menu, pick a stage, press the Move button.
    menu = page.get_by_label("Stage for Board deal")
    menu.focus()
    menu.select_option(label="Negotiation")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="moved to Negotiation").wait_for()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Negotiation"
