"""``capture_lead``: the one entry point every channel calls.

Forms, the API, webhooks, e-mail-to-lead, calls, CSV import and manual entry each turn what
they received into a ``LeadInput`` and call ``capture_lead(actor, data)``. Before writing
(``prepare``) it:

1. validates and normalizes everything (names, e-mail, E.164 phone in the organization's
   region, website → domain, UTM, consent, custom fields) — bad input raises a
   ``ValidationError`` with one message per field, before anything is written;
2. looks the person up: an exact match on normalized e-mail or phone, their company, and
   for a new person the likely matches (``dedup``).

Then in one transaction (``capture_prepared``; the API calls both halves itself, so that the
first runs outside its transaction — on SQLite a write transaction holds the one writer lock
from its start) it looks again for a company or person it would create (another capture may
have made it meanwhile) and:

3. links the lead to the known contact (adding details it lacked, never overwriting), or
   creates the contact through ``crm.services`` and flags the likely matches as
   ``PossibleDuplicate`` rows with a confidence;
4. creates the lead with its owner and first-response deadline (``sla``), records consent,
   queues the acknowledgement e-mail, creates the owner's first-contact task, writes the
   audit entry and emits ``lead.captured``.

Concurrency: the same new person submitted twice at once must give one contact. The
database enforces it (``crm.Contact`` has a unique normalized e-mail); a capture that loses
the race rolls back to a savepoint and links to the winner's contact. On PostgreSQL a
transaction-scoped advisory lock per e-mail / phone / company is taken first in the
transaction (before the second look), so captures of one person queue up instead of racing
(and phone-only people, which have no unique constraint, are covered too).

TRICKY: lock order. The audit chain's head row is one lock every audited write takes. A
capture keeps its audit entries (and events and jobs) until its end (``audit_log.batch``)
and takes the head's lock last, after every insert, so it never waits on a contact's unique
e-mail while holding the audit head. The advisory locks come first of all. Capturing many
leads inside one long transaction (an all-or-nothing import) is fine from a single writer;
two such writers may deadlock — the first capture's head lock is held until commit —
PostgreSQL detects it within a second and one of them fails (the API answers 500 and a
retry succeeds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from throughline.core import audit_log, events, jobs
from throughline.core.actor import Actor
from throughline.core.lookup_cache import batch_cache, cached_config
from throughline.core.models import Organization, User
from throughline.crm import services as crm
from throughline.crm.custom_fields import validate_custom
from throughline.crm.models import Company, Contact, Task
from throughline.crm.normalize import clean_name, normalize_email, normalize_phone, website_domain
from throughline.intake import dedup, matching, sla
from throughline.intake.models import Lead, LeadSource, PossibleDuplicate

logger = logging.getLogger(__name__)

Channel = Lead.Channel
ACK_TEMPLATE = "lead-acknowledgement"

# The source a lead gets when its channel does not name one.
CHANNEL_SOURCES = {
    Channel.FORM: ("website", "Website"),
    Channel.API: ("api", "API"),
    Channel.WEBHOOK: ("webhook", "Webhook"),
    Channel.EMAIL: ("email", "E-mail"),
    Channel.CALL: ("phone", "Phone"),
    Channel.IMPORT: ("import", "Import"),
    Channel.MANUAL: ("manual", "Manual entry"),
    Channel.REFERRAL: ("referral", "Referral"),
}
SOURCE_NAMES = dict(CHANNEL_SOURCES.values())

MAX_MESSAGE = 20_000
MAX_RAW_BYTES = 256 * 1024
MAX_UTM_KEYS = 20
UTM_ALIASES = {
    "source": "utm_source",
    "medium": "utm_medium",
    "campaign": "utm_campaign",
    "term": "utm_term",
    "content": "utm_content",
}
CLICK_IDS = {"gclid", "fbclid", "msclkid", "ttclid", "li_fat_id", "wbraid", "gbraid"}
_UTM_KEY = re.compile(r"^utm_[a-z0-9_]{1,40}$")
# Control characters (NUL breaks PostgreSQL text); tab and newlines stay in multi-line text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass
class ConsentInput:
    """Consent given with the inquiry: recorded on the contact (``crm.ConsentRecord``)."""

    purpose: str = "marketing"
    granted: bool = True
    wording_version: str = ""
    wording: str = ""


@dataclass
class LeadInput:
    """What a channel received, in the channel's own words; ``capture_lead`` cleans it."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    company: str = ""
    website: str = ""
    title: str = ""
    message: str = ""
    source: str = ""  # LeadSource slug; the channel's default source when empty
    channel: str = Channel.API
    utm: dict[str, Any] = field(default_factory=dict)
    referrer: str = ""
    consents: list[ConsentInput] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)  # the lead's custom fields
    contact_custom: dict[str, Any] = field(default_factory=dict)  # a new contact's
    raw: Any = None  # the payload as received, kept for support and re-processing
    owner: User | None = None  # explicit owner; else routing's choice (choose_owner)
    referred_by: Contact | None = None
    external_id: str = ""  # the channel's id for this inquiry: capturing it twice is a no-op
    received_at: dt.datetime | None = None  # when it arrived, if not now (imports, e-mail)
    ip: str | None = None
    acknowledge: bool = True  # send the acknowledgement e-mail (imports may not)
    create_task: bool = True


