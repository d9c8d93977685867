"""Demo: every sales person gets a booking page in the organization's zone and hours."""

from __future__ import annotations

from throughline.core.demo import DemoContext, demo_section
from throughline.core.roles import Role
from throughline.intake.booking import services
from throughline.intake.booking.models import Availability


@demo_section("booking", order=16, has_data=lambda: Availability.objects.exists())
def build_booking(ctx: DemoContext) -> None:
    for user in ctx.users.get(Role.SALES, []):
        if Availability.objects.filter(user=user).exists():
            continue
        services.save_availability(
            ctx.actor,
            user,
            title="Introductory call",
            intro="Thirty minutes to hear what you need and whether we are the right fit.",
            buffer_after_minutes=10,
            min_notice_minutes=240,
            max_per_day=5,
        )
        ctx.count("booking pages")
