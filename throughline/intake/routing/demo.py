"""Demo: an inbound team taking turns, a rule for big projects, the owner as fallback."""

from __future__ import annotations

from throughline.core.demo import DemoContext, demo_section
from throughline.core.roles import Role
from throughline.intake.routing import services
from throughline.intake.routing.models import AssignmentRule, RoutingSettings, Team


@demo_section("routing", order=15, has_data=lambda: AssignmentRule.objects.exists())
def build_routing(ctx: DemoContext) -> None:
    sellers = [u for u in ctx.users.get(Role.SALES, []) if u.is_active]
    owner = ctx.user(Role.OWNER)
    if not sellers or owner is None:
        ctx.notes.append("routing: no sales users, no rules")
        return
    team = Team.objects.filter(name="Inbound").first()
    if team is None:
        team = services.save_team(
            ctx.actor,
            None,
            name="Inbound",
            strategy=Team.Strategy.ROUND_ROBIN,
            members=sellers,
            manager=owner,
        )
        ctx.count("routing teams")
    if not AssignmentRule.objects.filter(name="Large projects").exists():
        services.create_rule(
            ctx.actor,
            name="Large projects",
            user=sellers[0],
            conditions=[{"field": "estimated_value", "op": "gte", "value": "20000"}],
        )
        ctx.count("routing rules")
    if not AssignmentRule.objects.filter(name="Everyone else").exists():
        services.create_rule(ctx.actor, name="Everyone else", team=team)
        ctx.count("routing rules")
    if RoutingSettings.current().fallback_owner_id is None:
        services.update_settings(ctx.actor, fallback_owner=owner, escalation="notify")
