"""Two people accept the same delivered milestone at the same moment (PostgreSQL, real
connections): exactly one acceptance, one ``milestone.accepted``; the other is refused."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.delivery.services import milestones
from throughline.delivery.services.errors import DeliveryStateError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 4


def test_concurrent_acceptances_accept_once(project, delivery_actor):
    assert connection.vendor == "postgresql"
    milestone = project.milestones.first()
    milestones.start(delivery_actor, milestone)
    milestones.submit_for_qa(delivery_actor, milestone)
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(delivery_actor, item)
    milestones.deliver(delivery_actor, milestone)
    start = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def racer(index: int) -> None:
        try:
            start.wait(timeout=30)
            actor = Actor(user=None, channel=Channel.PORTAL, label=f"client {index}")
            milestones.accept(actor, milestone)
            outcomes.append("accepted")
        except DeliveryStateError:
            outcomes.append("refused")
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["accepted"] + ["refused"] * (RACERS - 1)
    assert DomainEvent.objects.filter(name="milestone.accepted").count() == 1
    assert milestone.reviews.count() == 1
