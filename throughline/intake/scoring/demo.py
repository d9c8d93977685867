"""Demo: scoring rules, a recommend-only rubric and a booking page for the owners."""

from __future__ import annotations

from throughline.core.demo import DemoContext, demo_section
from throughline.intake.scoring import booking, qualification, rules
from throughline.intake.scoring.models import Criterion, ScoringRule

FIT = [
    ("Company given", "has_company", "eq", "yes", 10),
    ("Wrote a detailed message", "message_length", "gte", "200", 10),
    ("Came by referral", "source", "eq", "referral", 20),
    ("Free-mail address", "email_domain", "in", "gmail.com, yahoo.com, hotmail.com", -5),
]
INTENT = [
    ("Replied", "reply", 15),
    ("Booked a meeting", "meeting", 25),
    ("Called", "inbound_call", 10),
]
CRITERIA = [
    ("service", "Gave a company", "has_company", "eq", "yes", 30, False),
    ("custom", "Explained the project", "message_length", "gte", "80", 30, False),
    ("location", "Gave an e-mail address", "email_domain", "present", None, 0, True),
]


@demo_section("intake_scoring", order=25, has_data=lambda: ScoringRule.objects.exists())
def build_scoring(ctx: DemoContext) -> None:
    if not ScoringRule.objects.exists():
        for label, field, operator, value, points in FIT:
            rules.add_rule(
                ctx.actor,
                kind="fit",
                label=label,
                field=field,
                operator=operator,
                value=value,
                points=points,
            )
        for label, signal, points in INTENT:
            rules.add_rule(ctx.actor, kind="intent", label=label, signal=signal, points=points)
        ctx.count("scoring rules", len(FIT) + len(INTENT))
    if not Criterion.objects.exists():
        for kind, label, field, operator, value, points, knockout in CRITERIA:
            qualification.add_criterion(
                ctx.actor,
                kind=kind,
                label=label,
                field=field,
                operator=operator,
                value=value,
                points=points,
                knockout=knockout,
            )
        # Recommend only: the demo's leads keep the statuses the intake section gave them.
        qualification.update_rubric(
            ctx.actor, is_active=True, auto_apply=False, discovery_at=60, nurture_at=30
        )
        ctx.count("qualification criteria", len(CRITERIA))
    for user in ctx.users.get("owner", []) + ctx.users.get("sales", []):
        if not booking.manual_booking_link(user):
            slug = user.email.split("@")[0]
            booking.set_booking_link(ctx.actor, user, f"https://book.brightwater.example/{slug}")
    rules.rescore_open_leads(ctx.actor, reason="Demo scoring rules")
