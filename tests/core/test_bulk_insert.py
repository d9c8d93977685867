"""``bulk_insert.insert`` writes what ``bulk_create`` writes (COPY on PostgreSQL, from 64 rows)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from throughline.core import bulk_insert
from throughline.core.models import DomainEvent
from throughline.crm.models import Company, Contact

pytestmark = pytest.mark.django_db


def _events(n: int, user, prefix: str) -> list[DomainEvent]:
    at = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    return [
        DomainEvent(
            name="lead.captured",
            subject_type="intake.lead",
            subject_id=f"{prefix}{i}",
            payload={"n": i, "text": "tab\there, new\nline, \\ back, 'quote' \"dq\" é", "d": None},
            actor=user if i % 2 else None,
            channel="import",
            occurred_at=at + dt.timedelta(seconds=i),
        )
        for i in range(n)
    ]


def _stored(prefix: str) -> list[tuple]:
    return list(
        DomainEvent.objects.filter(subject_id__startswith=prefix)
        .order_by("id")
        .values_list("subject_id", "payload", "actor_id", "channel", "occurred_at", "depth")
    )


@pytest.mark.parametrize("n", [3, 200])
def test_rows_read_back_as_bulk_create_writes_them(n, owner):
    by_insert = _events(n, owner, "i-")
    by_create = _events(n, owner, "c-")
    with transaction.atomic():
        bulk_insert.insert(by_insert)
        DomainEvent.objects.bulk_create(by_create)
    assert [e.pk for e in by_insert] == sorted(e.pk for e in by_insert)
    assert all(e.pk is not None and not e._state.adding for e in by_insert)
    inserted = _stored("i-")
    assert [(s.removeprefix("i-"), *rest) for s, *rest in inserted] == [
        (s.removeprefix("c-"), *rest) for s, *rest in _stored("c-")
    ]
    assert [e.pk for e in by_insert] == list(
        DomainEvent.objects.filter(subject_id__startswith="i-")
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert inserted[1][1]["text"] == "tab\there, new\nline, \\ back, 'quote' \"dq\" é"


def test_uuid_keys_foreign_keys_and_timestamps():
    company = Company.objects.create(name="Engines")
    before = timezone.now()
    contacts = [
        Contact(
            first_name=f"Ada{i}", last_name="Lovelace", email=f"a{i}@x.example", company=company
        )
        for i in range(100)
    ]
    with transaction.atomic():
        bulk_insert.insert(contacts)
    stored = Contact.objects.filter(company=company).order_by("first_name")
    assert stored.count() == 100
    first = Contact.objects.get(pk=contacts[0].pk)
    assert first.first_name == "Ada0" and first.company_id == company.pk
    assert first.created_at >= before and first.updated_at >= before
    assert first.custom == {}


@pytest.mark.postgres
def test_postgresql_batches_go_through_copy(django_assert_num_queries):
    """One statement for the ids, none counted for the rows (COPY bypasses the cursor wrapper)."""
    with transaction.atomic(), django_assert_num_queries(1):
        bulk_insert.insert(_events(100, None, "q-"))
    assert DomainEvent.objects.filter(subject_id__startswith="q-").count() == 100


@pytest.mark.parametrize("n", [3, 100])
def test_a_duplicate_key_is_an_integrity_error_and_writes_nothing(n):
    from django.db import IntegrityError

    from throughline.intake.models import ContactKey

    contact = Contact.objects.create(first_name="Ada")
    rows = [ContactKey(contact=contact, key=f"k:{i}") for i in range(n)]
    rows.append(ContactKey(contact=contact, key="k:0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert.insert(rows)
    assert not ContactKey.objects.filter(contact=contact).exists()
