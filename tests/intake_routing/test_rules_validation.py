"""Invalid rules are refused with the reason, in the service and on the staff page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from throughline.core.models import User
from throughline.core.roles import Role
from throughline.intake.routing import services
from throughline.intake.routing.models import AssignmentRule, Team


@pytest.mark.parametrize(
    ("conditions", "reason"),
    [
        ([{"field": "shoe_size", "op": "eq", "value": "42"}], "unknown field 'shoe_size'"),
        ([{"field": "source", "op": "like", "value": "web"}], "unknown operator 'like'"),
        ([{"field": "channel", "op": "gt", "value": "3"}], "channel is not a number"),
        ([{"field": "estimated_value", "op": "gte", "value": "lots"}], "needs a number"),
        ([{"field": "country", "op": "eq", "value": "Germany"}], "not a two-letter country code"),
        ([{"field": "source", "op": "eq", "value": "carrier-pigeon"}], "no lead source"),
        ([{"field": "country", "op": "in", "value": []}], "needs a list of values"),
        ([{"field": "language", "op": "eq", "value": ""}], "give a value"),
        ("country = DE", "must be a list"),
    ],
)
def test_bad_conditions_are_refused_with_the_reason(actor, users, conditions, reason):
    with pytest.raises(ValidationError) as caught:
        services.create_rule(actor, name="Bad", user=users[Role.SALES], conditions=conditions)
    assert reason in str(caught.value.message_dict["conditions"]).lower() or reason in str(
        caught.value.message_dict["conditions"]
    )
    assert not AssignmentRule.objects.exists()


def test_a_rule_needs_exactly_one_able_target(actor, users):
    sales, viewer = users[Role.SALES], users[Role.VIEWER]
    empty_team = Team.objects.create(name="Empty")
    cases = [
        ({}, "exactly one"),
        ({"user": sales, "team": empty_team}, "exactly one"),
        ({"team": empty_team}, "no active members"),
        ({"user": viewer}, "may not work on leads"),
    ]
    for target, reason in cases:
        with pytest.raises(ValidationError) as caught:
            services.create_rule(actor, name="Target", **target)
        assert reason in caught.value.message_dict["target"][0]
    gone = User.objects.create_user("gone@example.com", role=Role.SALES, is_active=False)
    with pytest.raises(ValidationError, match="deactivated"):
        services.create_rule(actor, name="Target", user=gone)
    assert not AssignmentRule.objects.exists()


def test_good_conditions_are_normalized(actor, users):
    rule = services.create_rule(
        actor,
        name="DACH",
        user=users[Role.SALES],
        conditions=[
            {"field": "country", "op": "in", "value": "de, at ,ch"},
            {"field": "estimated_value", "op": "gt", "value": "5,000"},
            {"field": "custom.industry", "op": "exists"},
        ],
    )
    assert rule.conditions == [
        {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
        {"field": "estimated_value", "op": "gt", "value": "5000"},
        {"field": "custom.industry", "op": "exists", "value": None},
    ]


def test_the_staff_page_refuses_an_invalid_rule_with_the_reason(client_as, users):
    client = client_as(Role.ADMIN)
    response = client.post(
        "/intake/routing/rules/new/",
        {
            "name": "Broken",
            "target": f"user:{users[Role.SALES].pk}",
            "is_active": "on",
            "c0_field": "country",
            "c0_op": "eq",
            "c0_value": "Germany",
        },
    )
    assert response.status_code == 400
    assert "not a two-letter country code" in response.content.decode()
    assert not AssignmentRule.objects.exists()
    # fixed, it is saved and listed
    response = client.post(
        "/intake/routing/rules/new/",
        {
            "name": "Germany",
            "target": f"user:{users[Role.SALES].pk}",
            "is_active": "on",
            "c0_field": "country",
            "c0_op": "eq",
            "c0_value": "de",
        },
    )
    assert response.status_code == 302
    listing = client.get("/intake/routing/").content.decode()
    assert "Germany" in listing and "country is DE" in listing


def test_only_admins_and_owners_edit_rules(client_as):
    assert client_as(Role.SALES).get("/intake/routing/").status_code == 403
    assert client_as(Role.OWNER).get("/intake/routing/").status_code == 200
