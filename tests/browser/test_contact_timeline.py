"""In a real browser: log in, create a contact, add a note, see it on the timeline."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from throughline.core.models import Organization, User
from throughline.core.roles import Role
from throughline.crm.models import Activity, Contact

PASSWORD = "a long and unguessable passphrase 7"


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + reverse("login"))
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.browser
def test_create_contact_then_add_a_note_to_its_timeline(live_server, transactional_db, page):
    Organization.current()
    user = User.objects.create_user(
        "casey@example.com", PASSWORD, role=Role.SALES, full_name="Casey Seller"
    )

    log_in(page, live_server.url, user.email, PASSWORD)

    # Create a contact through the UI.
    page.goto(live_server.url + reverse("crm:contact_list"))
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_role("button", name="Create contact").click()
    page.wait_for_url(re.compile(r"/crm/contacts/[0-9a-f-]{36}/$"))
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Ada Lovelace"
    contact = Contact.objects.get(email_normalized="ada@example.com")
    assert contact.owner == user

    # Add a note: htmx swaps the timeline in place, the page does not reload.
    page.evaluate("window.__sameDocument = true")
    note_form = page.get_by_role("form", name="Add note")
    note_form.get_by_role("textbox").fill("Met at the conference; wants a proposal by Friday.")
    note_form.get_by_role("button", name="Add note").click()
    timeline = page.locator("#timeline")
    timeline.get_by_text("Met at the conference; wants a proposal by Friday.").wait_for()
    assert page.evaluate("window.__sameDocument") is True
    assert page.get_by_role("status").filter(has_text="Note added.").count() == 1
    # The form is ready for the next note.
    assert page.get_by_role("form", name="Add note").get_by_role("textbox").input_value() == ""

    note = Activity.objects.get(contact=contact)
    assert (note.kind, note.author) == ("note", user)

    # And it is part of the record: there after a reload too, with who wrote it.
    page.reload()
    entry = page.locator("#timeline li").filter(has_text="wants a proposal by Friday")
    assert entry.count() == 1
    assert "Casey Seller" in entry.inner_text()
