"""Demo data: a registry of *sections*, one per app, run in flow order by ``throughline demo``.

Each app adds its part in its own ``demo.py`` (found by ``autodiscover_modules("demo")``)::

    from throughline.core.demo import DemoContext, demo_section

    @demo_section("sales", order=30, has_data=lambda: Deal.objects.exists())
    def build_sales(ctx: DemoContext) -> None:
        for contact in ctx.shared["contacts"]: ...
        ctx.count("deals")

Rules every section follows:

* Write through the app's services only (never ``.save()``), so every record is validated,
  audited and announced exactly as if a person had entered it; ``audit verify`` passes after.
* Be deterministic: draw from ``ctx.rng`` (seeded), never from ``random`` or the network.
* Be re-runnable: look up what exists (by a natural key: e-mail, name …) and skip it. Draw
  what decides a record's identity (or anything after a skip point) from
  ``ctx.rng_for(key)``, so a re-run that skips records still draws the same values.
* Put what later sections need into ``ctx.shared`` (``"contacts"``, ``"companies"`` …).
* Use ``.example`` domains and fictional phone ranges, so no demo record reaches a real person.

Core's own section (the organization's details and one user per role) lives here.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.core.roles import Role
from throughline.core.services import create_user, update_organization

DEMO_SEED = 20260401
DEMO_DOMAIN = "brightwater.example"


@dataclass
class DemoContext:
    """What every section receives: who acts, a seeded RNG, "now", and what came before."""

    actor: Actor
    rng: random.Random
    now: dt.datetime
    org: Organization
    users: dict[str, list[User]] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    created: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    seed: int = DEMO_SEED
    section: str = ""  # the section being built
    password: str | None = None  # of the users created in this run, shown once
    new_users: list[User] = field(default_factory=list)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.org.time_zone or "UTC")

    def rng_for(self, key: str) -> random.Random:
        """A generator of its own for one record (``ctx.rng_for(f"lead:{i}")``).

        TRICKY: ``ctx.rng`` is shared by the whole section, so on a re-run, where existing
        records are skipped together with their draws, every later draw comes out differently.
        Draw a record's choices (its source, its dates …) from ``rng_for(its key)`` instead and
        they are the same on every run, whatever was skipped before it.
        """
        return random.Random(f"{self.seed}:{self.section}:{key}")

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] += n

    def user(self, role: str, index: int = 0) -> User | None:
        """The ``index``-th demo user of ``role`` (cycling), else any demo user, else None."""
        people = self.users.get(role) or [u for group in self.users.values() for u in group]
        return people[index % len(people)] if people else None

    def as_user(self, user: User | None) -> Actor:
        """The CLI acting on behalf of a demo user (so timelines show who did what)."""
        return Actor.cli(user) if user is not None else self.actor

    def business_time(self, days_ago: float, *, future: bool = False) -> dt.datetime:
        """An aware time ``days_ago`` days back (or ahead), moved onto a working day between
        09:00 and 17:00 in the organization's time zone; past times never exceed ``now``."""
        local_now = self.now.astimezone(self.tz)
        sign = 1 if future else -1
        day = (local_now + sign * dt.timedelta(days=days_ago)).date()
        while day.isoweekday() > 5:
            day += dt.timedelta(days=sign)
        minute = self.rng.randrange(9 * 60, 17 * 60, 5)
        moment = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.tz)
        if not future and moment > self.now:
            moment = self.now - dt.timedelta(minutes=self.rng.randint(5, 90))
        return moment


@dataclass(frozen=True)
class DemoSection:
    name: str
    order: int
    build: Callable[[DemoContext], None]
    has_data: Callable[[], bool] | None = None


_sections: dict[str, DemoSection] = {}


