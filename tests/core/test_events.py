import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from throughline.core import events, jobs
from throughline.core.models import DomainEvent, HandledEvent
from throughline.crm import services
from throughline.crm.models import Contact, Task

calls: list[int] = []


@pytest.fixture
def task_on_contact_created():
    """A real handler: every new contact gets a follow-up task (idempotent by design)."""

    @events.on("contact.created")
    def create_follow_up(event):
        calls.append(event.id)
        contact = Contact.objects.get(pk=event.subject_id)
        Task.objects.create(title=f"Call {contact}", contact=contact, source=f"event:{event.id}")

    calls.clear()
    yield create_follow_up
    events._handlers["contact.created"].pop(events.handler_path(create_follow_up))


@pytest.mark.django_db
def test_event_and_its_jobs_are_written_with_the_change(actor, task_on_contact_created):
    contact = services.create_contact(actor, first_name="Ada", email="ada@example.com")
    event = DomainEvent.objects.get(name="contact.created")
    assert event.subject_id == str(contact.pk)
    assert event.actor == actor.user and event.channel == "ui"
    path = events.handler_path(task_on_contact_created)
    handler_jobs = [
        job.args_kwargs["args"]
        for job in DBTaskResult.objects.filter(task_path="throughline.core.events.handle_event")
    ]
    assert [event.id, path] in handler_jobs  # one job per interested handler, ours included
    # Catch-all handlers with nothing to do (no workflow, no webhook endpoint) get no job.
    catch_all = set(events.handlers_for("*"))
    assert catch_all and not catch_all & {p for _, p in handler_jobs}


@pytest.mark.django_db
def test_a_catch_all_handler_gets_a_job_once_it_has_something_to_do(actor):
    from throughline.integrations.models import WebhookEndpoint

    webhooks = "throughline.integrations.handlers.deliver_to_webhooks"

    def handler_jobs(event):
        return {
            job.args_kwargs["args"][1]
            for job in DBTaskResult.objects.filter(task_path="throughline.core.events.handle_event")
            if job.args_kwargs["args"][0] == event.id
        }

    services.create_contact(actor, first_name="Ada", email="ada@example.com")
    assert webhooks not in handler_jobs(DomainEvent.objects.get(name="contact.created"))
    WebhookEndpoint.objects.create(
        name="CRM sync",
        url="https://hooks.example.com/in",
        event_types=["contact.created"],
        secret="s" * 32,
    )
    contact = services.create_contact(actor, first_name="Grace", email="grace@example.com")
    event = DomainEvent.objects.get(name="contact.created", subject_id=str(contact.pk))
    assert webhooks in handler_jobs(event)


@pytest.mark.django_db
def test_a_failed_change_leaves_neither_event_nor_job(actor, task_on_contact_created):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.create_contact(actor, first_name="Ada", email="ada@example.com")
        raise RuntimeError("later step of the same operation failed")
    assert Contact.objects.count() == 0
    assert DomainEvent.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_handler_runs_once_even_when_delivered_twice(actor, task_on_contact_created, run_jobs):
    services.create_contact(actor, first_name="Ada", email="ada@example.com")
    event = DomainEvent.objects.get(name="contact.created")
    path = events.handler_path(task_on_contact_created)
    # At-least-once delivery: the same (event, handler) job arrives a second time.
    with transaction.atomic():
        events.handle_event.enqueue(event.id, path)
    run_jobs()
    assert Task.objects.filter(source=f"event:{event.id}").count() == 1
    assert HandledEvent.objects.filter(event=event, handler=path).count() == 1
    assert DBTaskResult.objects.filter(status=jobs.FAILED).count() == 0


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused(actor):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.emit(actor, "contact.created", subject_type="crm.contact", subject_id="x")


@pytest.mark.django_db
def test_unknown_event_names_are_refused(actor):
    with pytest.raises(ValueError), transaction.atomic():
        events.emit(actor, "contact.teleported", subject_type="crm.contact", subject_id="x")


@pytest.mark.django_db
def test_a_handler_whose_work_the_change_already_did_gets_no_job(actor):
    """``done(events)`` names the events needing nothing more: they get no job, others do."""
    asked: list[list[str]] = []

    def done(written):
        asked.append([event.name for event in written])
        return {event.id for event in written if event.payload.get("fields") == ["notes"]}

    @events.on("contact.created", "contact.updated", done=done)
    def follow_up(event):
        pass

    path = events.handler_path(follow_up)
    try:
        contact = services.create_contact(actor, first_name="Ada", email="ada@example.com")
        services.update_contact(actor, contact, notes="Met at the fair")
        services.update_contact(actor, contact, first_name="Augusta")
    finally:
        events._handlers["contact.created"].pop(path)
        events._handlers["contact.updated"].pop(path)
        events._done.pop(path)
    assert asked == [["contact.created"], ["contact.updated"], ["contact.updated"]]
    handled = {
        job.args_kwargs["args"][0]
        for job in DBTaskResult.objects.filter(task_path="throughline.core.events.handle_event")
        if job.args_kwargs["args"][1] == path
    }
    names = dict(DomainEvent.objects.filter(id__in=handled).values_list("id", "payload"))
    assert sorted(p.get("fields", []) for p in names.values()) == [[], ["first_name"]]
