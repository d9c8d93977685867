"""CRM demo section: companies, contacts, activities, tasks, consent, tags, custom fields.

Registered with ``throughline.core.demo``; written only through the CRM services. Names,
e-mail domains (``.example``) and phone numbers (Ofcom's and NANP's ranges reserved for
fiction) are invented, so nothing here reaches a real person.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Iterator
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError

from throughline.core.demo import DemoContext, demo_section
from throughline.core.roles import Role
from throughline.crm import services
from throughline.crm.custom_field_services import create_custom_field
from throughline.crm.models import Activity, Company, Contact, CustomFieldDefinition

# city, street, postcode, fictional phone range (E.164 template, GB)
CITIES = [
    ("London", "Tanner Street", "SE1 2LP", "+442079460{:03d}"),
    ("Manchester", "Ancoats Lane", "M4 6DE", "+441614960{:03d}"),
    ("Bristol", "Harbourside Walk", "BS1 5TX", "+441174960{:03d}"),
    ("Leeds", "Wellington Row", "LS1 4AP", "+441134960{:03d}"),
    ("Birmingham", "Jewellery Quarter Road", "B18 6HA", "+441214960{:03d}"),
    ("Edinburgh", "Leith Walk", "EH6 8RG", "+441314960{:03d}"),
    ("Glasgow", "Merchant Square", "G1 1HD", "+441414960{:03d}"),
    ("Cardiff", "Bute Terrace", "CF10 2FE", "+442920180{:03d}"),
]

# name, domain label, industry, employees, city index, tags
COMPANIES = [
    ("Harbourlight Architects", "harbourlight", "Architecture", 24, 0, ["Key account"]),
    ("Copperfield Bakery Co", "copperfield-bakery", "Food & drink", 38, 2, []),
    ("Northgate Physio Clinic", "northgate-physio", "Healthcare", 12, 3, ["Referral"]),
    ("Kestrel Logistics", "kestrel-logistics", "Logistics", 140, 1, ["Key account"]),
    ("Marlow & Finch Solicitors", "marlowfinch", "Legal", 31, 0, []),
    ("Bluebell Garden Design", "bluebell-gardens", "Design", 6, 2, ["Referral"]),
    ("Ironbridge Engineering", "ironbridge-eng", "Engineering", 85, 4, []),
    ("Thistle & Pine Interiors", "thistleandpine", "Design", 9, 5, ["Partner"]),
    ("Saltmarsh Brewing Co", "saltmarsh-brewing", "Food & drink", 22, 7, []),
    ("Oakridge Dental Practice", "oakridge-dental", "Healthcare", 15, 3, []),
    ("Lumen Learning Trust", "lumen-learning", "Education", 210, 6, ["Key account"]),
    ("Redfern Property Management", "redfern-property", "Property", 46, 1, []),
    ("Willowbank Veterinary Surgery", "willowbank-vets", "Veterinary", 18, 5, []),
    ("Greyfriars Accountancy", "greyfriars-accounts", "Professional services", 27, 0, ["Partner"]),
    ("Fieldhouse Events", "fieldhouse-events", "Events", 11, 4, ["Referral"]),
]
INDUSTRIES = sorted({c[2] for c in COMPANIES})

FIRST_NAMES = """
Amelia Oliver Isla George Ava Arjun Freya Noah Maya Leo Chloe Yusuf Grace Theo Zara Ethan Ruby
Kwame Hannah Callum Niamh Rhys Aisha Finn Sofia Declan Mei Owen Imogen Tariq Eleanor Jamal Lucy
Mateusz Harriet Samir Rosie Ewan Nadia Felix Orla Hamza Bethany Luca Priyanka Alfie Ines Rory
""".split()
LAST_NAMES = """
Whitfield Okonkwo Fraser Nakamura Hughes Kaur Bellamy Achterberg Morrison Adeyemi Hollis Quinn
Thornton Mensah Sinclair Kowalski Ellison Bhatt Gallagher Osei Pemberton Marsh Lindgren Rahman
Carlisle Doyle Ferreira Ashworth Mackenzie Haddad Ainsworth Novak Strickland Chowdhury Blackwood
Reyes Penrose Forsyth Ibrahim Kendrick Lowther Sato Dunmore Whelan Varga Hargreaves
""".split()
TITLES = [
    "Managing Director",
    "Operations Manager",
    "Office Manager",
    "Finance Director",
    "Head of Marketing",
    "Practice Manager",
    "Founder",
    "Partner",
    "Project Lead",
    "Procurement Lead",
    "Facilities Manager",
    "Head of People",
]
CHANNELS = ["E-mail", "Phone", "Video call", "In person"]
MET_AT = [
    "Web form",
    "Referral from a client",
    "Trade show: Business Growth Expo",
    "LinkedIn",
    "Breakfast networking",
    "Cold call",
]
CONTACT_TAGS = ["Decision maker", "Newsletter", "VIP", "Referral", "Budget holder"]

ACTIVITY_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    Activity.Kind.NOTE: [
        ("Background", "{first} runs the {area} side at {company}; prefers short written updates."),
        ("Budget", "Budget for this year is agreed; {first} needs sign-off above £10k."),
        ("Decision process", "Decision by a panel of three; {first} is the day-to-day contact."),
        ("Competitor", "{company} also spoke to two other studios; price is not the only factor."),
    ],
    Activity.Kind.CALL: [
        ("Intro call", "Walked {first} through how we work and typical timelines."),
        ("Scoping call", "Went through requirements; {first} will send the current brief."),
        ("Follow-up on quote", "{first} asked about phasing; we agreed on two stages."),
        ("Check-in", "Quick check-in: all fine, next review in a month."),
    ],
    Activity.Kind.EMAIL: [
        ("Re: proposal timeline", "Confirmed we can start in three weeks if approved by Friday."),
        ("Case studies", "Sent two case studies from {area} projects, as promised."),
        ("Availability next week", "Offered Tuesday or Thursday morning for the workshop."),
        ("Thanks for today", "Summary of the meeting and the agreed next steps."),
    ],
    Activity.Kind.MEETING: [
        ("Discovery meeting", "Met {first} and the team at {company}; goals noted."),
        ("Site visit", "Visited the {city} office; photos and measurements on the shared drive."),
        ("Requirements workshop", "Half-day workshop: priorities ranked, open questions listed."),
        ("Quarterly review", "Reviewed last quarter's results with {first}; happy overall."),
    ],
}
AREAS = ["operations", "marketing", "finance", "client services", "facilities", "people"]
TASK_TITLES = [
    "Send follow-up e-mail to {first}",
    "Call {first} back about the quote",
    "Prepare proposal draft for {company}",
    "Book a site visit at {company}",
    "Send case studies to {first}",
    "Confirm meeting agenda with {first}",
    "Chase signed terms from {company}",
    "Introduce {first} to the delivery team",
]
CONSENT_WORDING = (
    "Yes, Brightwater may e-mail me its occasional newsletter and event invitations. "
    "I can unsubscribe at any time."
)
CUSTOM_FIELDS = [
    {"entity": "company", "key": "industry", "label": "Industry", "kind": "choice",
     "choices": INDUSTRIES, "position": 1},
    {"entity": "company", "key": "employees", "label": "Employees", "kind": "number",
     "position": 2},
    {"entity": "contact", "key": "preferred_channel", "label": "Preferred channel",
     "kind": "choice", "choices": CHANNELS, "position": 1},
    {"entity": "contact", "key": "met_at", "label": "Where we met", "kind": "text",
     "position": 2},
]  # fmt: skip


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class PhoneBook:
    """Unique, valid phone numbers in the organization's region, from fictional ranges."""

    # 555-0100 to 555-0199 is reserved for fiction in every North American area code.
    NANP_AREAS = {"US": ["202", "312", "415", "617", "512"], "CA": ["416", "604", "514"]}

    def __init__(self, region: str, rng: random.Random) -> None:
        self.region = region
        self.rng = rng
        self.used: set[str] = set()

    def _candidates(self, city: int) -> Iterator[str]:
        if self.region == "GB":
            template = CITIES[city % len(CITIES)][3]
            yield from (template.format(n) for n in range(100, 1000))
        elif self.region in self.NANP_AREAS:
            areas = self.NANP_AREAS[self.region]
            for area in areas[city % len(areas) :] + areas:
                yield from (f"+1{area}5550{n:03d}" for n in range(100, 200))
        else:
            example = phonenumbers.example_number_for_type(
                self.region, phonenumbers.PhoneNumberType.FIXED_LINE
            ) or phonenumbers.example_number(self.region)
            if example is None:
                return
            national = str(example.national_number)
            for n in range(1000):
                digits = national[:-3] + f"{n:03d}"
                yield f"+{example.country_code}{digits}"

    def number(self, city: int) -> str:
        candidates = list(self._candidates(city))
        if not candidates:
            return ""
        start = self.rng.randrange(len(candidates))  # scattered, not 0100, 0101, 0102 …
        for candidate in candidates[start:] + candidates[:start]:
            if candidate in self.used:
                continue
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                self.used.add(candidate)
                return candidate
        return ""  # no fictional number left in this region: leave it empty


