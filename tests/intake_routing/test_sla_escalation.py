"""A breached first response: reassign to the next person, or escalate to the manager."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.intake_routing.conftest import WEDNESDAY_10_UTC
from throughline.crm.models import Task
from throughline.intake import sla
from throughline.intake.routing import services
from throughline.intake.routing.models import Assignment

AFTER_DEADLINE = WEDNESDAY_10_UTC + dt.timedelta(minutes=30)


@pytest.fixture
def team_lead(working_clock, actor, sellers, capture, users):
    sam, ana, ben, cleo = sellers
    team = services.save_team(
        actor, None, name="Inbound", strategy="round_robin", members=[sam, ana], manager=cleo
    )
    services.create_rule(actor, name="Inbound", team=team)
    return capture()


def test_reassign_gives_the_lead_to_the_next_team_member(team_lead, actor, sellers, run_jobs):
    sam, ana, *_ = sellers
    services.update_settings(actor, fallback_owner=None, escalation="reassign")
    assert team_lead.owner == sam
    assert sla.breach_overdue(now=AFTER_DEADLINE) == 1
    run_jobs()
    team_lead.refresh_from_db()
    assert team_lead.owner == ana
    latest = Assignment.objects.filter(lead=team_lead).first()
    assert (latest.kind, latest.previous_owner, latest.owner) == ("sla_reassign", sam, ana)
    assert latest.reason.startswith("first response overdue")
    assert latest.rule_name == "Inbound"


def test_notify_puts_a_task_on_the_team_managers_list(
    team_lead, actor, sellers, run_jobs, smtp_server
):
    sam, _ana, _ben, cleo = sellers
    services.update_settings(actor, fallback_owner=None, escalation="notify")
    assert sla.breach_overdue(now=AFTER_DEADLINE) == 1
    run_jobs()
    team_lead.refresh_from_db()
    assert team_lead.owner == sam  # unchanged
    task = Task.objects.get(owner=cleo)
    assert task.title.startswith("Escalated: first response overdue")
    assert task.source == team_lead.task_source
    assert Assignment.objects.filter(lead=team_lead, kind="sla_escalate").count() == 1
    # the team's manager is mailed too (the sweep mailed the owner and the first admin)
    to_cleo = [m for m in smtp_server.messages if m["envelope"].rcpt_tos == [cleo.email]]
    assert len(to_cleo) == 1
    assert "Escalated: first response overdue" in str(to_cleo[0]["message"]["Subject"])
    # the first response closes the escalation task too
    sla.record_first_response(actor, team_lead, at=AFTER_DEADLINE + dt.timedelta(minutes=1))
    task.refresh_from_db()
    assert task.done_at is not None
