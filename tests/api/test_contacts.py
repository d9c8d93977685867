import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, DomainEvent, Organization
from throughline.crm import services
from throughline.crm.models import Contact, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int, int]:
    """Contacts, audit entries and events (tokens that the ``api`` fixture makes aside)."""
    audit = AuditEntry.objects.exclude(action="api_token.created")
    return Contact.objects.count(), audit.count(), DomainEvent.objects.count()


@pytest.fixture
def budget_field(db):
    return CustomFieldDefinition.objects.create(
        entity="contact", key="budget", label="Budget", kind="number"
    )


def test_create_contact_goes_through_the_service(api, owner, budget_field):
    # given
    company = services.create_company(Actor.cli(owner), name="Initech")
    # when
    response = api().post(
        "/api/v1/contacts",
        {
            "first_name": "ada",
            "last_name": "LOVELACE",
            "email": "Ada@Example.com",
            "phone": "020 7946 0958",
            "company_id": str(company.pk),
            "custom": {"budget": "1200.50"},
        },
        format="json",
        HTTP_X_REQUEST_ID="req42",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get(pk=body["id"])
    assert body["first_name"] == "Ada" and body["last_name"] == "Lovelace"
    assert body["email"] == "Ada@example.com"
    assert body["phone"] == "+442079460958"
    assert body["company_id"] == str(company.pk)
    assert body["custom"] == {"budget": "1200.50"}
    assert body["owner"] == "olivia@example.com"
    assert body["created_at"].endswith("Z")
    assert contact.owner == owner
    entry = AuditEntry.objects.get(action="contact.created", object_id=str(contact.pk))
    assert (entry.channel, entry.actor, entry.request_id) == ("api", owner, "req42")
    assert entry.ip == "127.0.0.1"
    event = DomainEvent.objects.get(name="contact.created", subject_id=str(contact.pk))
    assert event.channel == "api"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_name": "Ada", "email": "not-an-address"}, "email"),
        ({"first_name": "Ada", "phone": "12"}, "phone"),
        ({"first_name": "Ada", "custom": {"shoe_size": 42}}, "custom.shoe_size"),
        ({"first_name": "Ada", "custom": {"budget": "lots"}}, "custom.budget"),
        ({"first_name": "Ada", "company_id": "6f1c9a8e-0000-4000-8000-000000000000"}, "company_id"),
        ({"first_name": "Ada", "company_id": "nope"}, "company_id"),
        ({"first_name": "A" * 101}, "first_name"),
        ({"first_name": 12, "email": ["a@example.com"]}, "email"),
        ({}, "__all__"),
    ],
)
def test_invalid_contact_is_400_per_field_and_writes_nothing(api, budget_field, payload, field):
    before = written()

    response = api().post("/api/v1/contacts", payload, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert field in body["errors"], body
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    assert written() == before


def test_duplicate_email_is_a_field_error(api, owner):
    services.create_contact(Actor.cli(owner), first_name="Ada", email="ada@example.com")
    before = written()

    response = api().post(
        "/api/v1/contacts", {"first_name": "Other", "email": "ADA@example.com"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "email": ["Another contact already has this e-mail address."]
    }
    assert written() == before


def test_read_only_fields_are_ignored_on_create(api, users):
    response = api().post(
        "/api/v1/contacts",
        {"first_name": "Ada", "owner": "sam@example.com", "tags": ["vip"], "id": "x"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["owner"] == "olivia@example.com" and body["tags"] == []


def test_retrieve_update_and_delete(api, owner):
    contact = services.create_contact(Actor.cli(owner), first_name="Ada", email="ada@example.com")
    url = f"/api/v1/contacts/{contact.pk}"

    assert api().get(url).json()["email"] == "ada@example.com"

    response = api().patch(url, {"phone": "+44 20 7946 0958", "company_id": None}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == "+442079460958"
    assert response.json()["email"] == "ada@example.com"  # untouched
    update = AuditEntry.objects.get(action="contact.updated")
    assert update.changes == {"phone": ["", "+442079460958"]}
    assert update.channel == "api"

    assert api().delete(url).status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEntry.objects.filter(action="contact.deleted", channel="api").count() == 1
    assert api().get(url).status_code == 404


def test_invalid_update_changes_nothing(api, owner):
    contact = services.create_contact(Actor.cli(owner), first_name="Ada", email="ada@example.com")
    before = written()

    response = api().patch(
        f"/api/v1/contacts/{contact.pk}", {"first_name": "Grace", "email": "bad@"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["email"]
    contact.refresh_from_db()
    assert contact.first_name == "Ada"
    assert written() == before


def test_unknown_and_malformed_ids_are_404(api):
    assert api().get("/api/v1/contacts/6f1c9a8e-0000-4000-8000-000000000000").status_code == 404
    assert api().get("/api/v1/contacts/not-a-uuid").status_code == 404
    response = api().patch("/api/v1/contacts/not-a-uuid", {"first_name": "X"}, format="json")
    assert response.status_code == 404


def test_filters_search_owner_and_tag(api, users):
    olivia, sam = Actor.cli(users["owner"]), Actor.cli(users["sales"])
    ada = services.create_contact(olivia, first_name="Ada", last_name="Lovelace", tags=["vip"])
    grace = services.create_contact(sam, first_name="Grace", email="grace@navy.mil")
    services.create_contact(sam, first_name="Alan", last_name="Turing", tags=["lead"])

    def ids(query: str) -> set[str]:
        response = api().get(f"/api/v1/contacts?{query}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids("search=lovel") == {str(ada.pk)}
    assert ids("search=navy.mil") == {str(grace.pk)}
    assert ids("owner=olivia@example.com") == {str(ada.pk)}
    assert ids("owner=me") == {str(ada.pk)}
    assert ids("tag=vip") == {str(ada.pk)}
    assert ids("owner=sam@example.com&search=grace") == {str(grace.pk)}
    assert ids("owner=nobody@example.com") == set()


def test_cursor_pagination_walks_every_contact_once(api, owner):
    actor = Actor.cli(owner)
    created = {str(services.create_contact(actor, first_name=f"Person{n}").pk) for n in range(7)}

    seen: list[str] = []
    pages = 0
    url = "/api/v1/contacts?limit=3"
    while url:
        body = api().get(url).json()
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1

    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_invalid_cursor_is_a_404_problem(api):
    response = api().get("/api/v1/contacts?cursor=garbage")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.fixture
def own_records_only(org):
    Organization.objects.filter(pk=org.pk).update(sales_own_records_only=True)


def test_sales_see_and_change_only_their_own_contacts(api, users, own_records_only):
    theirs = services.create_contact(Actor.cli(users["owner"]), first_name="Ada")
    mine = services.create_contact(Actor.cli(users["sales"]), first_name="Grace")
    sales = api("sales")

    listed = {row["id"] for row in sales.get("/api/v1/contacts").json()["results"]}
    assert listed == {str(mine.pk)}
    assert sales.get(f"/api/v1/contacts/{mine.pk}").status_code == 200
    assert sales.get(f"/api/v1/contacts/{theirs.pk}").status_code == 404
    response = sales.patch(f"/api/v1/contacts/{theirs.pk}", {"first_name": "X"}, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.first_name == "Ada"
    # Other roles are not limited.
    listed = {row["id"] for row in api("delivery").get("/api/v1/contacts").json()["results"]}
    assert listed == {str(mine.pk), str(theirs.pk)}


def test_sales_cannot_link_a_company_they_do_not_see(api, users, own_records_only):
    company = services.create_company(Actor.cli(users["owner"]), name="Initech")
    response = api("sales").post(
        "/api/v1/contacts", {"first_name": "Ada", "company_id": str(company.pk)}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["company_id"]


def test_without_the_setting_sales_see_everyone(api, users):
    services.create_contact(Actor.cli(users["owner"]), first_name="Ada")
    assert len(api("sales").get("/api/v1/contacts").json()["results"]) == 1


@pytest.mark.parametrize("resource", ["contacts", "companies", "tasks"])
def test_list_queries_do_not_grow_with_rows(api, owner, resource):
    actor = Actor.cli(owner)

    def add(n: int) -> None:
        for i in range(n):
            company = services.create_company(actor, name=f"Co{i}", tags=["a", "b"])
            contact = services.create_contact(
                actor, first_name=f"P{i}", company=company, tags=["x"]
            )
            services.create_task(actor, title=f"T{i}", contact=contact)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api().get(f"/api/v1/{resource}").status_code == 200
        return len(captured)

    add(2)
    queries()  # warm up: the token's last_used_at is written once a minute
    few = queries()
    add(8)
    assert queries() == few
