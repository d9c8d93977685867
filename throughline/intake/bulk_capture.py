"""Capture many leads at once (CSV imports): ``capture_lead``'s outcome in set operations.

Row by row, a capture costs some fifty queries (look-ups, the contact, keys, the lead, audit
entries, events, jobs); a 100k-row import against a million contacts then takes hours. Here
a batch (a thousand rows) is looked up, written, audited and announced with a handful of
queries per step, under the same rules as ``capture.py``:

* the same validation (``clean_input``, done by the caller) and advisory locks per e-mail,
  phone and company (PostgreSQL), all of a batch's taken at once in a fixed order;
* an external id captured before returns that lead (re-importing creates nothing);
* a known person (same e-mail, else same phone without a contradicting e-mail or name) gets
  the lead and only what the contact lacked (``capture.enrichment``); a new one becomes a
  contact, with likely matches flagged from the blocking-key index — including people new
  in the same batch, who are not in the index yet;
* companies found by website domain, name key or work e-mail domain, else created once per
  batch;
* scoring and qualification (inline in ``capture_lead``) in one job per batch, right after;
* one audit entry per created or changed record (``audit_log.record_many``: one lock of the
  chain head per batch) and the events ``company.created``, ``contact.created``,
  ``contact.updated`` and ``lead.captured`` (``events.emit_many``).

Rows that want an acknowledgement, a first-contact task or consent records go through
``capture_lead`` one by one (an import rarely asks for them): the fast path only covers what
it writes in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from throughline.core import audit_log, bulk_insert, events
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm import services as crm
from throughline.crm.custom_fields import validate_custom
from throughline.crm.models import Company, Contact
from throughline.intake import dedup, matching
from throughline.intake.capture import (
    LeadInput,
    _Clean,
    _names_conflict,
    _source,
    build_lead,
    captured_changes,
    captured_payload,
    choose_owner,
    enrichment,
    lock_identities,
    record_assignments,
)
from throughline.intake.models import CompanyKey, ContactKey, Lead, LeadSource, PossibleDuplicate


@dataclass
class Outcome:
    lead_id: Any
    created: bool  # False: this external id was captured before
    contact_created: bool
    matched_on: str


def bulk_capturable(data: LeadInput) -> bool:
    """Whether the fast path covers this row (no e-mail, task or consent to write)."""
    return not (
        data.acknowledge
        or data.create_task
        or data.consents
        or data.referred_by
        or data.contact_custom
    )


def capture_many(actor: Actor, rows: list[tuple[LeadInput, _Clean]]) -> list[Outcome]:
    """Capture ``rows`` (validated, ``bulk_capturable``) in the caller's transaction."""
    if not rows:
        return []
    org = Organization.current()
    lock_identities(*(clean for _, clean in rows))
    outcomes: list[Outcome | None] = [None] * len(rows)

    existing = _existing_leads(rows)
    todo = []
    for i, (_data, clean) in enumerate(rows):
        lead = existing.get((clean.source_slug, clean.external_id))
        if lead is not None:
            outcomes[i] = Outcome(lead.pk, False, lead.contact_created, lead.matched_on)
        else:
            todo.append(i)
    if not todo:
        return outcomes  # type: ignore[return-value]

    writes = _Writes()
    sources = _sources(actor, [rows[i][1] for i in todo], writes)
    routing = {i: choose_owner(actor, rows[i][0], sources[rows[i][1].source_slug]) for i in todo}
    owners = {i: routing[i].owner for i in todo}
    companies = _companies(actor, rows, todo, owners, writes)
    known = _known_contacts(rows, todo)
    contact_fields_ok = _contact_custom_check()

    new_people: dict[str, list[dedup.Person]] = defaultdict(list)  # blocking key → batch
    matches_of: dict[int, list[dedup.Match]] = {}
    to_match = []
    contacts: dict[int, tuple[Contact, bool, str]] = {}
    by_identity: dict[str, Contact] = {}  # people new in this batch, by e-mail / phone
    for i in todo:
        data, clean = rows[i]
        company = companies.get(i)
        found, matched_on = known.get(i, (None, ""))
        if found is None:
            found = by_identity.get(clean.email_normalized) or (
                None if clean.email_normalized else by_identity.get(clean.phone)
            )
            matched_on = ("email" if clean.email_normalized else "phone") if found else ""
        if found is not None:
            _enrich(found, clean, company, writes)
            contacts[i] = (found, False, matched_on)
            continue
        if contact_fields_ok is not None:
            raise contact_fields_ok
        owner = owners[i]
        contact = crm.build_contact(
            actor,
            email_checked=True,
            first_name=clean.first_name,
            last_name=clean.last_name,
            email=clean.email,
            phone=clean.phone,
            title=clean.title,
            company=company,
            owner=owner,
        )
        writes.new_contacts.append(contact)
        contacts[i] = (contact, True, "")
        for identity in (clean.email_normalized, clean.phone):
            if identity:
                by_identity.setdefault(identity, contact)
        to_match.append(i)

    _likely_matches(rows, to_match, companies, contacts, new_people, matches_of)

    leads = []
    for i in todo:
        data, clean = rows[i]
        contact, contact_created, matched_on = contacts[i]
        source = sources[clean.source_slug]
        owner = owners[i]
        matches = matches_of.get(i, [])
        lead = build_lead(
            clean,
            contact=contact,
            company=companies.get(i),
            source=source,
            owner=owner,
            org=org,
            matched_on=matched_on,
            contact_created=contact_created,
            matches=matches,
        )
        leads.append(lead)
        writes.routing.append((lead, routing[i]))
        writes.matches[lead.pk] = matches
        for m in matches:
            writes.possible.append(
                PossibleDuplicate(
                    lead=lead,
                    contact=contact,
                    candidate_id=m.contact_id,
                    confidence=m.confidence,
                    reasons=list(m.reasons),
                )
            )
        outcomes[i] = Outcome(lead.pk, True, contact_created, matched_on)
    writes.flush(actor, leads)
    # Scoring and the rubric (capture_lead runs them inline) follow in one job per batch.
    from throughline.intake.scoring.tasks import score_imported_leads

    score_imported_leads.enqueue([str(lead.pk) for lead in leads])
    return outcomes  # type: ignore[return-value]


