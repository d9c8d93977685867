"""Contact list: search, filters, whitelisted sorting, pagination, empty states, htmx partial."""

from __future__ import annotations

import time_machine
from django.urls import reverse

from throughline.crm.views.listing import PAGE_SIZE

URL = reverse("crm:contact_list")


def names(response) -> list[str]:
    return [str(c) for c in response.context["page"].object_list]


def test_empty_state_invites_to_add_the_first_contact(client_as):
    response = client_as("owner").get(URL)
    assert response.status_code == 200
    assert "No contacts yet." in response.text
    assert reverse("crm:contact_create") in response.text


def test_search_by_name_email_phone_and_company(client_as, make_contact, make_company):
    acme = make_company(name="Acme Widgets")
    make_contact(first_name="Ada", last_name="Lovelace", email="ada@analytical.org")
    make_contact(first_name="Grace", last_name="Hopper", phone="020 7946 0958", company=acme)
    make_contact(first_name="Alan", last_name="Turing", email="alan@bletchley.uk")
    client = client_as("owner")

    assert names(client.get(URL, {"q": "ada lovelace"})) == ["Ada Lovelace"]
    assert names(client.get(URL, {"q": "BLETCHLEY"})) == ["Alan Turing"]
    assert names(client.get(URL, {"q": "acme"})) == ["Grace Hopper"]
    # The number as people type it finds the number as stored (+442079460958).
    assert names(client.get(URL, {"q": "020 7946 0958"})) == ["Grace Hopper"]
    assert names(client.get(URL, {"q": "7946"})) == ["Grace Hopper"]

    response = client.get(URL, {"q": "nobody-like-this"})
    assert names(response) == []
    assert "No contacts match." in response.text


def test_filters_by_tag_owner_and_company(client_as, make_contact, make_company, actor_for):
    acme = make_company(name="Acme")
    make_contact(first_name="Ada", last_name="A", tags=["vip", "speaker"], company=acme)
    make_contact(first_name="Bob", last_name="B", tags=["vip"])
    make_contact(actor_for("sales"), first_name="Cy", last_name="C")
    client = client_as("owner")

    assert names(client.get(URL, {"tag": "vip"})) == ["Ada A", "Bob B"]
    assert names(client.get(URL, {"tag": "speaker"})) == ["Ada A"]
    assert names(client.get(URL, {"company": str(acme.pk)})) == ["Ada A"]
    assert names(client.get(URL, {"owner": "me"})) == ["Ada A", "Bob B"]
    sales_id = str(actor_for("sales").user.pk)
    assert names(client.get(URL, {"owner": sales_id})) == ["Cy C"]
    assert names(client.get(URL, {"tag": "vip", "company": str(acme.pk)})) == ["Ada A"]
    # Garbage in a filter is ignored or matches nothing, never a server error.
    for junk in (
        {"company": "not-a-uuid"},
        {"owner": "x;drop"},
        {"owner": "²"},
        {"owner": "9" * 40},
    ):
        assert client.get(URL, junk).status_code == 200


def test_sorting_is_whitelisted(client_as, make_contact):
    with time_machine.travel("2025-01-01 10:00Z", tick=False):
        make_contact(first_name="Zed", last_name="Zulu")
    with time_machine.travel("2025-01-02 10:00Z", tick=False):
        make_contact(first_name="Amy", last_name="Alpha")
    with time_machine.travel("2025-01-03 10:00Z", tick=False):
        make_contact(first_name="Max", last_name="Mike")
    client = client_as("owner")

    assert names(client.get(URL)) == ["Amy Alpha", "Max Mike", "Zed Zulu"]
    assert names(client.get(URL, {"sort": "-name"})) == ["Zed Zulu", "Max Mike", "Amy Alpha"]
    assert names(client.get(URL, {"sort": "created"})) == ["Zed Zulu", "Amy Alpha", "Max Mike"]
    assert names(client.get(URL, {"sort": "-created"})) == ["Max Mike", "Amy Alpha", "Zed Zulu"]
    assert names(client.get(URL, {"sort": "-updated"}))[0] == "Max Mike"
    # Anything else (a field name, an injection attempt) falls back to the default.
    for bad in ("email_normalized", "owner__password", "-custom", "name;--"):
        response = client.get(URL, {"sort": bad})
        assert response.status_code == 200
        assert response.context["sort"] == "name"
        assert names(response) == ["Amy Alpha", "Max Mike", "Zed Zulu"]


def test_pagination_keeps_the_filters(client_as, make_contact):
    for n in range(PAGE_SIZE + 3):
        make_contact(first_name=f"Person{n:02d}", last_name="Paged", tags=["bulk"])
    make_contact(first_name="Other", last_name="Person")
    client = client_as("owner")

    first = client.get(URL, {"tag": "bulk"})
    assert first.context["page"].paginator.count == PAGE_SIZE + 3
    assert len(names(first)) == PAGE_SIZE
    assert "?tag=bulk&amp;page=2" in first.text

    second = client.get(URL, {"tag": "bulk", "page": 2})
    assert len(names(second)) == 3
    assert not set(names(first)) & set(names(second))
    # Out of range or junk page numbers land on a real page.
    assert client.get(URL, {"page": 999}).status_code == 200
    assert client.get(URL, {"page": "abc"}).status_code == 200


def test_htmx_search_answers_only_the_results(client_as, make_contact):
    make_contact(first_name="Ada", last_name="Lovelace")
    client = client_as("owner")

    partial = client.get(
        URL, {"q": "ada"}, headers={"HX-Request": "true", "HX-Target": "contact-results"}
    )
    assert partial.status_code == 200
    assert "Ada Lovelace" in partial.text
    assert "<html" not in partial.text
    assert "HX-Request" in partial["Vary"]

    # A history restore (cache miss on "back") needs the whole page.
    restore = client.get(
        URL,
        {"q": "ada"},
        headers={
            "HX-Request": "true",
            "HX-Target": "contact-results",
            "HX-History-Restore-Request": "true",
        },
    )
    assert "<html" in restore.text


def test_list_query_count_does_not_grow_with_rows(client_as, make_contact, make_company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as("owner")

    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"q": "p"})
        assert response.status_code == 200
        return len(captured)

    acme = make_company(name="Acme")
    for n in range(3):
        make_contact(first_name=f"P{n:02d}", company=acme, tags=["a", "b"])
    few = queries_for_a_page()
    for n in range(3, PAGE_SIZE):
        make_contact(first_name=f"P{n:02d}", company=make_company(name=f"C{n}"), tags=[f"t{n}"])
    assert queries_for_a_page() == few
