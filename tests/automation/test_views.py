"""Staff pages: who may see and do what; the no-code editor builds a valid definition."""

import pytest
from django.urls import URLResolver, get_resolver

from throughline.automation.models import Enrollment, Notification, Sequence, Workflow
from throughline.automation.notifications import notify
from throughline.core.access import declared_permission
from throughline.core.roles import Role, role_has
from throughline.crm.models import Task

DEFINITION = {
    "trigger": {"type": "event", "event": "contact.created"},
    "subject": "crm.contact",
    "conditions": {"all": [{"field": "email", "op": "contains", "value": "@example.com"}]},
    "steps": [{"id": "call", "action": "task.create", "params": {"title": "Call {{ subject }}"}}],
}


def test_every_automation_view_declares_its_permission():
    [resolver] = [
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "automation"
    ]
    declared = {p.name: declared_permission(p.callback) for p in resolver.url_patterns}
    assert set(declared.values()) == {"automation.view", "automation.manage"}


def test_every_role_sees_automation_and_only_owner_and_admin_manage():
    for role in Role.values:
        assert role_has(role, "automation.view")
        assert role_has(role, "automation.manage") == (role in {Role.OWNER, Role.ADMIN})


@pytest.fixture
def records(make_workflow, make_contact, actor, welcome_template, run_jobs):
    from throughline.automation.sequences import services as sequences

    workflow = make_workflow("welcome", **DEFINITION)
    ada = make_contact(first_name="Ada", email="ada@example.com")
    sequence = sequences.create_sequence(
        actor, key="nurture", name="Nurture", steps=[{"kind": "email", "template_key": "welcome"}]
    )
    enrollment, _ = sequences.enrol(actor, sequence, ada)
    run_jobs()
    return {
        "workflow": workflow,
        "run": workflow.runs.get(),
        "sequence": sequence,
        "enrollment": enrollment,
    }


@pytest.mark.parametrize("role", Role.values)
def test_pages_by_role(role, records, client_as):
    client = client_as(role)
    w, run, s = records["workflow"], records["run"], records["sequence"]
    readable = [
        "/automation/",
        f"/automation/workflows/{w.pk}/",
        f"/automation/workflows/{w.pk}/versions/",
        f"/automation/workflows/{w.pk}/dry-run/",
        f"/automation/workflows/{w.pk}/export/",
        "/automation/workflows/export/",
        "/automation/runs/",
        f"/automation/runs/{run.pk}/",
        "/automation/sequences/",
        f"/automation/sequences/{s.pk}/",
        "/automation/notifications/",
    ]
    for url in readable:
        assert client.get(url).status_code == 200, url
    manage_pages = [
        "/automation/workflows/new/",
        f"/automation/workflows/{w.pk}/edit/",
        "/automation/workflows/import/",
        "/automation/sequences/new/",
        f"/automation/sequences/{s.pk}/edit/",
    ]
    expected = 200 if role in {Role.OWNER, Role.ADMIN} else 403
    for url in manage_pages:
        assert client.get(url).status_code == expected, url
    if expected == 403:
        assert (
            client.post(f"/automation/workflows/{w.pk}/toggle/", {"active": "0"}).status_code == 403
        )
        assert client.post(f"/automation/runs/{run.pk}/cancel/").status_code == 403
        assert (
            client.post(f"/automation/sequences/{s.pk}/enrol/", {"contact": "x"}).status_code == 403
        )


def test_the_export_is_the_definition(records, client_as):
    response = client_as("viewer").get(f"/automation/workflows/{records['workflow'].pk}/export/")
    document = response.json()
    assert (
        document["key"] == "welcome" and document["definition"]["trigger"] == DEFINITION["trigger"]
    )
    assert response["Content-Disposition"] == 'attachment; filename="workflow-welcome.json"'


def _management(prefix: str, total: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "50",
    }


