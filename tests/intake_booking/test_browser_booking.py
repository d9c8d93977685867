"""In a real browser: a visitor in New York opens the booking page, sees the slots in their own
time zone (the page asks the browser for it) and books one."""

from __future__ import annotations

import re
import zoneinfo

import pytest

from tests.browser.test_contact_timeline import PASSWORD
from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization, User
from throughline.core.roles import Role
from throughline.intake.booking import services
from throughline.intake.booking.availability import free_slots
from throughline.intake.booking.models import Meeting
from throughline.intake.models import Lead

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.browser
def test_a_visitor_books_a_slot_in_their_own_time_zone(live_server, transactional_db, chromium):
    Organization.current()
    host = User.objects.create_user(
        "casey@example.com", PASSWORD, role=Role.SALES, full_name="Casey Seller"
    )
    availability = services.save_availability(
        Actor(user=host, channel=Channel.UI),
        host,
        slug="casey",
        time_zone="Europe/Berlin",
        weekly_hours={str(d): ["07:00", "19:00"] for d in range(1, 8)},
        min_notice_minutes=60,
        max_per_day=0,
        horizon_days=7,
    )
    slot = free_slots(availability)[2]
    local = slot.starts_at.astimezone(NEW_YORK)

    context = chromium.new_context(
        timezone_id="America/New_York", viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/b/casey")
        # our script sends the browser's zone along, so the slots come in New York time
        page.wait_for_url(re.compile(r"tz=America(%2F|/)New_York"))
        assert page.locator("select#tz").input_value() == "America/New_York"
        page.get_by_role("heading", level=1).get_by_text("Casey Seller").wait_for()
        choice = page.locator(f'input[name="slot"][value="{slot.key}"]')
        label = page.locator("label.slot", has=choice)
        assert label.inner_text().strip() == local.strftime("%H:%M")
        choice.check()
        page.get_by_label("Your name").fill("Hedy Lamarr")
        page.get_by_label("E-mail").fill("hedy@frequency.example")
        page.get_by_label("What would you like to talk about?").fill("A demo <b>please</b>")
        page.get_by_role("button", name="Book").click()
        status = page.get_by_role("status")
        status.get_by_text("You're booked").wait_for()
        assert f"{local:%H:%M} (America/New_York" in status.inner_text()
    finally:
        context.close()

    meeting = Meeting.objects.get()
    assert meeting.starts_at == slot.starts_at
    assert meeting.attendee_time_zone == "America/New_York"
    assert meeting.message == "A demo <b>please</b>"
    assert Lead.objects.get().owner == host
