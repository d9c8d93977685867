"""Tasks: the four lists, creating one (alone or from a contact), the done/reopen toggle."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from throughline.crm import services
from throughline.crm.models import Task

LIST = reverse("crm:task_list")


def titles(response) -> list[str]:
    return [t.title for t in response.context["page"].object_list]


def test_mine_all_overdue_done(client_as, actor, actor_for, users):
    now = timezone.now()
    services.create_task(actor, title="Mine later", due_at=now + dt.timedelta(days=2))
    services.create_task(actor, title="Mine overdue", due_at=now - dt.timedelta(days=1))
    services.create_task(actor, title="Mine undated")
    services.create_task(actor_for("sales"), title="Sam's task")
    finished = services.create_task(actor, title="Finished")
    services.complete_task(actor, finished)
    client = client_as("owner")

    assert titles(client.get(LIST)) == ["Mine overdue", "Mine later", "Mine undated"]
    assert titles(client.get(LIST, {"show": "mine"})) == titles(client.get(LIST))
    assert set(titles(client.get(LIST, {"show": "all"}))) == {
        "Mine overdue",
        "Mine later",
        "Mine undated",
        "Sam's task",
    }
    overdue = client.get(LIST, {"show": "overdue"})
    assert titles(overdue) == ["Mine overdue"]
    assert "Overdue" in overdue.text
    assert titles(client.get(LIST, {"show": "done"})) == ["Finished"]
    assert titles(client.get(LIST, {"show": "bogus"})) == titles(client.get(LIST))
    counts = {tab["key"]: tab["count"] for tab in client.get(LIST).context["tabs"]}
    assert counts == {"mine": 3, "all": 4, "overdue": 1, "done": 1}


def test_empty_states(client_as):
    client = client_as("owner")
    assert "Nothing on your list." in client.get(LIST).text
    assert "Nothing overdue." in client.get(LIST, {"show": "overdue"}).text


def test_create_task_standalone_and_for_a_contact(client_as, make_contact, users):
    client = client_as("sales")
    create = reverse("crm:task_create")

    assert "title" in client.post(create, {"title": ""}).context["form"].errors
    assert not Task.objects.exists()

    response = client.post(
        create, {"title": "Call back", "due_at": "2030-01-02T09:00", "owner": users["delivery"].pk}
    )
    assert response["Location"] == LIST
    task = Task.objects.get()
    assert task.owner == users["delivery"]
    assert task.due_at == dt.datetime(2030, 1, 2, 9, 0, tzinfo=dt.UTC)

    contact = make_contact(first_name="Ada")
    detail = reverse("crm:contact_detail", args=[contact.pk])
    response = client.post(
        create, {"title": "Send deck", "contact": str(contact.pk), "next": detail}
    )
    assert response["Location"] == detail
    assert Task.objects.get(title="Send deck").contact == contact
    assert "Send deck" in client.get(detail).text

    # next must stay on this site.
    response = client.post(create, {"title": "X", "next": "https://evil.example/"})
    assert response["Location"] == LIST


def test_create_task_for_a_hidden_contact_is_404(
    client_as, make_contact, actor_for, sales_own_only
):
    theirs = make_contact(actor_for("owner"), first_name="Theirs")
    response = client_as("sales").post(
        reverse("crm:task_create"), {"title": "Peek", "contact": str(theirs.pk)}
    )
    assert response.status_code == 404
    assert not Task.objects.exists()


def test_toggle_done_and_reopen_with_htmx(client_as, actor):
    task = services.create_task(actor, title="Send proposal")
    client = client_as("owner")
    url = reverse("crm:task_toggle", args=[task.pk])
    htmx = {"HX-Request": "true", "HX-Current-URL": "http://testserver/crm/tasks/?show=all"}

    done = client.post(url, {"done": "1"}, headers=htmx)
    assert done.status_code == 200
    assert done.text.strip().startswith(f'<tr id="task-{task.pk}"')
    assert "task-done" in done.text and "Reopen" in done.text
    task.refresh_from_db()
    assert task.is_done

    # Replaying the same click changes nothing.
    client.post(url, {"done": "1"}, headers=htmx)
    task.refresh_from_db()
    assert task.is_done

    reopened = client.post(url, {"done": "0"}, headers=htmx)
    assert "Mark done" in reopened.text
    task.refresh_from_db()
    assert not task.is_done


def test_toggle_without_javascript_redirects_back(client_as, actor):
    task = services.create_task(actor, title="Send proposal")
    response = client_as("owner").post(
        reverse("crm:task_toggle", args=[task.pk]), {"done": "1", "next": "/crm/tasks/?show=done"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/crm/tasks/?show=done"
    task.refresh_from_db()
    assert task.is_done


def test_viewer_sees_tasks_but_cannot_toggle(client_as, actor):
    task = services.create_task(actor, title="Send proposal")
    client = client_as("viewer")
    page = client.get(LIST, {"show": "all"})
    assert "Send proposal" in page.text
    assert "Mark done" not in page.text
    assert client.post(reverse("crm:task_toggle", args=[task.pk])).status_code == 403
    assert client.get(reverse("crm:task_create")).status_code == 403
    task.refresh_from_db()
    assert not task.is_done


def test_limited_sales_cannot_toggle_others_tasks(client_as, actor, sales_own_only):
    task = services.create_task(actor, title="Owner's")
    client = client_as("sales")
    assert client.post(reverse("crm:task_toggle", args=[task.pk])).status_code == 404
    assert titles(client.get(LIST, {"show": "all"})) == []