def test_the_editor_builds_a_workflow_without_code(
    client_as, welcome_template, size_field, make_contact, run_jobs, smtp_server
):
    client = client_as("admin")
    assert (
        "Create a task (task.create)" in client.get("/automation/workflows/new/").content.decode()
    )
    params = client.get(
        "/automation/workflows/step-params/",
        {"index": "1", "steps-1-action": "email.send", "subject": "crm.contact"},
    ).content.decode()
    assert 'name="steps-1-param-template"' in params and "Welcome (Transactional" in params

    data = {
        "name": "Big new contacts",
        "key": "big-new",
        "description": "",
        "subject": "crm.contact",
        "trigger_type": "event",
        "event": "contact.created",
        "note": "First version",
        **_management("cond", 3),
        "cond-0-group": "1",
        "cond-0-field": "custom.size",
        "cond-0-op": "gt",
        "cond-0-value": "10",
        "cond-1-group": "2",
        "cond-1-field": "email",
        "cond-1-op": "contains",
        "cond-1-value": "@vip.example",
        "cond-2-group": "",
        "cond-2-field": "",
        "cond-2-op": "",
        "cond-2-value": "",
        **_management("steps", 3),
        "steps-0-action": "task.create",
        "steps-0-step_id": "call",
        "steps-0-param-title": "Call {{ subject.first_name }}",
        "steps-0-param-owner": "subject_owner",
        "steps-0-param-due_in_business_days": "1",
        "steps-1-action": "wait",
        "steps-1-param-hours": "",
        "steps-1-param-minutes": "0",
        "steps-1-param-days": "",
        "steps-1-param-business_days": "",
        "steps-1-DELETE": "on",
        "steps-2-action": "email.send",
        "steps-2-param-template": "welcome",
        "steps-2-param-to": "contact",
    }
    response = client.post("/automation/workflows/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    workflow = Workflow.objects.get(key="big-new")
    assert workflow.current_version.definition == {
        "trigger": {"type": "event", "event": "contact.created"},
        "subject": "crm.contact",
        "conditions": {
            "any": [
                {"all": [{"field": "custom.size", "op": "gt", "value": 10}]},
                {"all": [{"field": "email", "op": "contains", "value": "@vip.example"}]},
            ]
        },
        "steps": [
            {
                "id": "call",
                "action": "task.create",
                "params": {
                    "title": "Call {{ subject.first_name }}",
                    "owner": "subject_owner",
                    "due_in_business_days": 1,
                },
            },
            {
                "id": "step-2",
                "action": "email.send",
                "params": {"template": "welcome", "to": "contact"},
            },
        ],
    }
    make_contact(first_name="Ada", email="ada@example.com", custom={"size": 40})
    run_jobs()
    assert Task.objects.get().title == "Call Ada"
    assert len(smtp_server.messages) == 1

    # The edit form shows what was saved; saving a change makes version 2.
    page = client.get(f"/automation/workflows/{workflow.pk}/edit/").content.decode()
    assert 'value="Call {{ subject.first_name }}"' in page
    data["steps-0-param-title"] = "Ring {{ subject.first_name }}"
    data["key"] = "ignored-when-editing"
    response = client.post(f"/automation/workflows/{workflow.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:5000]
    workflow.refresh_from_db()
    assert workflow.key == "big-new" and workflow.current_version.number == 2


def test_the_editor_shows_the_problems_and_saves_nothing(client_as):
    data = {
        "name": "Broken",
        "key": "broken",
        "subject": "crm.contact",
        "trigger_type": "absence",
        "event": "task.created",
        "missing": "task.created",
        "business_days": "2",
        **_management("cond", 0),
        **_management("steps", 1),
        "steps-0-action": "task.create",
        "steps-0-param-title": "x",
    }
    response = client_as("owner").post("/automation/workflows/new/", data)
    assert response.status_code == 200
    assert "trigger.missing: must differ from trigger.event" in response.content.decode()
    assert not Workflow.objects.exists()


def test_the_sequence_editor_and_enrolment(client_as, welcome_template, make_contact, run_jobs):
    client = client_as("owner")
    data = {
        "name": "Nurture",
        "key": "nurture",
        "purpose": "nurture",
        "stop_on": ["replied", "unsubscribed"],
        "is_active": "on",
        **_management("steps", 3),
        "steps-0-kind": "email",
        "steps-0-template_key": "welcome",
        "steps-1-kind": "wait",
        "steps-1-wait_business_days": "3",
        "steps-2-kind": "",
        "steps-2-template_key": "",
    }
    response = client.post("/automation/sequences/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    sequence = Sequence.objects.get(key="nurture")
    assert sequence.stop_on == ["replied", "unsubscribed"]
    assert [s.kind for s in sequence.steps.order_by("position")] == ["email", "wait"]
    ada = make_contact(first_name="Ada", email="ada@example.com")
    response = client.post(
        f"/automation/sequences/{sequence.pk}/enrol/", {"contact": "ADA@example.com"}
    )
    assert response.status_code == 302
    enrollment = Enrollment.objects.get(contact=ada)
    run_jobs()
    page = client.get(f"/automation/sequences/{sequence.pk}/").content.decode()
    assert "Ada" in page
    client.post(f"/automation/enrollments/{enrollment.pk}/stop/")
    enrollment.refresh_from_db()
    assert enrollment.stop_reason == "removed"


def test_runs_show_on_the_contact_timeline(records, client_as):
    from throughline.crm.timeline import timeline_for

    ada = records["enrollment"].contact
    titles = [e.title for e in timeline_for(ada)]
    assert "Workflow “Welcome” (v1): Finished" in titles
    assert "Enrolled in the sequence “Nurture”" in titles


def test_notifications_page_and_mark_read(client_as, users):
    notify(users["sales"], "Call Ada back", "She asked for a quote.", url="/crm/contacts/")
    notify(users["owner"], "Not for Sam")
    client = client_as("sales")
    page = client.get("/automation/notifications/").content.decode()
    assert "Call Ada back" in page and "Not for Sam" not in page and "1 unread" in page
    client.post("/automation/notifications/read/")
    assert not Notification.objects.filter(user=users["sales"], read_at__isnull=True).exists()
    assert Notification.objects.filter(user=users["owner"], read_at__isnull=True).exists()


def test_sales_limited_to_own_records_see_only_their_runs(
    records, client_as, users, org, make_contact, run_jobs
):
    org.sales_own_records_only = True
    org.save()
    page = client_as("sales").get("/automation/runs/").content.decode()
    assert "Ada" not in page  # Ada belongs to the owner
    assert client_as("sales").get(f"/automation/runs/{records['run'].pk}/").status_code == 404
