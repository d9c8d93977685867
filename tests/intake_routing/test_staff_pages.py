"""Routing's staff pages: teams, rule order, settings, and editing a rule."""

from __future__ import annotations

from throughline.core.roles import Role
from throughline.intake.routing.models import AssignmentRule, RoutingSettings, Team


def test_an_admin_builds_a_team_orders_rules_and_sets_the_fallback(client_as, users, sellers):
    client = client_as(Role.ADMIN)
    sam, ana, *_ = sellers
    response = client.post(
        "/intake/routing/teams/new/",
        {"name": "Inbound", "strategy": "least_loaded", "members": [sam.pk, ana.pk]},
    )
    assert response.status_code == 302
    team = Team.objects.get()
    assert team.strategy == "least_loaded"
    assert {m.user for m in team.memberships.all()} == {sam, ana}
    # a viewer cannot be a member: refused with the reason
    response = client.post(
        f"/intake/routing/teams/{team.pk}/",
        {"name": "Inbound", "strategy": "round_robin", "members": [users[Role.VIEWER].pk]},
    )
    assert response.status_code == 400
    assert "Cannot take leads" in response.content.decode()

    for name, target in (("First", f"team:{team.pk}"), ("Second", f"user:{ana.pk}")):
        client.post(
            "/intake/routing/rules/new/", {"name": name, "target": target, "is_active": "on"}
        )
    second = AssignmentRule.objects.get(name="Second")
    client.post(f"/intake/routing/rules/{second.pk}/move/", {"direction": "up"})
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["Second", "First"]

    # edit: the form shows the rule, saving changes it
    page = client.get(f"/intake/routing/rules/{second.pk}/").content.decode()
    assert 'value="Second"' in page
    client.post(
        f"/intake/routing/rules/{second.pk}/",
        {
            "name": "Second",
            "target": f"user:{ana.pk}",
            "c0_field": "custom.industry",
            "c0_op": "in",
            "c0_value": "retail, food",
        },
    )
    second.refresh_from_db()
    assert second.is_active is False
    assert second.conditions == [
        {"field": "custom.industry", "op": "in", "value": ["retail", "food"]}
    ]

    response = client.post(
        "/intake/routing/", {"fallback_owner": users[Role.OWNER].pk, "escalation": "reassign"}
    )
    assert response.status_code == 302
    current = RoutingSettings.current()
    assert (current.fallback_owner, current.escalation) == (users[Role.OWNER], "reassign")

    client.post(f"/intake/routing/rules/{second.pk}/delete/")
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["First"]


def test_the_forms_render(client_as, sellers):
    client = client_as(Role.OWNER)
    for path in ("/intake/routing/", "/intake/routing/rules/new/", "/intake/routing/teams/new/"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "estimated_value" in client.get("/intake/routing/rules/new/").content.decode()
