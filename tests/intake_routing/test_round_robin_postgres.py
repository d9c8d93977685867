"""Round-robin under concurrency: simultaneous captures never take the same turn (PostgreSQL).

Real threads with their own connections, released together; the team row lock serializes
the turns, so twelve leads for a team of four give each member exactly three.
"""

from __future__ import annotations

from collections import Counter

import pytest
import time_machine

from tests.intake.test_concurrency_postgres import run_together
from tests.intake_routing.conftest import WEDNESDAY_10_UTC
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.routing import services
from throughline.intake.routing.models import Assignment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEADS = 12


def test_simultaneous_captures_share_the_turns_fairly(org, actor, sellers):
    from django.db import connection

    assert connection.vendor == "postgresql"
    team = services.save_team(actor, None, name="Inbound", strategy="round_robin", members=sellers)
    services.create_rule(actor, name="Everyone", team=team)
    api = Actor(user=None, channel=Channel.API)

    def capture(n: int):
        return lambda: (
            capture_lead(
                api,
                LeadInput(first_name=f"Racer{n}", email=f"racer{n}@example.org", acknowledge=False),
            ).lead
        )

    with time_machine.travel(WEDNESDAY_10_UTC, tick=False):
        results = run_together([capture(n) for n in range(LEADS)])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Counter(lead.owner_id for lead in results) == {u.pk: LEADS // 4 for u in sellers}
    assert Assignment.objects.filter(kind="capture", rule__name="Everyone").count() == LEADS