@dataclass
class CaptureResult:
    lead: Lead
    contact: Contact
    created: bool  # False: the external id was captured before; this is that lead
    contact_created: bool
    matched_on: str  # "email" / "phone" when the person was known, else ""
    possible_duplicates: list[PossibleDuplicate]
    task: Task | None = None
    acknowledgement: Any = None  # messaging.OutboundMessage


@dataclass
class _Clean:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    email_normalized: str = ""
    phone: str = ""
    company_name: str = ""
    website: str = ""
    website_domain: str = ""
    title: str = ""
    message: str = ""
    source_slug: str = ""
    source: LeadSource | None = None
    channel: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    referrer: str = ""
    consents: list[ConsentInput] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    raw: Any = None
    external_id: str = ""
    received_at: dt.datetime | None = None
    ip: str | None = None

    @property
    def email_domain(self) -> str:
        return matching.split_email(self.email_normalized)[1]


# --- Validation and normalization -------------------------------------------------------------


def _text(value: Any, name: str, limit: int, errors: dict, *, multiline: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = "Must be text."
        return ""
    value = _CONTROL.sub("", value)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    else:
        value = " ".join(value.split())
    if len(value) > limit:
        errors[name] = f"At most {limit} characters (got {len(value)})."
    return value


def _clean_utm(value: Any, errors: dict) -> dict[str, str]:
    if not value:
        return {}
    if not isinstance(value, dict):
        errors["utm"] = 'Give the UTM parameters as an object, e.g. {"utm_source": "google"}.'
        return {}
    cleaned: dict[str, str] = {}
    for raw_key, raw_value in value.items():
        key = str(raw_key).strip().lower()
        key = UTM_ALIASES.get(key, key)
        if not (_UTM_KEY.match(key) or key in CLICK_IDS):
            errors["utm"] = f"Unknown parameter {str(raw_key)[:40]!r}: use utm_source, utm_medium …"
            return {}
        if raw_value is None:
            continue
        if isinstance(raw_value, bool) or not isinstance(raw_value, str | int | float):
            errors["utm"] = f"{key}: must be text."
            return {}
        text = _CONTROL.sub("", str(raw_value)).strip()
        if len(text) > 300:
            errors["utm"] = f"{key}: at most 300 characters."
            return {}
        if text:
            cleaned[key] = text
    if len(cleaned) > MAX_UTM_KEYS:
        errors["utm"] = f"At most {MAX_UTM_KEYS} parameters."
    return cleaned


def _clean_consents(consents: list[ConsentInput], channel: str, errors: dict) -> list:
    cleaned = []
    for index, consent in enumerate(consents or []):
        prefix = f"consent.{index}" if len(consents) > 1 else "consent"
        purpose = (consent.purpose or "").strip().lower()
        if not purpose or len(purpose) > 64 or not re.fullmatch(r"[a-z0-9_.-]+", purpose):
            errors[prefix] = "Name the purpose with letters, digits, '-' or '_' (e.g. marketing)."
            continue
        version = " ".join((consent.wording_version or "").split())[:32] or f"{channel}-unversioned"
        wording = _CONTROL.sub("", consent.wording or "").strip()
        if len(wording) > 5000:
            errors[prefix] = "The consent wording is longer than 5000 characters."
            continue
        cleaned.append(ConsentInput(purpose, bool(consent.granted), version, wording))
    return cleaned


def _clean_raw(raw: Any, errors: dict) -> Any:
    if raw is None:
        return None
    try:
        encoded = json.dumps(raw, cls=DjangoJSONEncoder)
    except (TypeError, ValueError):
        return {"_omitted": "the payload could not be stored as JSON"}
    if len(encoded) > MAX_RAW_BYTES:
        return {"_omitted": f"the payload was larger than {MAX_RAW_BYTES // 1024} KB"}
    # PostgreSQL's jsonb refuses \u0000; the payload is kept for reading, not replaying bytes.
    return json.loads(encoded.replace("\\u0000", ""))


def clean_input(data: LeadInput, org: Organization | None = None) -> _Clean:
    """Validate and normalize ``data``; raise ``ValidationError`` with every field's problem."""
    org = org or Organization.current()
    errors: dict[str, str] = {}
    c = _Clean()

    if data.channel not in Channel.values:
        errors["channel"] = f"Choose one of: {', '.join(Channel.values)}."
    c.channel = data.channel
    for name in ("first_name", "last_name"):
        text = _text(getattr(data, name), name, 100, errors)
        setattr(c, name, clean_name(text))
    email = _text(data.email, "email", 254, errors)
    if email and "email" not in errors:
        try:
            c.email, c.email_normalized = normalize_email(email)
        except ValidationError as exc:
            errors["email"] = " ".join(exc.messages)
    phone = _text(data.phone, "phone", 64, errors)
    if phone and "phone" not in errors:
        try:
            c.phone = normalize_phone(phone, org.default_phone_region)
        except ValidationError as exc:
            errors["phone"] = " ".join(exc.messages)
    c.company_name = _text(data.company, "company", 200, errors)
    c.website = _text(data.website, "website", 200, errors)
    if c.website and "website" not in errors:
        try:
            c.website_domain = website_domain(c.website).encode("idna").decode("ascii")
        except UnicodeError:
            c.website_domain = ""
        scheme = c.website.split("://", 1)[0].lower() if "://" in c.website else "https"
        if scheme not in {"http", "https"} or not _HOST.match(c.website_domain):
            errors["website"] = "Give a website address such as example.com."
    c.title = _text(data.title, "title", 100, errors)
    c.message = _text(data.message, "message", MAX_MESSAGE, errors, multiline=True)
    c.referrer = _text(data.referrer, "referrer", 1000, errors)
    c.utm = _clean_utm(data.utm, errors)
    c.consents = _clean_consents(data.consents, data.channel, errors)
    c.external_id = _text(data.external_id, "external_id", 200, errors)
    c.raw = _clean_raw(data.raw, errors)
    c.ip = data.ip

    slug = _text(data.source, "source", 50, errors).lower()
    if not slug and data.channel in CHANNEL_SOURCES:
        slug = CHANNEL_SOURCES[data.channel][0]
    if slug and "source" not in errors:
        try:
            validate_slug(slug)
        except ValidationError:
            errors["source"] = "Use letters, digits, '-' or '_' (e.g. google-ads)."
        else:
            c.source = cached_config(
                ("intake.source", slug),
                lambda: (
                    LeadSource.objects.select_related("default_owner").filter(slug=slug).first()
                ),
            )
            if c.source is not None and not c.source.is_active:
                errors["source"] = f"The lead source {slug!r} is switched off."
    c.source_slug = slug

    try:
        c.custom = validate_custom("lead", data.custom or {}, partial=False)
    except ValidationError as exc:
        errors.update({key: " ".join(msgs) for key, msgs in exc.message_dict.items()})

    if data.owner is not None and not data.owner.is_active:
        errors["owner"] = "This user is deactivated."
    if data.received_at is not None:
        if timezone.is_naive(data.received_at):
            errors["received_at"] = "Give a time with its time zone."
        elif data.received_at > timezone.now() + dt.timedelta(minutes=5):
            errors["received_at"] = "This time is in the future."
        else:
            c.received_at = data.received_at
    if not c.email and not c.phone and not ({"email", "phone"} & set(errors)):
        errors["__all__"] = "Give an e-mail address or a phone number, so the lead can be answered."
    if errors:
        raise ValidationError(errors)
    return c


# --- Finding the person ----------------------------------------------------------------------


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def lock_identities(*cleans: _Clean) -> None:
    """PostgreSQL: queue captures of the same person / company (see the module docstring)."""
    if connection.vendor != "postgresql":
        return  # SQLite runs one writer at a time (BEGIN IMMEDIATE)
    keys = set()
    for clean in cleans:
        if clean.email_normalized:
            keys.add(f"intake:email:{clean.email_normalized}")
        if clean.phone:
            keys.add(f"intake:phone:{clean.phone}")
        company = matching.company_key(clean.company_name)
        if company:
            keys.add(f"intake:company:{company}")
    # Sorted, so two captures needing the same locks take them in the same order.
    locks = sorted({_lock_id(key) for key in keys})
    if locks:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [locks]
            )


