import pytest

from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, Organization
from throughline.crm import services
from throughline.crm.models import Company

pytestmark = pytest.mark.django_db


def test_company_crud(api, owner):
    response = api().post(
        "/api/v1/companies",
        {"name": "  Initech   Ltd ", "website": "https://www.initech.example/", "country": "gb"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Initech Ltd"
    assert body["domain"] == "initech.example"
    assert body["country"] == "GB"
    assert body["owner"] == "olivia@example.com"
    url = f"/api/v1/companies/{body['id']}"

    response = api().patch(url, {"phone": "020 7946 0958"}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == "+442079460958"
    assert api().get(url).json()["name"] == "Initech Ltd"

    assert api().delete(url).status_code == 204
    assert not Company.objects.exists()
    actions = list(
        AuditEntry.objects.filter(object_type="crm.company")
        .order_by("seq")
        .values_list("action", "channel")
    )
    assert actions == [
        ("company.created", "api"),
        ("company.updated", "api"),
        ("company.deleted", "api"),
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Initech", "phone": "000"}, "phone"),
        ({"name": "Initech", "country": "GBR"}, "country"),
        ({"name": "Initech", "custom": {"nope": 1}}, "custom.nope"),
    ],
)
def test_invalid_company_is_400_and_writes_nothing(api, payload, field):
    client = api()
    audit_before = AuditEntry.objects.count()

    response = client.post("/api/v1/companies", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Company.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_companies_search_and_sales_scope(api, users, org):
    services.create_company(Actor.cli(users["owner"]), name="Initech", website="initech.example")
    mine = services.create_company(Actor.cli(users["sales"]), name="Globex")

    results = api().get("/api/v1/companies?search=initech").json()["results"]
    assert [row["name"] for row in results] == ["Initech"]

    Organization.objects.filter(pk=org.pk).update(sales_own_records_only=True)
    results = api("sales").get("/api/v1/companies").json()["results"]
    assert [row["id"] for row in results] == [str(mine.pk)]