Definitions = dict[str, CustomFieldDefinition]


def _definitions(entity: str) -> Definitions:
    return {d.key: d for d in CustomFieldDefinition.objects.filter(entity=entity)}


def _custom_values(defs: Definitions, values: dict[str, Any]) -> dict[str, Any]:
    """Only values that fit the definitions as they are (an org may have its own ``industry``)."""
    kept = {}
    for key, value in values.items():
        defn = defs.get(key)
        if defn is None:
            continue
        if defn.kind == CustomFieldDefinition.Kind.CHOICE and value not in (defn.choices or []):
            continue
        if defn.kind == CustomFieldDefinition.Kind.NUMBER and not isinstance(value, int):
            continue
        if defn.kind == CustomFieldDefinition.Kind.TEXT and not isinstance(value, str):
            continue
        kept[key] = value
    return kept


def _skip(ctx: DemoContext, what: str, exc: ValidationError) -> None:
    ctx.count(f"{what} skipped")
    ctx.notes.append(f"{what} skipped: {'; '.join(exc.messages)}")


def _ensure_custom_fields(ctx: DemoContext) -> None:
    for spec in CUSTOM_FIELDS:
        if CustomFieldDefinition.objects.filter(entity=spec["entity"], key=spec["key"]).exists():
            continue
        create_custom_field(ctx.actor, **spec)
        ctx.count("custom fields")