def _names_conflict(contact: Contact, clean: _Clean) -> bool:
    a = dedup.Person(first_name=contact.first_name, last_name=contact.last_name)
    b = dedup.Person(first_name=clean.first_name, last_name=clean.last_name)
    names = dedup.name_similarity(a, b)
    return names is not None and (names[1] < 0.75 or names[0] < 0.6)


def find_known_contact(clean: _Clean, *, by_email: bool = True) -> tuple[Contact | None, str]:
    """The contact this person already is: same normalized e-mail, else same phone.

    A phone match counts only when it does not contradict the e-mail or the name: an office
    switchboard is shared by colleagues who are not one person.
    """
    contacts = Contact.objects.select_related("company")
    if by_email and clean.email_normalized:
        contact = contacts.filter(email_normalized=clean.email_normalized).first()
        if contact is not None:
            return contact, "email"
    if clean.phone:
        for contact in contacts.filter(phone=clean.phone).order_by("created_at")[:5]:
            if clean.email_normalized and contact.email_normalized:
                continue
            if _names_conflict(contact, clean):
                continue
            return contact, "phone"
    return None, ""


def enrichment(contact: Contact, clean: _Clean, company: Company | None) -> dict[str, Any]:
    """What a lead adds to the known contact: only what it lacks, never overwriting."""
    updates: dict[str, Any] = {}
    if not contact.first_name and not contact.last_name:
        updates.update(
            {k: getattr(clean, k) for k in ("first_name", "last_name") if getattr(clean, k)}
        )
    if not contact.email and clean.email:
        updates["email"] = clean.email
    if not contact.phone and clean.phone:
        updates["phone"] = clean.phone
    if not contact.title and clean.title:
        updates["title"] = clean.title
    if contact.company_id is None and company is not None:
        updates["company"] = company
    return updates


