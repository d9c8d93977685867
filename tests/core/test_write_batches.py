"""Batch scopes: audit entries, events and jobs kept until the scope ends, then written at once."""

import pytest
from django.db import IntegrityError, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from throughline.core import audit_log, events, jobs
from throughline.core.models import AuditChainHead, AuditEntry, DomainEvent
from throughline.crm import services
from throughline.crm.models import Contact

HANDLE_EVENT = "throughline.core.events.handle_event"


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def contact_handler():
    """A real handler of contact events whose ``wants`` notes what it was asked."""
    asked: list[set[str]] = []

    def wants(names: set[str]) -> set[str]:
        asked.append(set(names))
        return {"contact.created"} & names

    @events.on("contact.created", "contact.updated", wants=wants)
    def follow_up(event):
        pass

    yield events.handler_path(follow_up), asked
    for name in ("contact.created", "contact.updated"):
        events._handlers[name].pop(events.handler_path(follow_up))
    events._wants.pop(events.handler_path(follow_up))


@pytest.mark.django_db
def test_entries_are_written_in_order_with_one_lock_when_the_scope_ends(actor):
    with transaction.atomic(), audit_log.batch():
        ada = services.create_contact(actor, first_name="Ada", email="ada@example.com")
        entry = audit_log.record(actor, "contact.viewed", ada)
        services.update_contact(actor, ada, phone="020 7946 0958")
        assert not AuditEntry.objects.exists() and entry.seq is None  # nothing written yet
    assert actions() == ["contact.created", "contact.viewed", "contact.updated"]
    assert entry.seq == 2 and entry.hash == AuditEntry.objects.get(seq=2).hash
    assert AuditChainHead.objects.get().last_seq == 3
    assert audit_log.verify_chain().ok


@pytest.mark.django_db
def test_the_scope_costs_one_lock_and_one_insert(actor):
    audit_log.record(actor, "warm.up", object_type="x", object_id="0")  # the head exists
    with transaction.atomic():
        with CaptureQueriesContext(transaction.get_connection()) as queries:
            with audit_log.batch():
                for n in range(5):
                    audit_log.record(actor, "test.batched", object_type="x", object_id=str(n))
    assert len(queries) == 3  # lock the head, insert the entries, move the head
    assert actions() == ["warm.up"] + ["test.batched"] * 5
    assert audit_log.verify_chain().ok


@pytest.mark.django_db
def test_an_exception_discards_what_the_scope_kept(actor):
    with pytest.raises(RuntimeError), transaction.atomic(), audit_log.batch(), events.batch():
        services.create_contact(actor, first_name="Ada", email="ada@example.com")
        raise RuntimeError("a later step failed")
    assert not AuditEntry.objects.exists() and not DomainEvent.objects.exists()
    # The next write starts from an untouched chain.
    audit_log.record(actor, "test.after", object_type="x", object_id="1")
    assert actions() == ["test.after"] and audit_log.verify_chain().ok


@pytest.mark.django_db
def test_what_a_rolled_back_savepoint_recorded_is_dropped(actor):
    with transaction.atomic(), audit_log.batch(), events.batch():
        services.create_contact(actor, first_name="Ada", email="ada@example.com")
        try:
            with transaction.atomic():
                services.create_contact(actor, first_name="Grace", email="grace@example.com")
                raise IntegrityError("the caller rolls this part back and carries on")
        except IntegrityError:
            pass
        services.create_contact(actor, first_name="Alan", email="alan@example.com")
    assert list(Contact.objects.order_by("email").values_list("first_name", flat=True)) == [
        "Ada",
        "Alan",
    ]
    assert actions() == ["contact.created", "contact.created"]
    subjects = set(DomainEvent.objects.values_list("subject_id", flat=True))
    assert subjects == {str(c.pk) for c in Contact.objects.all()}
    assert audit_log.verify_chain().ok


@pytest.mark.django_db
def test_nested_scopes_join_the_outer_one(actor):
    with transaction.atomic(), audit_log.batch():
        audit_log.record(actor, "test.outer", object_type="x", object_id="1")
        with audit_log.batch():
            audit_log.record(actor, "test.inner", object_type="x", object_id="2")
        assert not AuditEntry.objects.exists()
    assert actions() == ["test.outer", "test.inner"]


@pytest.mark.django_db
def test_events_and_jobs_of_a_batch_are_written_together(actor, contact_handler):
    path, asked = contact_handler
    with transaction.atomic(), jobs.batch(), events.batch():
        ada = services.create_contact(actor, first_name="Ada", email="ada@example.com")
        services.update_contact(actor, ada, phone="020 7946 0958")
        services.create_contact(actor, first_name="Grace", email="grace@example.com")
        assert not DomainEvent.objects.exists() and not DBTaskResult.objects.exists()
    names = list(DomainEvent.objects.order_by("id").values_list("name", flat=True))
    assert names == ["contact.created", "contact.updated", "contact.created"]
    assert asked == [{"contact.created", "contact.updated"}]  # asked once for the batch
    created = DomainEvent.objects.filter(name="contact.created").order_by("id")
    ours = [
        job.args_kwargs["args"]
        for job in DBTaskResult.objects.filter(task_path=HANDLE_EVENT)
        if job.args_kwargs["args"][1] == path
    ]
    assert sorted(ours) == [[event.id, path] for event in created]  # not for contact.updated


@pytest.mark.django_db
def test_a_single_event_asks_wants_for_its_own_name(actor, contact_handler):
    path, asked = contact_handler
    services.create_contact(actor, first_name="Ada", email="ada@example.com")
    event = DomainEvent.objects.get()
    assert asked == [{"contact.created"}]
    assert [event.id, path] in [
        job.args_kwargs["args"] for job in DBTaskResult.objects.filter(task_path=HANDLE_EVENT)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_scope_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the operation's transaction"):
        with audit_log.batch():
            pass