def demo_section(
    name: str, *, order: int, has_data: Callable[[], bool] | None = None
) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    """Register ``build(ctx)`` as the demo section ``name``; lower ``order`` runs first.

    ``has_data()`` answers whether the app already holds real or demo records; ``demo
    --if-empty`` does nothing when any section says so.
    """

    def register(build: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        _sections[name] = DemoSection(name=name, order=order, build=build, has_data=has_data)
        return build

    return register


def sections() -> list[DemoSection]:
    autodiscover_modules("demo")
    return sorted(_sections.values(), key=lambda s: (s.order, s.name))


def has_data() -> bool:
    return any(s.has_data() for s in sections() if s.has_data is not None)


def build_demo(*, seed: int = DEMO_SEED, only: list[str] | None = None) -> DemoContext:
    """Run every registered section in order (or only those named, always with "core"),
    each in its own transaction."""
    if only is not None:
        known = {s.name for s in sections()}
        unknown = sorted(set(only) - known)
        if unknown:
            raise ValueError(
                f"Unknown demo sections: {', '.join(unknown)} (known: {sorted(known)})"
            )
        only = [*only, "core"]
    ctx = DemoContext(
        actor=Actor.cli(),
        rng=random.Random(seed),
        now=timezone.now(),
        org=Organization.current(),
        seed=seed,
    )
    for section in sections():
        if only and section.name not in only:
            continue
        # TRICKY: a fresh RNG per section keeps each section's data the same whatever the
        # sections before it drew, so adding an app's section does not reshuffle the others.
        ctx.rng = random.Random(f"{seed}:{section.name}")
        ctx.section = section.name
        with transaction.atomic():
            section.build(ctx)
    return ctx


# --- core: the organization and its people ---------------------------------------------------

DEMO_ORGANIZATION = {
    "legal_name": "Brightwater Studio Ltd",
    "trading_name": "Brightwater",
    "address_line1": "14 Chandlery Yard",
    "address_line2": "Bermondsey Street",
    "postal_code": "SE1 3UN",
    "city": "London",
    "country": "GB",
    "vat_id": "GB 293 4718 56",
    "tax_id": "09871234",
    "email": f"hello@{DEMO_DOMAIN}",
    "phone": "+442079460100",
    "website": f"https://www.{DEMO_DOMAIN}",
    "base_currency": "GBP",
    "default_phone_region": "GB",
    "time_zone": "Europe/London",
    "working_hours": {
        "1": ["09:00", "17:30"],
        "2": ["09:00", "17:30"],
        "3": ["09:00", "17:30"],
        "4": ["09:00", "17:30"],
        "5": ["09:00", "16:00"],
    },
    "brand_color": "#0f766e",
    "bank_account_name": "Brightwater Studio Ltd",
    "iban": "GB33BUKB20201555555555",
    "bic": "BUKBGB22",
    "bank_details": "Sort code 20-20-15, account 55555555. Please quote the invoice number.",
}

# (role, full name, e-mail local part); two sales people so routing and "own records" show.
DEMO_USERS = [
    (Role.OWNER, "Olivia Hart", "olivia"),
    (Role.ADMIN, "Adam Reid", "adam"),
    (Role.SALES, "Sam Patel", "sam"),
    (Role.SALES, "Priya Shah", "priya"),
    (Role.DELIVERY, "Dana Brooks", "dana"),
    (Role.BILLING, "Bill Okafor", "bill"),
    (Role.VIEWER, "Vera Lindqvist", "vera"),
]


def _org_is_unconfigured(org: Organization) -> bool:
    default = Organization._meta.get_field("legal_name").get_default()
    return org.legal_name == default and not org.vat_id and not org.address_line1


@demo_section("core", order=0)
def build_core(ctx: DemoContext) -> None:
    if _org_is_unconfigured(ctx.org):
        ctx.org = update_organization(ctx.actor, **DEMO_ORGANIZATION)
        ctx.count("organization details")
    else:
        ctx.notes.append(f"organization {ctx.org} already set up: left as it is")
    for role, full_name, local in DEMO_USERS:
        email = f"{local}@{DEMO_DOMAIN}"
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            if ctx.password is None:
                ctx.password = "demo-" + secrets.token_urlsafe(9)
            user = create_user(
                ctx.actor, email=email, role=role, full_name=full_name, password=ctx.password
            )
            ctx.count("users")
            ctx.new_users.append(user)
        if user.is_active:
            ctx.users.setdefault(role, []).append(user)