def _enrich(actor: Actor, contact: Contact, clean: _Clean, company: Company | None) -> Contact:
    """Add what the known contact lacks; never overwrite what it has."""
    updates = enrichment(contact, clean, company)
    if not updates:
        # Known people are indexed even when the reaction to their creation has not run yet.
        dedup.index_contact(contact)
        return contact
    try:
        with transaction.atomic():
            contact = crm.update_contact(actor, contact, **updates)
    except ValidationError:
        # The e-mail was taken by another contact meanwhile: keep the contact as it was,
        # the lead itself keeps what the person typed.
        logger.info("Could not add lead details to contact %s", contact.pk)
        return Contact.objects.select_related("company").get(pk=contact.pk)
    dedup.index_contact(contact)
    return contact


def _find_or_create_contact(
    actor: Actor,
    clean: _Clean,
    data: LeadInput,
    company: Company | None,
    owner: User | None,
    looked_up: tuple[Contact | None, str],
) -> tuple[Contact, bool, str]:
    fields: dict[str, Any] = {
        "first_name": clean.first_name,
        "last_name": clean.last_name,
        "email": clean.email,
        "phone": clean.phone,
        "title": clean.title,
        "company": company,
        "owner": owner,
    }
    if data.contact_custom:
        fields["custom"] = data.contact_custom
    for attempt in range(3):
        known, matched_on = looked_up if attempt == 0 else find_known_contact(clean)
        if known is not None:
            return _enrich(actor, known, clean, company), False, matched_on
        try:
            # create_contact is atomic (a savepoint here): losing the race for the e-mail
            # rolls back only its insert. The e-mail was just looked up (find_known_contact).
            contact = crm.create_contact(actor, email_checked=True, **fields)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        except ValidationError as exc:
            errors = exc.message_dict
            if "email" in errors and clean.email_normalized and attempt < 2:
                continue  # "already has this e-mail": created by someone else meanwhile
            raise ValidationError(
                {
                    (f"contact_{k}" if k.startswith("custom") else k): msgs
                    for k, msgs in errors.items()
                }
            ) from exc
        dedup.index_contact(contact, fresh=True)
        return contact, True, ""
    raise ValidationError({"email": "This person is being saved by another request; retry."})


