"""Intake demo section: lead sources and a few dozen leads, captured like real ones.

Every lead goes through ``capture_lead`` (so contacts, tasks, consent, audit entries and
events are exactly what a real capture makes). New people use ``.example`` domains and
Ofcom's drama phone ranges; some leads come from CRM demo contacts (a repeat
inquiry links to the same contact), some are referrals, two are near-duplicates to review.
Re-running adds nothing: each demo lead has an external id.
"""

from __future__ import annotations

import datetime as dt
import random

import phonenumbers

from throughline.core.demo import DemoContext, demo_section
from throughline.core.roles import Role
from throughline.crm import services as crm
from throughline.crm.models import Activity
from throughline.intake import dedup, services, sla
from throughline.intake.capture import ConsentInput, LeadInput
from throughline.intake.models import Lead, LeadSource

SOURCES = [
    # slug, name, SLA minutes, owner (role, index) or None
    ("website", "Website", 5, None),
    ("google-ads", "Google Ads", 5, (Role.SALES, 0)),
    ("linkedin", "LinkedIn", 15, (Role.SALES, 1)),
    ("partner-referral", "Partner referral", 30, (Role.SALES, 0)),
    ("trade-show", "Trade show", 60, (Role.SALES, 1)),
]

PEOPLE = [
    # first, last, company, domain, title
    ("Hazel", "Abernethy", "Quayside Optometry", "quayside-optometry.example", "Practice Owner"),
    ("Marcus", "Oduya", "Riverbend Joinery Ltd", "riverbend-joinery.example", "Director"),
    ("Elodie", "Fairweather", "Fairweather & Co", "fairweather.example", "Partner"),
    ("Tomasz", "Wieczorek", "Northlight Studios", "northlight-studios.example", "Producer"),
    ("Grace", "Ndlovu", "Cobalt Tutoring", "cobalt-tutoring.example", "Founder"),
    ("Iain", "McAllister", "Glenmore Holidays", "glenmore-holidays.example", "Owner"),
    ("Priya", "Raman", "Lotus Yoga Collective", "lotus-yoga.example", "Studio Manager"),
    ("Owen", "Pritchard", "Pritchard Plumbing", "pritchard-plumbing.example", "Owner"),
    ("Sofia", "Castellano", "Casa Castellano", "casa-castellano.example", "General Manager"),
    ("Daniel", "Okafor", "Okafor Legal", "okafor-legal.example", "Solicitor"),
    ("Freya", "Lindqvist", "Nordic Home Interiors", "nordic-home.example", "Head of Design"),
    ("Jasper", "Holloway", "Holloway Fitness", "holloway-fitness.example", "Owner"),
    ("Amara", "Eze", "Eze Architecture", "eze-architecture.example", "Principal"),
    ("Callum", "Brodie", "", "", ""),
    ("Megan", "Rhys-Jones", "Valley Vets", "valley-vets.example", "Practice Manager"),
    ("Ravi", "Choudhury", "Spice Route Catering", "spice-route.example", "Owner"),
    ("Lena", "Vogel", "Vogel Print", "vogel-print.example", "Managing Director"),
    ("Harvey", "Quinn", "", "", ""),
    ("Ines", "Moreau", "Atelier Moreau", "atelier-moreau.example", "Creative Director"),
    ("Kofi", "Asante", "Asante Logistics", "asante-logistics.example", "Operations Lead"),
    ("Beatrix", "Hale", "Hale & Partners", "hale-partners.example", "Office Manager"),
    ("Niall", "Gallagher", "Harbour Dental", "harbour-dental.example", "Practice Owner"),
]
MESSAGES = [
    "We're looking for help with a website rebuild this quarter. Could we have a call?",
    "Interested in your monthly retainer — what does onboarding look like?",
    "A colleague recommended you. We need a quote for a small project, budget around £8k.",
    "Do you work with businesses outside London? We're in Leeds.",
    "Can you send pricing for the standard package?",
    "Our current supplier is winding down; we need someone from next month.",
    "Saw your talk at the trade show — would love to continue the conversation.",
    "Quick question about availability in the spring.",
]
CAMPAIGNS = ["spring-launch", "always-on", "retargeting", "local-services"]


def _phone(n: int) -> str:
    # Ofcom's drama ranges (Sheffield, Liverpool), apart from the CRM demo's: never a subscriber.
    number = f"+44{('114', '151')[n % 2]}4960{n:03d}"
    return number if phonenumbers.is_valid_number(phonenumbers.parse(number)) else ""


def _ensure_sources(ctx: DemoContext) -> list[LeadSource]:
    sources = []
    for slug, name, minutes, owner_ref in SOURCES:
        owner = ctx.user(*owner_ref) if owner_ref else None
        source, created = LeadSource.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "sla_minutes": minutes, "default_owner": owner},
        )
        if created:
            ctx.count("lead sources")
        sources.append(source)
    return sources


def _respond(ctx: DemoContext, lead: Lead, minutes: float) -> None:
    owner = lead.owner or ctx.user(Role.SALES)
    at = lead.received_at + dt.timedelta(minutes=minutes)
    if at > ctx.now:
        return
    crm.log_activity(
        ctx.as_user(owner),
        kind=Activity.Kind.CALL,
        contact=lead.contact,
        subject="Called them about their inquiry",
        body="Intro call: needs and timing noted.",
        occurred_at=at,
        duration_seconds=ctx.rng.randint(4, 25) * 60,
        direction="out",
        metadata={"lead_id": str(lead.pk)},
    )
    sla.record_first_response(ctx.as_user(owner), lead, at=at, via="call")


