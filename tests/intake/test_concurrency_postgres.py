"""20 simultaneous submissions of one new person make exactly one contact (PostgreSQL).

Real threads, each with its own database connection and transaction, released together by a
barrier. SQLite runs one writer at a time, so the race exists only on PostgreSQL; CI runs the
suite on PostgreSQL too (``.ci/run``), where these tests are not skipped.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm import services as crm
from throughline.crm.models import Company, Contact
from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.models import Lead, LeadSource

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def run_together(targets) -> list:
    """Start every callable at the same instant; return their results (or exceptions)."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(index, target):
        try:
            barrier.wait(timeout=30)
            results[index] = target()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[index] = exc
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_simultaneous_captures_of_one_new_person_make_one_contact(owner):
    assert connection.vendor == "postgresql"
    actor = Actor(user=owner, channel=Channel.API)

    def submit(n: int):
        return lambda: capture_lead(
            actor,
            LeadInput(
                first_name="Ada",
                last_name="Lovelace",
                email="Ada.Lovelace@Example.com" if n % 2 else "ada.lovelace@example.com",
                company="Analytical Engines Ltd",
                message=f"submission {n}",
            ),
        )

    results = run_together([submit(n) for n in range(THREADS)])

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert Contact.objects.count() == 1
    assert Company.objects.count() == 1
    contact = Contact.objects.get()
    assert Lead.objects.filter(contact=contact).count() == THREADS
    assert {r.contact.pk for r in results} == {contact.pk}
    assert sum(r.contact_created for r in results) == 1


def test_phone_only_people_are_one_contact_too(owner):
    actor = Actor(user=owner, channel=Channel.API)
    results = run_together(
        [
            lambda: capture_lead(actor, LeadInput(first_name="Bo", phone="020 7946 0999"))
            for _ in range(THREADS)
        ]
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    assert Contact.objects.count() == 1 and Lead.objects.count() == THREADS


def test_capture_racing_the_crm_screens_links_to_whichever_contact_won(owner):
    # The CRM's own "new contact" takes no intake lock: the database's unique e-mail decides,
    # and a capture that loses the race retries from its savepoint and links to the winner.
    # (The source exists, as it does in a running installation: a transactional test starts
    # from an empty database, without the sources the migrations made.)
    LeadSource.objects.get_or_create(slug="api", defaults={"name": "API"})
    actor = Actor(user=owner, channel=Channel.UI)

    def from_crm():
        return crm.create_contact(actor, first_name="Grace", email="grace@navy.example")

    def from_capture():
        return capture_lead(actor, LeadInput(first_name="Grace", email="grace@navy.example"))

    results = run_together([from_crm if n % 2 else from_capture for n in range(THREADS)])

    captures = [r for r in results if not isinstance(r, Exception | Contact)]
    crm_failures = [r for r in results if isinstance(r, Exception)]
    assert Contact.objects.count() == 1
    contact = Contact.objects.get()
    assert len(captures) == THREADS // 2  # every capture succeeded …
    assert {r.contact.pk for r in captures} == {contact.pk}  # … on the one contact
    # the CRM form refuses a second contact with the same address, as it should
    assert all("email" in getattr(e, "message_dict", {}) for e in crm_failures)