def find_company(clean: _Clean) -> Company | None:
    """The company this lead names: by website domain, normalized name, or work e-mail domain."""
    companies = Company.objects.order_by("created_at")
    if clean.website_domain:
        company = companies.filter(domain=clean.website_domain).first()
        if company is not None:
            return company
    if clean.company_name:
        company = dedup.company_by_key(clean.company_name)
        if company is not None:
            return company
    org_domain = matching.organization_domain(clean.email_domain)
    if org_domain:
        company = companies.filter(domain=org_domain).first()
        if company is not None:
            return company
    return None


def _create_company(actor: Actor, clean: _Clean, owner: User | None) -> Company:
    # A work address names the company's domain as well as a website would.
    org_domain = matching.organization_domain(clean.email_domain)
    website = clean.website or (f"https://{org_domain}" if org_domain else "")
    company = crm.create_company(actor, name=clean.company_name, website=website, owner=owner)
    dedup.index_company(company, fresh=True)
    return company


def _likely_matches(clean: _Clean, company: Company | None) -> list[dedup.Match]:
    """Existing contacts a *new* person probably is (computed before anything is written)."""
    return dedup.find_matches(
        dedup.Person(
            first_name=clean.first_name,
            last_name=clean.last_name,
            email=clean.email_normalized,
            phone=clean.phone,
            company_id=company.pk if company else None,
            company_name=company.name if company else clean.company_name,
            website_domain=company.domain if company else clean.website_domain,
        )
    )