# --- Look-ups -----------------------------------------------------------------------------


def _existing_leads(rows: list[tuple[LeadInput, _Clean]]) -> dict[tuple[str, str], Lead]:
    ids = {clean.external_id for _, clean in rows if clean.external_id}
    if not ids:
        return {}
    slugs = {clean.source_slug for _, clean in rows}
    found = Lead.objects.filter(source__slug__in=slugs, external_id__in=ids).select_related(
        "source"
    )
    return {(lead.source.slug, lead.external_id): lead for lead in found}


def _sources(actor: Actor, cleans: list[_Clean], writes: _Writes) -> dict[str, LeadSource]:
    sources: dict[str, LeadSource] = {}
    for clean in cleans:
        if clean.source_slug not in sources:
            source, created = _source(clean)
            if created:
                writes.audit.append(
                    audit_log.Change("lead_source.created", source, {"slug": [None, source.slug]})
                )
            sources[clean.source_slug] = source
    return sources


def _contact_custom_check() -> ValidationError | None:
    """A new contact must satisfy the required contact custom fields (none given on import)."""
    try:
        validate_custom("contact", {}, partial=False)
    except ValidationError as exc:
        return ValidationError({f"contact_{k}": v for k, v in exc.message_dict.items()})
    return None


def _company_wants(clean: _Clean) -> tuple[str, str, str]:
    """(website domain, name key, organization domain) a lead's company is found by."""
    name_key = matching.company_key(clean.company_name) if clean.company_name else ""
    return (
        clean.website_domain,
        f"cn:{name_key}"[:220] if name_key else "",
        matching.organization_domain(clean.email_domain),
    )