def _ensure_companies(ctx: DemoContext, phones: PhoneBook) -> list[tuple[Company, int]]:
    defs = _definitions("company")
    companies = []
    sales = ctx.users.get(Role.SALES, [])
    for index, (name, label, industry, employees, city, tags) in enumerate(COMPANIES):
        city_name, street, postcode, _ = CITIES[city]
        number = ctx.rng.randint(2, 180)
        vat = f"GB{ctx.rng.randint(100_000_000, 999_999_999)}"
        phone = phones.number(city)
        company = Company.objects.filter(name=name).first()
        if company is None:
            owner = sales[index % len(sales)] if sales else None
            try:
                company = services.create_company(
                    ctx.as_user(owner),
                    name=name,
                    website=f"https://www.{label}.example",
                    phone=phone,
                    address=f"{number} {street}\n{city_name}\n{postcode}",
                    country=ctx.org.country or "GB",
                    vat_id=vat,
                    owner=owner,
                    tags=tags,
                    custom=_custom_values(defs, {"industry": industry, "employees": employees}),
                )
            except ValidationError as exc:
                _skip(ctx, "company", exc)
                continue
            ctx.count("companies")
        companies.append((company, city))
    return companies


def _people(ctx: DemoContext, count: int) -> list[tuple[str, str]]:
    pairs = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    return ctx.rng.sample(pairs, count)