def _source(clean: _Clean) -> tuple[LeadSource, bool]:
    """The lead's source, created on first use; True when created (audited by the caller)."""
    if clean.source is not None:
        return clean.source, False
    name = SOURCE_NAMES.get(clean.source_slug) or clean.source_slug.replace("-", " ").title()
    try:
        with transaction.atomic():
            source = LeadSource.objects.create(slug=clean.source_slug, name=name[:100])
    except IntegrityError:
        return LeadSource.objects.select_related("default_owner").get(slug=clean.source_slug), False
    return source, True


def choose_owner(actor: Actor, data: LeadInput, source: LeadSource | None):
    """Who answers the lead (a routing ``Decision``): the owner the channel named, else the
    routing rules (``throughline.intake.routing``: rules, teams, fallbacks)."""
    from throughline.intake.routing.services import decide_for_new_lead

    return decide_for_new_lead(actor, data, source)


def record_assignments(actor: Actor, decided: list) -> None:
    """``lead.assigned`` (history, audit, event) for new leads and their routing decisions."""
    from throughline.intake.routing.models import Assignment
    from throughline.intake.routing.services import record_assignments as record

    record(actor, [(lead, d) for lead, d in decided if d.owner], kind=Assignment.Kind.CAPTURE)


# --- Side effects in the capture transaction -------------------------------------------------


def acknowledgement_context(lead: Lead, contact: Contact, org: Organization) -> dict[str, Any]:
    """Merge fields of the acknowledgement template (plain values, no model objects)."""
    owner = lead.owner
    organization = str(org)
    next_step = (
        sla.next_step_text(lead.received_at, lead.sla_due_at, org.time_zone)
        if lead.sla_due_at
        else "as soon as we can"
    )
    return {
        "contact": {
            "first_name": contact.first_name or lead.first_name,
            "last_name": contact.last_name or lead.last_name,
            "full_name": contact.full_name or lead.display_name,
        },
        "lead": {"message": lead.message, "source": lead.source.name},
        "owner": {
            "name": (owner.full_name or owner.display_name) if owner else organization,
            "first_name": (owner.full_name.split()[0] if owner and owner.full_name else "")
            or (owner.display_name if owner else organization),
            "email": owner.email if owner else "",
        },
        "owner_name": (owner.full_name or owner.display_name) if owner else organization,
        "next_step": next_step,
        "organization": organization,
    }


def _acknowledge(actor: Actor, lead: Lead, contact: Contact, org: Organization):
    from throughline.messaging.services import queue_templated_email

    if not lead.email:
        return None
    try:
        return queue_templated_email(
            actor,
            ACK_TEMPLATE,
            to=lead.email,
            context=acknowledgement_context(lead, contact, org),
            contact=contact,
            source=lead.task_source,
            idempotency_key=f"lead-ack:{lead.pk}",
        )
    except ValidationError as exc:
        # Raised before anything is written: the template was deleted. Capture goes on.
        logger.warning("Lead %s not acknowledged: %s", lead.pk, " ".join(exc.messages))
        return None


def _first_contact_task(actor: Actor, lead: Lead, contact: Contact) -> Task:
    lines = [f"New lead via {lead.get_channel_display()} ({lead.source.name})."]
    if lead.message:
        lines.append(lead.message[:1000])
    return crm.create_task(
        actor,
        title=f"First contact: {lead.display_name}"[:200],
        owner=lead.owner,
        contact=contact,
        company=lead.company,
        due_at=lead.sla_due_at,
        description="\n\n".join(lines),
        source=lead.task_source,
    )