def _companies(
    actor: Actor,
    rows: list[tuple[LeadInput, _Clean]],
    todo: list[int],
    owners: dict[int, Any],
    writes: _Writes,
) -> dict[int, Company]:
    """Each row's company (``capture.find_company``'s order), created once when missing."""
    wants = {i: _company_wants(rows[i][1]) for i in todo}
    domains = {d for w in wants.values() for d in (w[0], w[2]) if d}
    keys = {w[1] for w in wants.values() if w[1]}
    by_domain: dict[str, Company] = {}
    for company in Company.objects.filter(domain__in=domains).order_by("created_at"):
        by_domain.setdefault(company.domain, company)
    by_key: dict[str, Company] = {}
    rows_by_key = (
        CompanyKey.objects.filter(key__in=keys)
        .select_related("company")
        .order_by("company__created_at")
    )
    for row in rows_by_key:
        by_key.setdefault(row.key, row.company)
    chosen: dict[int, Company] = {}
    for i in todo:
        website, key, org_domain = wants[i]
        company = (
            (by_domain.get(website) if website else None)
            or (by_key.get(key) if key else None)
            or (by_domain.get(org_domain) if org_domain else None)
        )
        clean = rows[i][1]
        if company is None and clean.company_name:
            site = clean.website or (f"https://{org_domain}" if org_domain else "")
            company = crm.build_company(
                actor, name=clean.company_name, website=site, owner=owners[i]
            )
            writes.new_companies.append(company)
            for k in matching.company_keys(company.name, company.domain):
                by_key.setdefault(k, company)
            if company.domain:
                by_domain.setdefault(company.domain, company)
        if company is not None:
            chosen[i] = company
    return chosen


def _known_contacts(
    rows: list[tuple[LeadInput, _Clean]], todo: list[int]
) -> dict[int, tuple[Contact, str]]:
    """``capture.find_known_contact`` for a batch: by e-mail, else by a non-conflicting phone."""
    emails = {rows[i][1].email_normalized for i in todo if rows[i][1].email_normalized}
    phones = {rows[i][1].phone for i in todo if rows[i][1].phone}
    base = Contact.objects.select_related("company").select_for_update(of=("self",))
    by_email = {c.email_normalized: c for c in base.filter(email_normalized__in=emails)}
    by_phone: dict[str, list[Contact]] = defaultdict(list)
    if phones:
        for contact in base.filter(phone__in=phones).order_by("created_at"):
            if len(by_phone[contact.phone]) < 5:
                by_phone[contact.phone].append(contact)
    known: dict[int, tuple[Contact, str]] = {}
    for i in todo:
        clean = rows[i][1]
        contact = by_email.get(clean.email_normalized) if clean.email_normalized else None
        if contact is not None:
            known[i] = (contact, "email")
            continue
        for candidate in by_phone.get(clean.phone, []) if clean.phone else []:
            if clean.email_normalized and candidate.email_normalized:
                continue
            if _names_conflict(candidate, clean):
                continue
            known[i] = (candidate, "phone")
            break
    return known


def _enrich(contact: Contact, clean: _Clean, company: Company | None, writes: _Writes) -> None:
    updates = enrichment(contact, clean, company)
    if updates.get("email"):
        if writes.email_taken(clean.email_normalized, contact):
            updates.pop("email")  # another contact has it: the lead keeps what was typed
        else:
            updates["email_normalized"] = clean.email_normalized
    if not updates:
        writes.reindex.append(contact)  # known people are indexed even before their reaction
        return
    before = audit_log.snapshot(contact)
    for key, value in updates.items():
        setattr(contact, key, value)
    changes = audit_log.diff(before, audit_log.snapshot(contact))
    if changes:
        writes.updated_contacts[contact.pk] = (contact, changes)
    writes.reindex.append(contact)


def _likely_matches(
    rows: list[tuple[LeadInput, _Clean]],
    to_match: list[int],
    companies: dict[int, Company],
    contacts: dict[int, tuple[Contact, bool, str]],
    new_people: dict[str, list[dedup.Person]],
    matches_of: dict[int, list[dedup.Match]],
) -> None:
    """Likely matches of each new person: index candidates and earlier people of the batch."""
    people = {}
    for i in to_match:
        clean = rows[i][1]
        company = companies.get(i)
        people[i] = dedup.Person(
            contact_id=contacts[i][0].pk,
            first_name=clean.first_name,
            last_name=clean.last_name,
            email=clean.email_normalized,
            phone=clean.phone,
            company_id=company.pk if company else None,
            company_name=company.name if company else clean.company_name,
            website_domain=company.domain if company else clean.website_domain,
        )
    keys_of = {i: person.blocking_keys() for i, person in people.items()}
    seekers: dict[str, list[dedup.Person]] = defaultdict(list)
    for i, keys in keys_of.items():
        for key in keys:
            seekers[key].append(people[i])
    rows_by_key = dedup.candidate_rows(seekers)
    # Screened on the key rows' names first; only the survivors' contacts are read.
    survivors = {
        i: dedup.could_match(person, [r for key in keys_of[i] for r in rows_by_key.get(key, ())])
        for i, person in people.items()
    }
    known = dedup.people({pk for ids in survivors.values() for pk in ids})
    for i in to_match:
        person = people[i]
        pool = [known[pk] for pk in survivors[i] if pk in known]
        pool += [c for key in keys_of[i] for c in new_people[key]]
        matches_of[i] = dedup.best_matches(person, pool)
        for key in keys_of[i]:
            pool_of_key = new_people[key]
            pool_of_key.append(person)
            if len(pool_of_key) > dedup.PER_KEY:  # as the index look-up, a bounded share per key
                del pool_of_key[0]


