"""Companies: list (search, sort, paginate), detail, create/edit/delete, access."""

from __future__ import annotations

from django.urls import reverse

from throughline.crm import services
from throughline.crm.models import Activity, Company, Contact, CustomFieldDefinition
from throughline.crm.views.listing import PAGE_SIZE

LIST = reverse("crm:company_list")


def names(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def test_empty_state(client_as):
    assert "No companies yet." in client_as("viewer").get(LIST).text


def test_search_sort_and_paginate(client_as, make_company):
    make_company(name="Acme Widgets", website="https://www.acme.example")
    make_company(name="Globex", vat_id="GB123456789")
    make_company(name="Initech")
    client = client_as("owner")

    assert names(client.get(LIST)) == ["Acme Widgets", "Globex", "Initech"]
    assert names(client.get(LIST, {"sort": "-name"})) == ["Initech", "Globex", "Acme Widgets"]
    assert names(client.get(LIST, {"sort": "password"})) == ["Acme Widgets", "Globex", "Initech"]
    assert names(client.get(LIST, {"q": "acme.example"})) == ["Acme Widgets"]
    assert names(client.get(LIST, {"q": "gb1234"})) == ["Globex"]
    assert "No companies match." in client.get(LIST, {"q": "zzz"}).text

    for n in range(PAGE_SIZE):
        make_company(name=f"Bulk {n:02d}")
    second = client.get(LIST, {"page": 2})
    assert len(names(second)) == 3


def test_contact_counts_respect_own_records_only(
    client_as, make_company, make_contact, actor_for, sales_own_only
):
    acme = make_company(actor_for("sales"), name="Acme")
    make_contact(actor_for("sales"), first_name="Mine", company=acme)
    make_contact(actor_for("owner"), first_name="Theirs", company=acme)

    assert client_as("owner").get(LIST).context["page"][0].contact_count == 2
    sales_view = client_as("sales").get(LIST)
    assert sales_view.context["page"][0].contact_count == 1

    detail = client_as("sales").get(reverse("crm:company_detail", args=[acme.pk]))
    assert [c.first_name for c in detail.context["contacts"]] == ["Mine"]


def test_detail_shows_contacts_and_activities(client_as, make_company, make_contact, actor):
    acme = make_company(name="Acme", website="acme.example")
    ada = make_contact(first_name="Ada", last_name="Lovelace", company=acme)
    services.log_activity(actor, kind="meeting", contact=ada, subject="Kick-off")
    services.log_activity(actor, kind="note", company=acme, body="Pays late, chase early.")

    page = client_as("viewer").get(reverse("crm:company_detail", args=[acme.pk]))
    assert page.status_code == 200
    assert "Ada Lovelace" in page.text
    assert "Kick-off" in page.text
    assert "Pays late, chase early." in page.text
    assert reverse("crm:company_edit", args=[acme.pk]) not in page.text  # viewer


def test_create_edit_and_validation(client_as):
    CustomFieldDefinition.objects.create(
        entity="company", key="industry", label="Industry", kind="text"
    )
    client = client_as("sales")
    create = reverse("crm:company_create")

    missing = client.post(create, {"name": "  ", "country": "GBR"})
    assert "name" in missing.context["form"].errors
    assert Company.objects.count() == 0

    bad = client.post(create, {"name": "Acme", "country": "GBR"})
    assert "two-letter" in bad.context["form"].errors["country"][0]
    assert Company.objects.count() == 0

    hostile = client.post(create, {"name": "Acme", "website": "javascript:alert(1)"})
    assert "website" in hostile.context["form"].errors

    ok = client.post(
        create,
        {
            "name": "Acme",
            "website": "www.acme.example",
            "country": "gb",
            "custom_industry": "Rockets",
        },
    )
    acme = Company.objects.get()
    assert ok["Location"] == reverse("crm:company_detail", args=[acme.pk])
    assert (acme.domain, acme.country, acme.custom) == (
        "acme.example",
        "GB",
        {"industry": "Rockets"},
    )

    edit = reverse("crm:company_edit", args=[acme.pk])
    assert 'value="Rockets"' in client.get(edit).text
    client.post(edit, {"name": "Acme Corp", "website": "https://acme.example"})
    acme.refresh_from_db()
    assert acme.name == "Acme Corp"


def test_delete_warns_about_cascades_and_keeps_contacts(
    client_as, make_company, make_contact, actor
):
    acme = make_company(name="Acme")
    ada = make_contact(first_name="Ada", company=acme)
    kept = services.log_activity(actor, kind="note", contact=ada, body="Ada's history")
    services.log_activity(actor, kind="note", company=acme, body="About Acme only")
    url = reverse("crm:company_delete", args=[acme.pk])

    assert client_as("billing").post(url).status_code == 403
    confirm = client_as("owner").get(url)
    assert "1 contact will be kept" in confirm.text
    assert "1 activity" in confirm.text

    assert client_as("owner").post(url)["Location"] == LIST
    assert not Company.objects.exists()
    assert Contact.objects.get(pk=ada.pk).company is None
    # The person's history survives; what was filed only under the company is gone.
    assert list(Activity.objects.values_list("pk", flat=True)) == [kept.pk]


def test_other_users_company_is_404_for_limited_sales(
    client_as, make_company, actor_for, sales_own_only
):
    theirs = make_company(actor_for("owner"), name="Theirs")
    client = client_as("sales")
    assert names(client.get(LIST)) == []
    assert client.get(reverse("crm:company_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("crm:company_edit", args=[theirs.pk])).status_code == 404
