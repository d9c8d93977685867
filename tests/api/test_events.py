import pytest

from throughline.core.actor import Actor
from throughline.core.models import DomainEvent
from throughline.crm import services

pytestmark = pytest.mark.django_db


def test_event_feed_pages_by_after(api, owner):
    actor = Actor.cli(owner)
    contacts = [services.create_contact(actor, first_name=f"P{n}") for n in range(5)]
    events = list(DomainEvent.objects.order_by("id"))
    assert len(events) == 5

    first = api().get("/api/v1/events?limit=2").json()
    assert [e["subject_id"] for e in first["results"]] == [str(c.pk) for c in contacts[:2]]
    assert first["results"][0] == {
        "id": str(events[0].id),
        "name": "contact.created",
        "subject_type": "crm.contact",
        "subject_id": str(contacts[0].pk),
        "payload": {},
        "occurred_at": events[0].occurred_at.isoformat().replace("+00:00", "Z"),
    }

    seen = [e["id"] for e in first["results"]]
    url = first["next"]
    while url:
        page = api().get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert seen == [str(e.id) for e in events]

    # Polling after the last id: nothing new, no next.
    tail = api().get(f"/api/v1/events?after={seen[-1]}").json()
    assert tail == {"results": [], "next": None}
    services.create_contact(actor, first_name="New")
    tail = api().get(f"/api/v1/events?after={seen[-1]}").json()
    assert [e["name"] for e in tail["results"]] == ["contact.created"]


@pytest.mark.parametrize("query", ["after=abc", "limit=0", "limit=x"])
def test_bad_feed_parameters_are_400(api, query):
    response = api().get(f"/api/v1/events?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