def _build_contacts(ctx: DemoContext, companies: list[tuple[Company, int]], phones: PhoneBook):
    """Yield ``(contact, created, city)`` for 60 people: 3–4 per company, the rest on their own."""
    slots: list[tuple[Company | None, int]] = []
    for company, city in companies:
        slots += [(company, city)] * ctx.rng.randint(3, 4)
    slots += [(None, ctx.rng.randrange(len(CITIES))) for _ in range(max(0, 60 - len(slots)))]
    sales = ctx.users.get(Role.SALES, [])
    defs = _definitions("contact")
    for (company, city), (first, last) in zip(slots, _people(ctx, len(slots)), strict=True):
        domain = company.domain if company is not None and company.domain else "mailbox.example"
        email = f"{_ascii(first)}.{_ascii(last)}@{domain}"
        owner = (company.owner if company is not None else None) or (
            ctx.rng.choice(sales) if sales else None
        )
        data = {
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phones.number(city),
            "title": ctx.rng.choice(TITLES) if company is not None else "",
            "company": company,
            "owner": owner,
            "tags": ctx.rng.sample(CONTACT_TAGS, ctx.rng.choice([0, 1, 1, 2])),
            "custom": _custom_values(
                defs,
                {"preferred_channel": ctx.rng.choice(CHANNELS), "met_at": ctx.rng.choice(MET_AT)},
            ),
        }
        existing = Contact.objects.filter(email_normalized=email.lower()).first()
        if existing is not None:
            yield existing, False, city
            continue
        try:
            contact = services.create_contact(ctx.as_user(owner), **data)
        except ValidationError as exc:
            _skip(ctx, "contact", exc)
            continue
        ctx.count("contacts")
        yield contact, True, city


def _log_activities(ctx: DemoContext, contact: Contact, city: int) -> None:
    names = {
        "first": contact.first_name,
        "company": contact.company.name if contact.company else "their business",
        "area": ctx.rng.choice(AREAS),
        "city": CITIES[city][0],
    }
    kinds = list(ACTIVITY_TEMPLATES)
    for _ in range(ctx.rng.randint(1, 5)):
        kind = ctx.rng.choices(kinds, weights=[2, 3, 3, 2])[0]
        subject, body = ctx.rng.choice(ACTIVITY_TEMPLATES[kind])
        author = contact.owner
        if ctx.rng.random() < 0.15:
            author = ctx.user(ctx.rng.choice([Role.DELIVERY, Role.BILLING]))
        extra: dict[str, Any] = {}
        if kind in {Activity.Kind.CALL, Activity.Kind.EMAIL}:
            extra["direction"] = ctx.rng.choice(["out", "out", "in"])
        if kind == Activity.Kind.CALL:
            extra["duration_seconds"] = ctx.rng.randint(3, 40) * 60
        if kind == Activity.Kind.MEETING:
            extra["duration_seconds"] = ctx.rng.choice([30, 45, 60, 90]) * 60
            extra["metadata"] = {"location": ctx.rng.choice(["Their office", "Video call"])}
        services.log_activity(
            ctx.as_user(author),
            kind=kind,
            contact=contact,
            subject=subject,
            body=body.format(**names),
            occurred_at=ctx.business_time(ctx.rng.uniform(0.5, 56)),
            **extra,
        )
        ctx.count("activities")