def _capture(ctx: DemoContext, key: str, days_ago: float, **data) -> Lead | None:
    received = (
        ctx.business_time(days_ago)
        if days_ago >= 0.5
        else ctx.now - dt.timedelta(minutes=ctx.rng.randint(1, 40))
    )
    result = services.capture_lead(
        ctx.actor,
        LeadInput(
            external_id=f"demo:{key}",
            received_at=received,
            acknowledge=days_ago < 0.5,  # old leads were acknowledged back then
            **data,
        ),
    )
    if not result.created:
        return None
    ctx.count("leads")
    return result.lead


def _follow_up(ctx: DemoContext, lead: Lead, days_ago: float) -> None:
    if days_ago < 0.5:
        return  # today's leads are still waiting: the inbox shows their clocks running
    roll = ctx.rng.random()
    if roll < 0.65:
        _respond(ctx, lead, ctx.rng.uniform(1, 4))
    elif roll < 0.8:
        _respond(ctx, lead, ctx.rng.uniform(20, 180))  # answered late
    elif roll < 0.9:
        services.reject_lead(
            ctx.as_user(lead.owner), lead, reason=ctx.rng.choice(["no_budget", "not_a_fit"])
        )


@demo_section("intake", order=20, has_data=lambda: Lead.objects.exists())
def build_intake(ctx: DemoContext) -> None:
    sources = _ensure_sources(ctx)
    # CRM demo contacts get their blocking keys from a job; index them now, so the demo's
    # near-duplicate is recognised without a worker running.
    dedup.rebuild_keys()
    region_ok = (ctx.org.default_phone_region or "GB") == "GB"
    base = ctx.rng.random()
    for i, (first, last, company, domain, title) in enumerate(PEOPLE):
        # TRICKY: one RNG per lead, so a re-run (which skips existing leads) draws the same
        # values for the others and finds them by their external id.
        ctx.rng = random.Random(f"{base}:new-{i}")
        days_ago = ctx.rng.choice([0, 0.2, 1, 2, 3, 5, 8, 12, 16, 21])
        source = ctx.rng.choice(sources)
        email_domain = domain or "mailbox.example"
        data = {
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower().replace('-', '')}@{email_domain}",
            "phone": _phone(100 + i) if region_ok and ctx.rng.random() < 0.7 else "",
            "company": company,
            "website": f"https://www.{domain}" if domain and ctx.rng.random() < 0.5 else "",
            "title": title,
            "message": ctx.rng.choice(MESSAGES),
            "source": source.slug,
            "channel": Lead.Channel.FORM if source.slug == "website" else Lead.Channel.API,
            "utm": (
                {
                    "utm_source": "google",
                    "utm_medium": "cpc",
                    "utm_campaign": ctx.rng.choice(CAMPAIGNS),
                }
                if source.slug == "google-ads"
                else {}
            ),
            "consents": (
                [ConsentInput("marketing", True, "website-2025-01", "Send me occasional news.")]
                if ctx.rng.random() < 0.4
                else []
            ),
        }
        lead = _capture(ctx, f"new-{i}", days_ago, **data)
        if lead is not None:
            _follow_up(ctx, lead, days_ago)

    known = list(ctx.shared.get("contacts", []))[:8]
    for i, contact in enumerate(known[:5]):  # repeat inquiries: same contact, new lead
        if not contact.email:
            continue
        ctx.rng = random.Random(f"{base}:repeat-{i}")
        days_ago = ctx.rng.choice([0, 1, 4, 9])
        lead = _capture(
            ctx,
            f"repeat-{i}",
            days_ago,
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            message="Following up — we'd like to extend the work we did together.",
            source="website",
            channel=Lead.Channel.FORM,
        )
        if lead is not None:
            _follow_up(ctx, lead, days_ago)
    for i, referrer in enumerate(known[5:7]):  # referrals from existing clients
        ctx.rng = random.Random(f"{base}:referral-{i}")
        first, last = [("Rosalind", "Achebe"), ("Felix", "Marchetti")][i]
        lead = _capture(
            ctx,
            f"referral-{i}",
            ctx.rng.choice([0, 2]),
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}@mailbox.example",
            message=f"{referrer.first_name} suggested we talk to you.",
            source="partner-referral",
            channel=Lead.Channel.REFERRAL,
            referred_by=referrer,
        )
        if lead is not None:
            ctx.count("referrals")
    if known:  # a near-duplicate of a known contact, flagged for review
        original = known[-1]
        local, _, domain = original.email.partition("@")
        _capture(
            ctx,
            "near-duplicate-0",
            0,
            first_name=original.first_name,
            last_name=original.last_name[:-1] + original.last_name[-1:] * 2,
            email=f"{local[:-1]}{local[-1]}{local[-1]}@{domain}",
            company=original.company.name if original.company else "",
            message="Second inquiry from a slightly different address.",
            source="website",
            channel=Lead.Channel.FORM,
        )