def build_lead(
    clean: _Clean,
    *,
    contact: Contact,
    company: Company | None,
    source: LeadSource,
    owner: User | None,
    org: Organization,
    matched_on: str,
    contact_created: bool,
    matches: list[dedup.Match],
    referred_by: Contact | None = None,
) -> Lead:
    """The (unsaved) lead of a capture: what the person gave, with its owner and deadline."""
    received = clean.received_at or timezone.now()
    return Lead(
        contact=contact,
        company=company or contact.company,
        source=source,
        channel=clean.channel,
        first_name=clean.first_name,
        last_name=clean.last_name,
        email=clean.email,
        phone=clean.phone,
        company_name=clean.company_name,
        website=clean.website,
        title=clean.title,
        message=clean.message,
        utm=clean.utm,
        referrer=clean.referrer,
        raw=clean.raw,
        custom=clean.custom,
        ip=clean.ip,
        external_id=clean.external_id,
        owner=owner,
        received_at=received,
        sla_due_at=sla.due_at(received, source.sla_minutes, org),
        matched_on=matched_on,
        contact_created=contact_created,
        duplicate_of_id=matches[0].contact_id if matches else None,
        duplicate_confidence=matches[0].confidence if matches else None,
        referred_by=referred_by,
    )


def captured_changes(lead: Lead) -> dict[str, list[Any]]:
    """The audit entry of a captured lead."""
    return {
        "contact": [None, str(lead.contact_id)],
        "source": [None, lead.source.slug],
        "channel": [None, lead.channel],
        "owner": [None, lead.owner.email if lead.owner else None],
        "matched_on": [None, lead.matched_on or None],
        "sla_due_at": [None, lead.sla_due_at],
        "duplicate_of": [None, str(lead.duplicate_of_id) if lead.duplicate_of_id else None],
    }


def captured_payload(lead: Lead, matches: list[dedup.Match]) -> dict[str, Any]:
    """The ``lead.captured`` event's facts."""
    return {
        "contact_id": str(lead.contact_id),
        "source": lead.source.slug,
        "channel": lead.channel,
        "owner_id": str(lead.owner_id) if lead.owner_id else None,
        "contact_created": lead.contact_created,
        "matched_on": lead.matched_on or None,
        "possible_duplicates": [str(m.contact_id) for m in matches],
        "sla_due_at": lead.sla_due_at.isoformat() if lead.sla_due_at else None,
    }


# --- The entry point -------------------------------------------------------------------------


@dataclass
class Prepared:
    """A capture's input, validated, and what ``prepare`` read about its person."""

    data: LeadInput
    clean: _Clean
    company: Company | None = None
    known: tuple[Contact | None, str] = (None, "")
    matches: list[dedup.Match] = field(default_factory=list)


def prepare(actor: Actor, data: LeadInput) -> Prepared:
    """Validate ``data`` and look its person up (company, known contact, likely matches),
    writing nothing; raises ``ValidationError`` as ``capture_lead`` does.

    Called before the write transaction — by ``capture_lead``, and by the API before the
    transaction it opens — these reads and the validation do not hold SQLite's one writer
    lock, which other captures wait for (``BEGIN IMMEDIATE``). ``capture_prepared`` looks
    again, under the lock, only for what was not found: a company or person another capture
    created meanwhile.
    """
    with batch_cache():
        clean = clean_input(data, Organization.current())
        clean.ip = clean.ip or actor.ip
        prepared = Prepared(data, clean)
        prepared.company = find_company(clean)
        prepared.known = find_known_contact(clean)
        if prepared.known[0] is None:
            prepared.matches = _likely_matches(clean, prepared.company)
    return prepared


def _look_again(prepared: Prepared) -> tuple[Company | None, tuple[Contact | None, str], list]:
    """What ``prepare`` found, and again what it did not find but this capture would create:
    now that it writes alone (SQLite's lock, PostgreSQL's advisory locks) another capture may
    have created it meanwhile. A person with the same e-mail needs no second look: the unique
    e-mail refuses the second contact, and the next attempt finds the first."""
    clean = prepared.clean
    company = prepared.company
    if company is None and clean.company_name:
        company = find_company(clean)
    known = prepared.known
    if known[0] is None and clean.phone:
        known = find_known_contact(clean, by_email=False)
    return company, known, prepared.matches if known[0] is None else []


