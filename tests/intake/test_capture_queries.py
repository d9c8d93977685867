"""One API capture costs a bounded number of queries (issue #3).

The capture path writes its audit entries and events in one batch: one lock of the audit
chain's head, one insert of the entries, one of the events and one look-up per event
handler's ``wants`` — whatever the number of entries and events. A change that makes an
entry, an event or a look-up cost its own round trips again shows up here.

The counts are of the whole request (token, savepoints of the services it calls included):
92 and 68 before the batches, 48 and 45 with them, 38 and 36 once the settings a capture reads
(organization, source, custom fields, routing rules, scoring, rubric, template, webhook
endpoints) are remembered per process under the configuration stamp — one read of the stamp.
39 since a new person's capture asks whether the contact and the company it created have
their search keys (it wrote them) instead of leaving two re-indexing jobs for a worker.

Since validation and the person's look-up run before the write transaction (on SQLite every
write transaction holds the one writer lock others wait for), the statements inside it are
bounded too: the stamp, a new company's and a new phone's second look, and the writes. Three
statements more in all (the stamp and those second looks), two fewer while holding the lock.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from throughline.core import audit_log
from throughline.core.models import AuditEntry, DomainEvent
from throughline.intake.models import ContactKey, Lead
from throughline.intake.scoring.models import ScoringConfig

URL = "/api/v1/leads"
# PostgreSQL: one more, the advisory locks of the person's e-mail, phone and company.
LOCKS = 1 if connection.vendor == "postgresql" else 0
NEW_PERSON = {
    "first_name": "Ada",
    "last_name": "Smith",
    "email": "ada.smith@gmail.com",
    "phone": "020 7946 0958",
    "company": "Analytical Engines Ltd",
    "message": "We would like a quote.",
    "source": "website",
    "utm": {"utm_source": "google", "utm_medium": "cpc"},
    "consent": True,
}


@pytest.fixture
def client(api):
    ScoringConfig.current()  # settings rows exist on a running system
    client = api()
    # Known people, captured (so indexed for matching) — which also warms up what a running
    # system has: the lead source and the audit chain's head.
    client.post(URL, {"email": "grace@example.com", "first_name": "Grace"}, format="json")
    # A candidate the new person below is screened against (same name, another address).
    ada = {**NEW_PERSON, "email": "ada@analytical.example", "company": "", "consent": False}
    client.post(URL, ada, format="json")
    return client


def post_counted(client, body) -> tuple[object, int, int]:
    """The response, the statements of the request and those inside its write transaction
    (in a test the API's transaction is a savepoint: from the first on)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.post(URL, body, format="json")
    sqls = [q["sql"] for q in queries.captured_queries]
    start = next(i for i, sql in enumerate(sqls) if sql.startswith("SAVEPOINT"))
    return response, len(sqls), len(sqls) - start


@pytest.mark.django_db
def test_capturing_a_new_person_with_company_consent_and_task(client):
    entries, events = AuditEntry.objects.count(), DomainEvent.objects.count()
    response, total, writing = post_counted(client, NEW_PERSON)
    assert response.status_code == 201, response.json()
    assert total <= 42 + LOCKS and writing <= 36 + LOCKS, (total, writing)
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.contact_created and lead.company is not None
    reindex = DBTaskResult.objects.filter(
        task_path="throughline.core.events.handle_event",
        args_kwargs__args__1="throughline.intake.reactions.reindex_contact",
    )
    assert not reindex.exists()  # written with the contact: no job re-does it
    assert ContactKey.objects.filter(contact=lead.contact).exists()
    # The batch wrote everything it kept, in order, on an intact chain.
    actions = list(
        AuditEntry.objects.filter(seq__gt=entries).order_by("seq").values_list("action", flat=True)
    )
    assert actions == [
        "company.created",
        "contact.created",
        "consent.recorded",
        "lead.captured",
        "lead.assigned",
        "email.queued",
        "task.created",
    ]
    assert DomainEvent.objects.count() - events == 5
    assert audit_log.verify_chain().ok


@pytest.mark.django_db
def test_capturing_a_known_person(client):
    response, total, writing = post_counted(
        client, {"email": "GRACE@example.com", "message": "Again"}
    )
    assert response.status_code == 201, response.json()
    assert total <= 37 + LOCKS and writing <= 32 + LOCKS, (total, writing)
    assert Lead.objects.get(pk=response.json()["id"]).matched_on == "email"
