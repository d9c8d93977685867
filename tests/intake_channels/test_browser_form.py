"""In a real browser: a visitor sends the public form; staff see the lead in the inbox."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from tests.browser.test_contact_timeline import PASSWORD, log_in
from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization, User
from throughline.core.roles import Role
from throughline.intake.channels import builder
from throughline.intake.models import Lead


@pytest.mark.browser
def test_visitor_sends_the_form_and_staff_see_the_lead(live_server, transactional_db, page):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    Organization.current()
    user = User.objects.create_user(
        "casey@example.com", PASSWORD, role=Role.OWNER, full_name="Casey Owner"
    )
    builder.create_form(
        Actor(user=user, channel=Channel.UI),
        slug="contact-us",
        name="Contact us",
        title="Get in touch",
        min_fill_seconds=1,
    )

    # A visitor fills in the public form (no login).
    page.goto(live_server.url + reverse("intake_channels:form_page", args=["contact-us"]))
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Get in touch"
    page.get_by_label("Your name").fill("Hedy Lamarr")
    page.get_by_label("E-mail").fill("hedy@frequency.example")
    page.get_by_label("Company").fill("Frequency Hopping Ltd")
    page.get_by_label("How can we help?").fill("We would like a demo <b>next week</b>.")
    page.wait_for_timeout(1200)  # a person takes longer than the minimum fill time
    page.get_by_role("button", name="Send").click()
    page.get_by_role("status").get_by_text("Thank you").first.wait_for()
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email) == ("Hedy", "hedy@frequency.example")

    # Staff see it in the lead inbox.
    log_in(page, live_server.url, user.email, PASSWORD)
    page.goto(live_server.url + reverse("intake:inbox"))
    page.get_by_text("Hedy Lamarr").first.wait_for()
    page.get_by_text("Hedy Lamarr").first.click()
    page.get_by_text("We would like a demo <b>next week</b>.").first.wait_for()