# --- Writes ---------------------------------------------------------------------------------


class _Writes:
    """Everything a batch writes, flushed in dependency order with one statement per table."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.audit: list[audit_log.Change] = []
        self.new_companies: list[Company] = []
        self.new_contacts: list[Contact] = []
        self.updated_contacts: dict[Any, tuple[Contact, dict]] = {}
        self.reindex: list[Contact] = []
        self.possible: list[PossibleDuplicate] = []
        self.matches: dict[Any, list[dedup.Match]] = {}
        self.routing: list[tuple[Lead, Any]] = []  # (lead, routing decision)

    def email_taken(self, email_normalized: str, contact: Contact) -> bool:
        owner = Contact.objects.filter(email_normalized=email_normalized).values_list(
            "pk", flat=True
        )
        return any(pk != contact.pk for pk in owner) or any(
            c.email_normalized == email_normalized for c in self.new_contacts
        )

    def flush(self, actor: Actor, leads: list[Lead]) -> None:
        occurrences: list[events.Occurrence] = []
        bulk_insert.insert(self.new_companies)
        for company in self.new_companies:
            self.audit.append(
                audit_log.Change(
                    "company.created", company, audit_log.diff({}, audit_log.snapshot(company))
                )
            )
            occurrences.append(events.Occurrence("company.created", company))
        CompanyKey.objects.bulk_create(
            [
                CompanyKey(company_id=c.pk, key=k)
                for c in self.new_companies
                for k in matching.company_keys(c.name, c.domain)
            ],
            ignore_conflicts=True,
        )
        bulk_insert.insert(self.new_contacts)
        for contact in self.new_contacts:
            self.audit.append(
                audit_log.Change(
                    "contact.created", contact, audit_log.diff({}, audit_log.snapshot(contact))
                )
            )
            occurrences.append(events.Occurrence("contact.created", contact))
        if self.updated_contacts:
            fields = {f for _, changes in self.updated_contacts.values() for f in changes}
            updated = [contact for contact, _ in self.updated_contacts.values()]
            for contact in updated:
                contact.updated_at = self.now
            Contact.objects.bulk_update(updated, sorted({*fields, "updated_at"}))
            for contact, changes in self.updated_contacts.values():
                self.audit.append(audit_log.Change("contact.updated", contact, changes))
                occurrences.append(
                    events.Occurrence("contact.updated", contact, {"fields": sorted(changes)})
                )
        bulk_insert.insert([row for c in self.new_contacts for row in dedup.contact_key_rows(c)])
        # Known people keep their rows; names they gained are written onto them.
        new_ids = {c.pk for c in self.new_contacts}
        reindex = {c.pk: c for c in self.reindex if c.pk not in new_ids}.values()
        ContactKey.objects.bulk_create(
            [row for c in reindex for row in dedup.contact_key_rows(c)],
            update_conflicts=True,
            unique_fields=["contact", "key"],
            update_fields=["first", "last", "org"],
        )
        bulk_insert.insert(leads)
        bulk_insert.insert(self.possible)
        for lead in leads:
            matches = self.matches.get(lead.pk, [])
            self.audit.append(audit_log.Change("lead.captured", lead, captured_changes(lead)))
            occurrences.append(
                events.Occurrence("lead.captured", lead, captured_payload(lead, matches))
            )
        audit_log.record_many(actor, self.audit)
        events.emit_many(actor, occurrences)
        record_assignments(actor, self.routing)