def capture_lead(actor: Actor, data: LeadInput) -> CaptureResult:
    """Capture one inquiry from any channel (see the module docstring)."""
    return capture_prepared(actor, prepare(actor, data))


def capture_prepared(actor: Actor, prepared: Prepared) -> CaptureResult:
    """Write what ``prepare`` validated and found, in one transaction."""
    for attempt in range(3):
        # One read of the organization, the source and the custom fields per attempt.
        with batch_cache():
            try:
                # The capture's audit entries, events and jobs are written at its end, a
                # kind at a time; the audit chain's head is locked last (see "TRICKY").
                with transaction.atomic(), audit_log.batch(), jobs.batch(), events.batch():
                    return _capture(actor, prepared, Organization.current())
            except IntegrityError:
                # Another capture of the same external id (or a new source's slug) committed
                # first; everything here rolled back, and the next attempt finds its records.
                if attempt == 2:
                    raise
        prepared = prepare(actor, prepared.data)
    raise AssertionError("unreachable")  # pragma: no cover


def _capture(actor: Actor, prepared: Prepared, org: Organization) -> CaptureResult:
    data, clean = prepared.data, prepared.clean
    if clean.external_id:
        existing = (
            Lead.objects.select_related("contact", "source")
            .filter(source__slug=clean.source_slug, external_id=clean.external_id)
            .first()
        )
        if existing is not None:
            return CaptureResult(
                lead=existing,
                contact=existing.contact,
                created=False,
                contact_created=existing.contact_created,
                matched_on=existing.matched_on,
                possible_duplicates=list(existing.possible_duplicates.all()),
            )
    lock_identities(clean)
    source, source_created = _source(clean)
    routing = choose_owner(actor, data, source)
    owner = routing.owner
    company, looked_up, matches = _look_again(prepared)
    if company is None and clean.company_name:
        company = _create_company(actor, clean, owner)
    contact, contact_created, matched_on = _find_or_create_contact(
        actor, clean, data, company, owner, looked_up
    )
    if not contact_created:
        matches = []  # known after all (created by a concurrent request meanwhile)

    lead = build_lead(
        clean,
        contact=contact,
        company=company,
        source=source,
        owner=owner,
        org=org,
        matched_on=matched_on,
        contact_created=contact_created,
        matches=matches,
        referred_by=data.referred_by,
    )
    lead.save(force_insert=True)
    if source_created:
        # Audited after the contact: see "TRICKY" in the module docstring on lock order.
        audit_log.record(
            actor, "lead_source.created", source, changes={"slug": [None, source.slug]}
        )
    possible = PossibleDuplicate.objects.bulk_create(
        [
            PossibleDuplicate(
                lead=lead,
                contact=contact,
                candidate_id=m.contact_id,
                confidence=m.confidence,
                reasons=list(m.reasons),
            )
            for m in matches
        ]
    )
    for consent in clean.consents:
        crm.record_consent(
            actor,
            contact,
            purpose=consent.purpose,
            granted=consent.granted,
            wording_version=consent.wording_version,
            wording=consent.wording,
            source=f"lead via {clean.channel}",
            ip=clean.ip,
        )
    audit_log.record(actor, "lead.captured", lead, changes=captured_changes(lead))
    record_assignments(actor, [(lead, routing)])
    ack = _acknowledge(actor, lead, contact, org) if data.acknowledge else None
    task = _first_contact_task(actor, lead, contact) if data.create_task else None
    events.emit(actor, "lead.captured", lead, **captured_payload(lead, matches))
    # Score and qualify the new lead (intake.scoring): may reject, nurture or qualify it.
    from throughline.intake.scoring.at_capture import score_and_qualify

    score_and_qualify(actor, lead)
    return CaptureResult(
        lead=lead,
        contact=contact,
        created=True,
        contact_created=contact_created,
        matched_on=matched_on,
        possible_duplicates=possible,
        task=task,
        acknowledgement=ack,
    )
