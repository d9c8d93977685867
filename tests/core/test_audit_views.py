"""Reading the audit log: filters, keyset pages, one record's history."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.core.roles import Role
from throughline.crm import services as crm


@pytest.fixture
def admin_client(client, users):
    client.force_login(users[Role.ADMIN])
    return client


def seqs(response) -> list[int]:
    return [e.seq for e in response.context["page"].entries]


def test_log_lists_newest_first_with_changes(admin_client, actor):
    contact = crm.create_contact(actor, first_name="Ada", email="ada@example.com")
    crm.update_contact(actor, contact, first_name="Augusta")
    response = admin_client.get(reverse("core:audit_log"))
    html = response.content.decode()
    assert response.status_code == 200
    assert seqs(response) == sorted(seqs(response), reverse=True)
    assert "contact.updated" in html and "Augusta" in html
    assert reverse("core:audit_for_object", args=["crm.contact", contact.pk]) in html


def test_filters_by_actor_type_action_channel_and_object(admin_client, users, actor):
    sam = Actor(user=users[Role.SALES], channel=Channel.API)
    mine = crm.create_contact(sam, first_name="Sam's")
    crm.create_contact(actor, first_name="Olivia's")
    crm.create_company(actor, name="Acme")

    def get(**params):
        return admin_client.get(reverse("core:audit_log"), params)

    by_actor = get(actor=users[Role.SALES].pk)
    assert {e.actor_id for e in by_actor.context["page"].entries} == {users[Role.SALES].pk}
    assert {e.object_type for e in get(object_type="crm.company").context["page"].entries} == {
        "crm.company"
    }
    assert {e.action for e in get(action="contact.").context["page"].entries} == {"contact.created"}
    assert {e.channel for e in get(channel="api").context["page"].entries} == {"api"}
    only = get(object_id=str(mine.pk)).context["page"].entries
    assert [e.object_id for e in only] == [str(mine.pk)]
    empty = get(action="nothing.like.this")
    assert empty.context["page"].entries == [] and "No entries match" in empty.content.decode()


def test_date_range_is_in_the_organizations_time_zone(admin_client, org, actor):
    org.time_zone = "Pacific/Auckland"  # UTC+13 in January
    org.save()
    # 2025-01-10 20:00 UTC is already 2025-01-11 in Auckland
    with time_machine.travel(dt.datetime(2025, 1, 10, 20, 0, tzinfo=dt.UTC), tick=False):
        late = audit_log.record(actor, "test.late", object_type="x", object_id="1")
    with time_machine.travel(dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        early = audit_log.record(actor, "test.early", object_type="x", object_id="2")
    response = admin_client.get(
        reverse("core:audit_log"), {"date_from": "2025-01-11", "date_to": "2025-01-11"}
    )
    assert seqs(response) == [late.seq]
    response = admin_client.get(reverse("core:audit_log"), {"date_to": "2025-01-10"})
    assert seqs(response) == [early.seq]


def test_keyset_pages_cover_everything_once(admin_client, actor):
    for n in range(120):
        audit_log.record(actor, "test.bulk", object_type="x", object_id=str(n))
    seen: list[int] = []
    response = admin_client.get(reverse("core:audit_log"), {"action": "test."})
    while True:
        seen += seqs(response)
        older = response.context["page"].older_query
        if not older:
            break
        assert "action=test." in older  # filters survive paging
        response = admin_client.get(reverse("core:audit_log") + "?" + older)
    assert len(seen) == 120 and len(set(seen)) == 120
    assert seen == sorted(seen, reverse=True)
    # and back towards the newest
    newer = response.context["page"].newer_query
    back = admin_client.get(reverse("core:audit_log") + "?" + newer)
    assert seqs(back) == seen[50:100]


def test_htmx_filter_returns_only_the_results(admin_client, actor):
    crm.create_contact(actor, first_name="Ada")
    response = admin_client.get(
        reverse("core:audit_log"), {"action": "contact."}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="audit-results"')
    assert "<html" not in html


def test_history_of_one_record(admin_client, actor):
    contact = crm.create_contact(actor, first_name="Ada")
    crm.update_contact(actor, contact, first_name="Augusta")
    crm.create_contact(actor, first_name="Other")
    response = admin_client.get(reverse("core:audit_for_object", args=["crm.contact", contact.pk]))
    entries = response.context["page"].entries
    assert [e.action for e in entries] == ["contact.updated", "contact.created"]
    html = response.content.decode()
    assert 'class="timeline"' in html and "Augusta" in html


def test_history_of_a_record_without_entries_says_so(admin_client):
    response = admin_client.get(reverse("core:audit_for_object", args=["crm.contact", "nope"]))
    assert response.status_code == 200 and "No history" in response.content.decode()


def test_audit_log_is_for_owners_and_admins(client, users):
    for role in (Role.SALES, Role.DELIVERY, Role.BILLING, Role.VIEWER):
        client.force_login(users[role])
        assert client.get(reverse("core:audit_log")).status_code == 403
        assert (
            client.get(reverse("core:audit_for_object", args=["core.user", "1"])).status_code == 403
        )
