import datetime as dt

import pytest

from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, DomainEvent, Organization
from throughline.crm import services
from throughline.crm.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(owner):
    company = services.create_company(Actor.cli(owner), name="Initech")
    return services.create_contact(Actor.cli(owner), first_name="Peter", company=company)


def test_create_task_for_a_contact(api, users, contact):
    response = api().post(
        "/api/v1/tasks",
        {
            "title": "Call Peter",
            "contact_id": str(contact.pk),
            "owner": "SAM@example.com",
            "due_at": "2030-03-31T09:00:00+02:00",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["owner"] == "sam@example.com"
    assert body["company_id"] == str(contact.company_id)  # taken from the contact
    assert body["due_at"] == "2030-03-31T07:00:00Z"
    assert body["done"] is False and body["done_at"] is None
    task = Task.objects.get(pk=body["id"])
    assert task.owner == users["sales"]
    assert task.due_at == dt.datetime(2030, 3, 31, 7, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "Call", "due_at": "2030-03-31T09:00:00"}, "due_at"),
        ({"title": "Call", "due_at": "tomorrow"}, "due_at"),
        ({"title": "Call", "owner": "nobody@example.com"}, "owner"),
        ({"title": "Call", "contact_id": "6f1c9a8e-0000-4000-8000-000000000000"}, "contact_id"),
    ],
)
def test_invalid_task_is_400_and_writes_nothing(api, payload, field):
    client = api()
    audit_before = AuditEntry.objects.count()

    response = client.post("/api/v1/tasks", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Task.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_complete_and_reopen(api, owner, contact):
    task = services.create_task(Actor.cli(owner), title="Call Peter", contact=contact)
    url = f"/api/v1/tasks/{task.pk}"

    response = api().post(f"{url}/complete")
    assert response.status_code == 200
    assert response.json()["done"] is True
    assert response.json()["done_at"].endswith("Z")
    assert DomainEvent.objects.filter(name="task.completed", channel="api").count() == 1
    # Completing again changes nothing.
    assert api().post(f"{url}/complete").json()["done_at"] == response.json()["done_at"]
    assert DomainEvent.objects.filter(name="task.completed").count() == 1

    response = api().patch(url, {"done": False, "title": "Call Peter again"}, format="json")
    assert response.status_code == 200
    assert response.json()["done"] is False
    assert response.json()["title"] == "Call Peter again"
    assert AuditEntry.objects.filter(action="task.reopened", channel="api").count() == 1


def test_create_done_is_one_change(api):
    response = api().post("/api/v1/tasks", {"title": "Already done", "done": True}, format="json")
    assert response.status_code == 201
    assert response.json()["done"] is True
    assert AuditEntry.objects.filter(action__in=["task.created", "task.completed"]).count() == 2


def test_task_filters(api, users, contact):
    olivia, sam = Actor.cli(users["owner"]), Actor.cli(users["sales"])
    open_task = services.create_task(olivia, title="Send proposal")
    done_task = services.complete_task(olivia, services.create_task(olivia, title="Call"))
    sams = services.create_task(sam, title="Call back")

    def ids(query: str) -> set[str]:
        return {row["id"] for row in api().get(f"/api/v1/tasks?{query}").json()["results"]}

    assert ids("done=false") == {str(open_task.pk), str(sams.pk)}
    assert ids("done=true") == {str(done_task.pk)}
    assert ids("owner=me&search=call") == {str(done_task.pk)}
    assert ids("owner=sam@example.com") == {str(sams.pk)}


def test_sales_see_tasks_they_own_or_on_their_contacts(api, users, org):
    olivia, sam = Actor.cli(users["owner"]), Actor.cli(users["sales"])
    sams_contact = services.create_contact(sam, first_name="Grace")
    on_their_contact = services.create_task(olivia, title="Review", contact=sams_contact)
    theirs = services.create_task(sam, title="Call")
    hidden = services.create_task(olivia, title="Private")
    Organization.objects.filter(pk=org.pk).update(sales_own_records_only=True)

    listed = {row["id"] for row in api("sales").get("/api/v1/tasks").json()["results"]}

    assert listed == {str(on_their_contact.pk), str(theirs.pk)}
    assert api("sales").post(f"/api/v1/tasks/{hidden.pk}/complete").status_code == 404
    hidden.refresh_from_db()
    assert hidden.done_at is None
