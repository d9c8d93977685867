"""Gapless, unique invoice numbers with 8 concurrent issuers on PostgreSQL (real connections).

Runs only on PostgreSQL (``@pytest.mark.postgres``; CI sets DATABASE_URL, so it runs there).
Each thread has its own database connection and issues invoices at the same moment as the
others; some issues are rolled back after their number was taken. The numbers that remain must
be 1…N with no gap and no duplicate.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from tests.billing.conftest import TODAY, line
from throughline.billing.models import Invoice, NumberSequence
from throughline.billing.services import invoicing

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ISSUERS = 8
PER_ISSUER = 6


class Rollback(Exception):
    pass


def test_eight_concurrent_issuers_leave_no_gap_and_no_duplicate(actor, make_invoice):
    assert connection.vendor == "postgresql"
    drafts = [[make_invoice(lines=[line()]) for _ in range(PER_ISSUER)] for _ in range(ISSUERS)]
    start = threading.Barrier(ISSUERS)
    errors: list[BaseException] = []
    backends: set[int] = set()

    def issuer(index: int) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])
            start.wait(timeout=30)
            for n, draft in enumerate(drafts[index]):
                if n % 3 == 2:
                    # taken, then given back: the transaction rolls back after numbering
                    try:
                        with transaction.atomic():
                            invoicing.issue_invoice(actor, draft, today=TODAY)
                            raise Rollback
                    except Rollback:
                        pass
                else:
                    invoicing.issue_invoice(actor, draft, today=TODAY)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issuer, args=(i,)) for i in range(ISSUERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(backends) == ISSUERS  # eight real connections

    issued = list(Invoice.objects.exclude(number="").values_list("number", flat=True))
    expected = ISSUERS * (PER_ISSUER - PER_ISSUER // 3)
    assert len(issued) == len(set(issued)) == expected
    assert sorted(issued) == [f"INV-2025-{n:05d}" for n in range(1, expected + 1)]
    assert NumberSequence.objects.get(document_type="invoice", year=2025).last == expected
    assert Invoice.objects.filter(status=Invoice.Status.DRAFT).count() == ISSUERS * (
        PER_ISSUER // 3
    )
