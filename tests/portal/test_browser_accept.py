"""A client accepts a delivered milestone from their phone (390×844), in a real browser
(Debian's Chromium through Playwright), starting from the portal link."""

from __future__ import annotations

import pytest

from throughline.delivery.models import Milestone
from throughline.delivery.services import milestones
from throughline.portal import links

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def test_client_accepts_a_milestone_on_a_phone(phone, live_server, project, delivery_actor):
    milestone = project.milestones.first()
    milestones.start(delivery_actor, milestone)
    milestones.submit_for_qa(delivery_actor, milestone)
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(delivery_actor, item)
    milestones.deliver(delivery_actor, milestone)
    home = live_server.url + f"/c/{links.issue_link(project.contact)}/"

    phone.goto(home)
    assert phone.get_by_role("heading", name="Hello Peter").is_visible()
    # one column that fits the phone: nothing wider than the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("link", name="Discovery").first.tap()
    phone.get_by_role("heading", name="Discovery").wait_for()
    button = phone.get_by_role("button", name="Accept milestone")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= 390  # a thumb-sized target
    phone.get_by_label("Comment").fill("Looks good, thank you!")
    button.tap()
    phone.get_by_text("is accepted").wait_for()
    assert phone.get_by_text("Accepted by Peter Gibbons on").is_visible()

    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.ACCEPTED
    assert milestone.reviews.get().comment == "Looks good, thank you!"
