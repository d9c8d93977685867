"""The routing table: rules in order, round-robin fairness, least loaded, time off, working
hours and the fallback owner — every lead captured through ``capture_lead``."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from throughline.core.models import DomainEvent
from throughline.crm.custom_field_services import create_custom_field
from throughline.intake.booking import services as booking
from throughline.intake.booking.models import TimeOff
from throughline.intake.routing import services
from throughline.intake.routing.models import Assignment, RoutingSettings, Team


@pytest.fixture
def team_of(actor, sellers):
    def make(members=None, strategy="round_robin", name="Inbound"):
        return services.save_team(
            actor, None, name=name, strategy=strategy, members=members or sellers
        )

    return make


def test_round_robin_is_fair_over_many_leads_and_says_which_rule_decided(
    working_clock, actor, sellers, team_of, capture
):
    # given: one catch-all rule to a team of four
    team = team_of()
    rule = services.create_rule(actor, name="Everyone to inbound", team=team, conditions=[])
    # when: 40 leads arrive
    leads = [capture() for _ in range(40)]
    # then: everyone gets 10, in turn
    owners = [lead.owner for lead in leads]
    assert Counter(owners) == {seller: 10 for seller in sellers}
    assert owners[:8] == sellers + sellers
    # and each assignment is recorded with the rule that decided it
    history = Assignment.objects.filter(lead=leads[0])
    assert [(a.kind, a.owner, a.rule_id, a.team_id) for a in history] == [
        ("capture", sellers[0], rule.pk, team.pk)
    ]
    events = DomainEvent.objects.filter(name="lead.assigned")
    assert events.count() == 40
    payload = events.get(subject_id=str(leads[1].pk)).payload
    assert payload["lead_id"] == str(leads[1].pk)
    assert payload["owner_id"] == str(sellers[1].pk)
    assert payload["rule_id"] == str(rule.pk)
    assert payload["rule_name"] == "Everyone to inbound"
    assert "round-robin" in payload["reason"]


def test_least_loaded_gives_the_lead_to_whoever_has_fewest_open_leads(
    working_clock, actor, sellers, team_of, capture
):
    sam, ana, ben, cleo = sellers
    # given: Sam has three open leads, Ana two, Ben one, Cleo none
    for owner, n in ((sam, 3), (ana, 2), (ben, 1)):
        for _ in range(n):
            capture(owner=owner)
    team = team_of(strategy="least_loaded")
    services.create_rule(actor, name="Balance", team=team)
    # when / then: new leads fill the gaps first
    # (ties go to the member listed first)
    assert [capture().owner for _ in range(5)] == [cleo, ben, cleo, ana, ben]
    loads = Counter(a.owner for a in Assignment.objects.filter(kind="capture", rule__isnull=False))
    assert loads == {cleo: 2, ben: 2, ana: 1}


def test_out_of_office_and_time_off_are_skipped(working_clock, actor, sellers, team_of, capture):
    sam, ana, ben, cleo = sellers
    team_of()
    services.create_rule(actor, name="Inbound", team=Team.objects.get())
    # Ana is out of office; Ben has time off covering today
    ana.out_of_office = True
    ana.save()
    booking.add_time_off(
        actor,
        ben,
        starts_at=working_clock - dt.timedelta(days=1),
        ends_at=working_clock + dt.timedelta(days=2),
    )
    owners = [capture().owner for _ in range(6)]
    assert owners == [sam, cleo, sam, cleo, sam, cleo]


def test_members_at_work_come_first_and_nobody_at_work_still_gets_a_member(
    working_clock, actor, sellers, team_of, capture
):
    sam, ana, ben, cleo = sellers
    # Ana and Ben work from Sydney: 21:00 there now
    for person in (ana, ben):
        booking.save_availability(actor, person, time_zone="Australia/Sydney")
    team = team_of(members=[ana, ben, cleo])
    services.create_rule(actor, name="Inbound", team=team)
    assert [capture().owner for _ in range(3)] == [cleo, cleo, cleo]
    # nobody of the team at work: still a member (the lead waits for the morning)
    night_team = team_of(members=[ana, ben], name="APAC")
    services.create_rule(
        actor,
        name="Australia",
        team=night_team,
        conditions=[{"field": "country", "op": "eq", "value": "AU"}],
    )
    services.move_rule(actor, services.AssignmentRule.objects.get(name="Australia"), "up")
    lead = capture(phone="+61 2 9374 4000")
    assert lead.owner in {ana, ben}
    assert "nobody at work now" in Assignment.objects.get(lead=lead).reason


def test_rules_are_checked_in_order_on_country_value_and_source(
    working_clock, actor, sellers, capture
):
    sam, ana, ben, cleo = sellers
    for key in ("budget", "language"):
        create_custom_field(actor, entity="lead", key=key, label=key.title(), kind="text")
    services.create_rule(
        actor,
        name="Big German deals",
        user=ana,
        conditions=[
            {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
            {"field": "estimated_value", "op": "gte", "value": "10000"},
        ],
    )
    services.create_rule(
        actor,
        name="German speakers",
        user=ben,
        conditions=[{"field": "language", "op": "eq", "value": "de"}],
    )
    services.create_rule(
        actor,
        name="Referrals",
        user=cleo,
        conditions=[{"field": "source", "op": "eq", "value": "referral"}],
    )
    # phone +49 → Germany; budget "EUR 25,000" → 25000
    assert capture(phone="+49 30 901820", custom={"budget": "EUR 25,000"}).owner == ana
    assert capture(phone="+49 30 901821", custom={"budget": "500", "language": "de"}).owner == ben
    assert capture(source="referral").owner == cleo
    # the channel's named owner still wins over every rule
    assert capture(source="referral", owner=sam).owner == sam
    assert Assignment.objects.filter(rule_name="Referrals").count() == 1


def test_fallback_owner_gets_what_no_rule_takes(working_clock, actor, users, sellers, capture):
    sam, ana, ben, cleo = sellers
    services.update_settings(actor, fallback_owner=cleo, escalation="notify")
    services.create_rule(
        actor,
        name="UK only",
        user=ana,
        conditions=[{"field": "country", "op": "eq", "value": "GB"}],
    )
    lead = capture(phone="+33 1 42 68 53 00")
    assert lead.owner == cleo
    assert Assignment.objects.get(lead=lead).reason == "fallback owner"
    # a matching rule whose person is away falls through to the fallback, and says why
    TimeOff.objects.create(
        user=ana, starts_at=working_clock, ends_at=working_clock + dt.timedelta(hours=8)
    )
    lead = capture(phone="+44 20 7946 0000")
    assert lead.owner == cleo
    # no fallback configured: the organization's first owner, as before routing existed
    routing_settings = RoutingSettings.objects.get()
    routing_settings.fallback_owner = None
    routing_settings.save()
    assert capture(phone="+33 1 42 68 53 01").owner == users["owner"]


def test_a_person_reassigns_a_lead_and_history_keeps_both(
    working_clock, actor, sellers, capture, client_as
):
    sam, ana, *_ = sellers
    lead = capture(owner=sam)
    client = client_as("owner")
    response = client.post(
        f"/intake/routing/leads/{lead.pk}/assign/", {"owner": ana.pk, "reason": "speaks Greek"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == ana
    kinds = [(a.kind, a.previous_owner, a.owner) for a in Assignment.objects.filter(lead=lead)]
    assert kinds == [("manual", sam, ana), ("capture", None, sam)]
    page = client.get(f"/intake/routing/leads/{lead.pk}/")
    assert page.status_code == 200
    assert "speaks Greek" in page.content.decode()
    event = DomainEvent.objects.filter(name="lead.assigned").order_by("-id").first()
    assert event.payload["previous_owner_id"] == str(sam.pk)
    assert event.payload["reason"] == "speaks Greek"


def test_bulk_inserted_leads_get_their_assignment_recorded(working_clock, actor, sellers, capture):
    from django.db import transaction

    from throughline.intake.bulk_capture import capture_many
    from throughline.intake.capture import LeadInput, clean_input
    from throughline.intake.models import Lead

    services.create_rule(actor, name="All to Ana", user=sellers[1])
    rows = []
    for n, email in enumerate(["x@example.org", "y@example.org"]):
        data = LeadInput(
            email=email, channel="import", external_id=f"r{n}", acknowledge=False, create_task=False
        )
        rows.append((data, clean_input(data)))
    with transaction.atomic():
        capture_many(actor, rows)
    for lead in Lead.objects.filter(email__in=["x@example.org", "y@example.org"]):
        assert lead.owner == sellers[1]
        assert Assignment.objects.get(lead=lead).rule_name == "All to Ana"
        assert DomainEvent.objects.filter(name="lead.assigned", subject_id=str(lead.pk)).exists()