def _create_tasks(ctx: DemoContext, contact: Contact) -> None:
    if ctx.rng.random() > 0.7:
        return
    names = {
        "first": contact.first_name,
        "company": contact.company.name if contact.company else contact.full_name,
    }
    offset = ctx.rng.randint(-20, 14)
    due: dt.datetime | None = ctx.business_time(abs(offset), future=offset >= 0)
    if ctx.rng.random() < 0.1:
        due = None  # a to-do without a date
    owner = contact.owner or ctx.user(Role.SALES)
    task = services.create_task(
        ctx.as_user(owner),
        title=ctx.rng.choice(TASK_TITLES).format(**names),
        owner=owner,
        contact=contact,
        due_at=due,
    )
    ctx.count("tasks")
    # Most past-due tasks got done; the rest show up as overdue.
    if due is not None and due < ctx.now and ctx.rng.random() < 0.55:
        services.complete_task(ctx.as_user(owner), task)
        ctx.count("tasks done")


def _record_consent(ctx: DemoContext, contact: Contact) -> None:
    if ctx.rng.random() < 0.3:
        return
    source = ctx.rng.choice(["web form", "event sign-up", "e-mail reply"])
    services.record_consent(
        ctx.actor,
        contact,
        purpose="marketing",
        granted=True,
        wording=CONSENT_WORDING,
        wording_version="2026-01",
        source=source,
    )
    ctx.count("consent records")
    if ctx.rng.random() < 0.12:
        services.record_consent(
            ctx.actor,
            contact,
            purpose="marketing",
            granted=False,
            wording="Unsubscribed from the newsletter.",
            wording_version="2026-01",
            source="unsubscribe link",
        )
        ctx.count("consent records")


def _team_tasks(ctx: DemoContext, companies: list[tuple[Company, int]]) -> None:
    """A few internal tasks for delivery and billing, so every role has something to do."""
    if not companies:
        return
    plans = [
        (Role.DELIVERY, "Prepare onboarding checklist for {company}", 3, True),
        (Role.DELIVERY, "Schedule kick-off with {company}", 2, False),
        (Role.BILLING, "Check payment terms for {company}", 4, False),
        (Role.BILLING, "Confirm VAT number of {company}", 6, True),
    ]
    for index, (role, title, days, overdue) in enumerate(plans):
        # Picked by position, not by the RNG: on a re-run the RNG has drawn less by now.
        company = companies[(index * 4 + 1) % len(companies)][0]
        owner = ctx.user(role)
        title = title.format(company=company.name)
        if owner is None or company.tasks.filter(title=title).exists():
            continue
        services.create_task(
            ctx.as_user(owner),
            title=title,
            owner=owner,
            company=company,
            due_at=ctx.business_time(days, future=not overdue),
        )
        ctx.count("tasks")


def _has_contacts() -> bool:
    return Contact.objects.exists()


@demo_section("crm", order=10, has_data=_has_contacts)
def build_crm(ctx: DemoContext) -> None:
    phones = PhoneBook(ctx.org.default_phone_region or "GB", ctx.rng)
    _ensure_custom_fields(ctx)
    companies = _ensure_companies(ctx, phones)
    contacts = []
    for contact, created, city in _build_contacts(ctx, companies, phones):
        contacts.append(contact)
        if not created:
            continue  # its history is already there (or is the user's own)
        _log_activities(ctx, contact, city)
        _create_tasks(ctx, contact)
        _record_consent(ctx, contact)
    for company, _ in companies:
        if not Activity.objects.filter(company=company, contact=None).exists():
            services.log_activity(
                ctx.as_user(company.owner),
                kind=Activity.Kind.NOTE,
                company=company,
                subject="Account summary",
                body=f"{company.name}: long-standing prospect; see contacts for the history.",
                occurred_at=ctx.business_time(ctx.rng.uniform(20, 50)),
            )
            ctx.count("activities")
    _team_tasks(ctx, companies)
    ctx.shared["companies"] = [company for company, _ in companies]
    ctx.shared["contacts"] = contacts
