"""Demo data for sales (``throughline demo``): a catalogue, two approved proposal templates,
deals in every stage (some won, lost, stalled) and proposals at every step of their life.

Written through the services only, deterministic, and re-runnable (see core/demo.py).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from throughline.core.actor import Actor
from throughline.core.demo import DemoContext, demo_section
from throughline.core.models import Channel
from throughline.crm.models import Contact
from throughline.sales.models import CatalogueItem, Deal, LostReason, ProposalTemplate, Stage
from throughline.sales.services import acceptance, approvals, catalogue, comments, templates
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services

CATALOGUE = [
    # code, name, kind, unit, price, tax rate, description
    (
        "DISC",
        "Discovery workshop",
        "service",
        "day",
        "1200",
        "20",
        "Half-day sessions with your team.",
    ),
    ("DSGN", "Design day", "service", "day", "850", "20", "Interface and visual design."),
    ("DEV", "Development day", "service", "day", "900", "20", "Build, test and deploy."),
    ("HOST", "Managed hosting", "service", "month", "140", "20", "Hosting, backups, monitoring."),
    ("SUPP", "Support retainer", "service", "month", "600", "20", "Up to 8 hours a month."),
    ("BOOK", "Brand guidelines book", "product", "copy", "45", "0", "Printed, zero rated."),
    ("LIC", "Analytics licence", "product", "seat", "12", "20", "Per seat and month."),
]

WEBSITE_TERMS = (
    "<p>Prices exclude VAT. Invoices are due within 14 days. {{ organization.legal_name }} "
    "keeps the rights to the work until it is paid in full; afterwards they pass to "
    "{{ company.name }}.</p>"
)


def _website_content(items: dict[str, CatalogueItem]) -> dict:
    return {
        "sections": [
            {
                "title": "Why we are writing",
                "body": "<p>Dear {{ contact.first_name }},</p><p>thank you for telling us about "
                "{{ deal.title }}. This proposal sets out how {{ organization.name }} would "
                "approach it for {{ company.name }}.</p>",
            },
            {
                "title": "How we work",
                "body": "<p>We start with a <strong>discovery workshop</strong>, agree a design, "
                "then build in two-week iterations you can review.</p>",
            },
        ],
        "lines": [
            templates.line_from_item(items["DISC"], quantity="1"),
            templates.line_from_item(items["DSGN"], quantity="4"),
            templates.line_from_item(items["DEV"], quantity="10"),
            templates.line_from_item(items["HOST"], quantity="12", option="hosting"),
            templates.line_from_item(items["SUPP"], quantity="6", option="support"),
        ],
        "options": [
            {"key": "hosting", "title": "Managed hosting for a year", "group": "", "default": True},
            {"key": "support", "title": "Six months of support", "group": "", "default": False},
        ],
        "in_scope": ["Discovery workshop", "Design of up to 8 page types", "Build and launch"],
        "out_of_scope": ["Copywriting", "Photography", "Third-party licence fees"],
        "milestones": [
            {"title": "Discovery done", "offset_days": 10},
            {"title": "Design signed off", "offset_days": 30},
            {"title": "Launch", "offset_days": 70},
        ],
        "payment_schedule": {
            "kind": "installments",
            "items": [
                {"label": "On signing", "percent": "50", "due": "signing"},
                {"label": "At launch", "percent": "50", "due": "completion"},
            ],
        },
        "terms": WEBSITE_TERMS,
    }


def _retainer_content(items: dict[str, CatalogueItem]) -> dict:
    return {
        "sections": [
            {
                "title": "Ongoing care",
                "body": "<p>{{ contact.first_name }}, this retainer keeps {{ company.name }}'s "
                "site fast, safe and improving every month.</p>",
            }
        ],
        "lines": [
            templates.line_from_item(items["SUPP"], quantity="1"),
            templates.line_from_item(items["HOST"], quantity="1"),
        ],
        "options": [],
        "in_scope": ["Security updates", "Monthly report", "Up to 8 hours of changes"],
        "out_of_scope": ["New features beyond 8 hours"],
        "milestones": [],
        "payment_schedule": {"kind": "retainer", "items": [], "term_months": 12},
        "terms": "<p>Billed monthly in advance; 30 days' notice to end.</p>",
    }


def _catalogue(ctx: DemoContext) -> dict[str, CatalogueItem]:
    items = {}
    currency = ctx.org.base_currency
    for code, name, kind, unit, price, rate, description in CATALOGUE:
        item = CatalogueItem.objects.filter(code=code).first()
        if item is None:
            item = catalogue.create_item(
                ctx.actor,
                code=code,
                name=name,
                kind=kind,
                unit=unit,
                unit_price=price,
                currency=currency,
                tax_rate=rate,
                tax_category="S" if rate != "0" else "Z",
                description=description,
            )
            ctx.count("catalogue items")
        items[code] = item
    return items


def _template(ctx: DemoContext, name: str, content: dict, valid_days: int) -> ProposalTemplate:
    template = ProposalTemplate.objects.filter(name=name).first()
    if template is not None:
        return template
    owner = ctx.user("owner")
    template = templates.create_template(
        ctx.as_user(ctx.user("sales")),
        name=name,
        currency=ctx.org.base_currency,
        valid_days=valid_days,
        content=content,
    )
    version = template.versions.get()
    templates.submit_version(ctx.as_user(ctx.user("sales")), version)
    templates.approve_version(ctx.as_user(owner), version, "Approved for use.")
    ctx.count("proposal templates")
    return template


# (stage name or status, value, what happens to its proposal)
PLAN = [
    ("New", 4000, None),
    ("New", 9000, None),
    ("Qualified", 15000, "draft"),
    ("Qualified", 6500, None),
    ("Proposal sent", 22000, "sent"),
    ("Proposal sent", 18000, "viewed"),
    ("Proposal sent", 31000, "needs approval"),
    ("Negotiation", 27000, "revised"),
    ("Negotiation", 12000, "viewed"),
    ("won", 24000, "accepted"),
    ("won", 7200, "retainer accepted"),
    ("lost", 14000, "sent"),
    ("stalled", 8000, None),
]


def _client_actor(contact: Contact) -> Actor:
    return Actor(user=None, channel=Channel.PORTAL, ip="198.51.100.23", label=f"{contact} (demo)")


def _proposal(ctx: DemoContext, deal: Deal, what: str, website, retainer) -> None:
    seller = ctx.as_user(deal.owner)
    template = retainer if what.startswith("retainer") else website
    proposal = proposal_services.create_proposal(seller, deal, template)
    ctx.count("proposals")
    version = proposal.latest_version()
    if what == "draft":
        return
    if what == "needs approval":
        lines = proposal_services.line_dicts(version)
        lines[2]["discount_percent"] = "25"
        version = proposal_services.update_draft(seller, version, lines=lines)
        approvals.request_approval(seller, version, "Large account; worth the discount.")
        return
    if not deal.contact or not deal.contact.email:
        return
    proposal_services.send_proposal(seller, proposal, message="As discussed on our call.")
    client = _client_actor(deal.contact)
    if what in {"viewed", "revised", "accepted", "retainer accepted"}:
        proposal_services.record_view(client, proposal, proposal.client_version())
    if what == "revised":
        comment = comments.add_comment(
            client,
            proposal,
            body="Could we phase the build over two quarters?",
            client=True,
            client_name=deal.contact.full_name,
            requests_change=True,
        )
        revision = proposal_services.revise_proposal(
            seller, proposal, note="Build split over two quarters.", requested_in=comment
        )
        proposal_services.update_draft(
            seller,
            revision,
            content={
                "milestones": [
                    {"title": "Discovery done", "offset_days": 10},
                    {"title": "Phase 1 live", "offset_days": 60},
                    {"title": "Phase 2 live", "offset_days": 150},
                ]
            },
        )
        proposal_services.send_proposal(seller, proposal)
        comments.add_comment(
            seller, proposal, body="Here is the phased version — see the timeline."
        )
    if what in {"accepted", "retainer accepted"}:
        options = ["hosting"] if what == "accepted" else []
        acceptance.accept_proposal(
            client,
            proposal,
            version_id=proposal.client_version().pk,
            options=options,
            name=deal.contact.full_name,
            email=deal.contact.email,
            agreed=True,
            user_agent="demo",
        )


def _has_deals() -> bool:
    return Deal.objects.exists()


@demo_section("sales", order=30, has_data=_has_deals)
def build_sales(ctx: DemoContext) -> None:
    items = _catalogue(ctx)
    website = _template(ctx, "Website project", _website_content(items), 30)
    retainer = _template(ctx, "Monthly care retainer", _retainer_content(items), 21)
    # From the database in a fixed order, not ctx.shared: a re-run of this section alone must
    # pick the same people, or it would make the same deals again under other names.
    contacts = list(
        Contact.objects.exclude(email="")
        .select_related("company")
        .order_by("email_normalized")[: len(PLAN)]
    )
    if not contacts:
        ctx.notes.append("sales: no contacts to make deals for (run the crm section first).")
        return
    pipeline = pipeline_services.default_pipeline()
    stages = {s.name: s for s in Stage.objects.filter(pipeline=pipeline)}
    for index, (where, value, what) in enumerate(PLAN):
        contact = contacts[index % len(contacts)]
        title = (
            f"{contact.company or contact} — {'website' if index % 3 else 'care plan'} #{index + 1}"
        )
        if Deal.objects.filter(title=title).exists():
            continue
        owner = ctx.user("sales", index) or ctx.user("owner")
        seller = ctx.as_user(owner)
        try:
            deal = pipeline_services.create_deal(
                seller,
                title=title,
                contact=contact,
                owner=owner,
                value=str(value),
                currency=ctx.org.base_currency,
                expected_close_date=(ctx.now + dt.timedelta(days=14 + 7 * index)).date(),
                source="demo",
            )
        except ValidationError as exc:
            ctx.notes.append(f"sales: skipped {title}: {exc.messages[0]}")
            continue
        ctx.count("deals")
        stage = stages.get(where)
        if stage is not None and stage != deal.stage:
            deal = pipeline_services.move_deal(seller, deal, stage)
        if what:
            _proposal(ctx, deal, what, website, retainer)
        if where == "won":
            pipeline_services.win_deal(seller, deal)
        elif where == "lost":
            reason = LostReason.objects.filter(active=True).order_by("position").first()
            pipeline_services.lose_deal(seller, deal, reason, "Chose an agency closer to them.")
        elif where == "stalled":
            pipeline_services.touch(deal, at=ctx.now - dt.timedelta(days=21))
