"""Likely-match detection: is this new person someone we already know under other details?

Exact matches (same normalized e-mail or E.164 phone) are linked directly by ``capture``.
This module finds the *likely* ones, in two steps:

1. **Blocking.** Candidates are the contacts sharing a blocking key with the new person
   (``matching.name_keys`` / ``email_keys``, stored in ``ContactKey``): an index lookup that
   costs the same with a thousand or a million contacts. No full scan, ever. The key rows
   carry the contacts' compacted names and organization, so candidates whose names or
   workplace ``score_pair`` would rule out anyway are dropped (``could_match``) before any
   contact row is read.
2. **Scoring.** Each candidate is compared field by field with rapidfuzz (Jaro-Winkler on
   names, optimal string alignment on e-mail local parts) and the evidence is combined into
   a confidence in [0, 1]. Similar names alone are not enough — "John Smith" is a common
   name — they need a second signal: the same company (by id, normalized name or a
   non-free-mail domain), a near-identical e-mail local part, or a near-identical phone.
   Similar names at *different* companies are not a duplicate.

``score_pair`` is pure so ``bench/dedup.py`` measures precision and recall on exactly it.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from throughline.crm.models import Company, Contact
from throughline.intake import matching
from throughline.intake.models import CompanyKey, ContactKey

# A pair at or above this confidence is flagged as a possible duplicate.
FLAG_THRESHOLD = 0.75
_NON_DIGITS = re.compile(r"\D")
# Below this surname similarity (Jaro-Winkler, either order) two named people never match.
SURNAME_FLOOR = 0.749
MAX_FLAGS = 5
# Candidates read per blocking key: a common name ("J. Smith") cannot crowd out the rest.
PER_KEY = 100
PER_COARSE_KEY = 40


@dataclass
class Person:
    """What matching needs to know about a person (a contact, or a lead being captured)."""

    contact_id: object = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""  # normalized (lower-case)
    phone: str = ""  # E.164
    company_id: object = None
    company_name: str = ""
    website_domain: str = ""
    # Derived in __post_init__.
    first: str = field(init=False, default="")
    first_compact: str = field(init=False, default="")
    last: str = field(init=False, default="")
    local: str = field(init=False, default="")
    local_digits: str = field(init=False, default="")
    domain: str = field(init=False, default="")
    org_ids: frozenset = field(init=False, default=frozenset())
    company_norm: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.first = matching.canonical_first_name(self.first_name)
        self.first_compact = matching.compact(self.first_name)
        self.last = matching.compact(self.last_name)
        local, self.domain = matching.split_email(self.email)
        self.local = matching.email_local_key(local)
        self.local_digits = _digits(self.local)
        self.company_norm = matching.company_key(self.company_name)
        org_domain = matching.organization_domain(self.domain, self.website_domain)
        ids = set()
        if self.company_id:
            ids.add(f"id:{self.company_id}")
        if self.company_norm:
            ids.add(f"name:{self.company_norm}")
        if org_domain:
            ids.add(f"domain:{org_domain}")
        self.org_ids = frozenset(ids)

    @property
    def has_full_name(self) -> bool:
        return bool(self.first and self.last)

    def blocking_keys(self) -> set[str]:
        return matching.query_keys(self.first_name, self.last_name, self.email, self.company_name)

    @classmethod
    def of_contact(cls, contact: Contact) -> Person:
        company = contact.company if contact.company_id else None
        return cls(
            contact_id=contact.pk,
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email_normalized,
            phone=contact.phone,
            company_id=contact.company_id,
            company_name=company.name if company else "",
            website_domain=company.domain if company else "",
        )


ORG_LENGTH = 600  # intake.ContactKey.org


def org_signature(person: Person) -> str:
    """What ``same_organization`` compares of ``person``, as stored on their key rows.

    Empty when they name no organization — or when it would not fit, which readers take as
    unknown (never screened out).
    """
    signature = "|".join(sorted(person.org_ids))
    if len(signature) > ORG_LENGTH or signature.count("|") >= len(person.org_ids):
        return ""  # too long, or a "|" inside a part (names fold it away; a domain might not)
    return signature


@dataclass(frozen=True)
class Organization:
    """A key row's organization (``org_signature``), as ``same_organization`` reads it."""

    org_ids: frozenset
    company_norm: str

    @staticmethod
    @functools.lru_cache(maxsize=8192)
    def of_signature(signature: str) -> Organization:
        ids = frozenset(signature.split("|")) if signature else frozenset()
        norm = next((i.removeprefix("name:") for i in ids if i.startswith("name:")), "")
        return Organization(ids, norm)


@dataclass(frozen=True)
class Match:
    contact_id: object
    confidence: float
    reasons: tuple[str, ...]


# --- Scoring ---------------------------------------------------------------------------------


def word_similarity(a: str, b: str) -> float:
    """Jaro-Winkler, held back by edit distance: "Harris" is not "Harrison", "Smyth" is "Smith".

    Jaro-Winkler alone rewards a shared beginning too much for names; one typed slip
    (optimal string alignment: a transposition counts once) keeps a high score.
    """
    if not a or not b:
        return 0.0
    return min(JaroWinkler.normalized_similarity(a, b), OSA.normalized_similarity(a, b) + 0.1)


def _first_similarity(a: str, a_raw: str, b: str, b_raw: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if len(a_raw) == 1 or len(b_raw) == 1:  # an initial: "J. Smith"
        return 0.9 if a[0] == b[0] else 0.0
    shorter, longer = sorted((a_raw, b_raw), key=len)
    if len(shorter) >= 3 and longer.startswith(shorter):  # Jon / Jonathan, Chris / Christine
        return 0.9
    return max(word_similarity(a, b), word_similarity(a_raw, b_raw))


def name_similarity(a: Person, b: Person) -> tuple[float, float, bool] | None:
    """``(first, last, transposed)`` similarities in the better order; None without names."""
    if not (a.has_full_name and b.has_full_name):
        return None
    direct = (
        _first_similarity(a.first, a.first_compact, b.first, b.first_compact),
        word_similarity(a.last, b.last),
    )
    swapped = (
        word_similarity(a.first_compact, b.last),
        word_similarity(a.last, b.first_compact),
    )
    if min(swapped) > min(direct) + 0.05:
        return swapped[0], swapped[1], True
    return direct[0], direct[1], False


def _digits(text: str) -> str:
    return _NON_DIGITS.sub("", text)


def email_similarity(a: Person, b: Person) -> float:
    """Similarity of the local parts (0 when either is missing or too short to mean much)."""
    if not a.local or not b.local or min(len(a.local), len(b.local)) < 4:
        return 0.0
    similarity = OSA.normalized_similarity(a.local, b.local)
    digits_a, digits_b = a.local_digits, b.local_digits
    if digits_a != digits_b and (digits_a or digits_b):
        # john.smith1 / john.smith2, jsmith84 / jsmith: numbered addresses of different people.
        similarity = min(similarity, 0.6)
    return similarity


def phones_nearly_equal(a: str, b: str) -> bool:
    """One typed digit apart (same length): +447700900123 / +447700900128."""
    if not a or not b or a == b or len(a) != len(b):
        return False
    return Levenshtein.distance(a, b) == 1


def same_organization(a: Person, b: Person | Organization) -> bool | None:
    """True / False when both say where they work; None when either does not."""
    if not a.org_ids or not b.org_ids:
        return None
    if a.org_ids & b.org_ids:
        return True
    if a.company_norm and b.company_norm:
        return fuzz.ratio(a.company_norm, b.company_norm) >= 90
    return False


def name_derived(person: Person) -> set[str]:
    """Local parts a person's name alone would give (john.smith, jsmith, smithj, john …)."""
    first, last = person.first_compact, person.last
    if not first or not last:
        return set()
    return {
        first + last,
        last + first,
        first[0] + last,
        first + last[0],
        last + first[0],
        first,
        last,
        person.first + last,
        person.first[:1] + last,
    }


def score_pair(a: Person, b: Person) -> Match | None:
    """How likely ``a`` and ``b`` are one person; None when nothing suggests it.

    Evidence, strongest first: the same organization, a near-identical e-mail address at
    the same domain, the same personal e-mail name at another domain, a phone one digit
    off. Similar names need one of them; a near-identical address suffices without names.
    Different organizations, or clearly different names, rule a pair out.
    """
    names = name_similarity(a, b)
    if names is not None and (names[1] < 0.75 or names[0] < 0.6):
        return None  # different people (Sarah and Raj Patel at one firm)
    org = same_organization(a, b)
    email = email_similarity(a, b)
    same_domain = bool(a.domain) and a.domain == b.domain
    close_email = same_domain and email >= 0.88 and min(len(a.local), len(b.local)) >= 5
    near_email = same_domain and email >= 0.8
    same_local = (
        bool(a.local)
        and a.local == b.local
        and len(a.local) >= 6
        and a.local not in matching.ROLE_LOCAL_PARTS
    )
    # "john.smith" at two domains says little more than the name does; "skywalker77" does.
    distinctive_local = same_local and a.local not in (name_derived(a) | name_derived(b))
    near_phone = phones_nearly_equal(a.phone, b.phone)

    reasons: list[str] = []
    strong_name = False
    if names is not None:
        first, last, transposed = names
        # A surname slip at the same company ("Ward" / "Werd") is still them.
        strong_name = first >= 0.85 and (
            last >= 0.88 or (org is True and first >= 0.95 and last >= 0.8)
        )
        if strong_name:
            if transposed:
                reasons.append("first and last name transposed")
            elif first == 1.0 and last == 1.0:
                reasons.append("same name")
            else:
                reasons.append(f"similar names ({(first + last) / 2:.2f})")
    if org is False:
        if not strong_name:
            return None
        return Match(b.contact_id, 0.25, (*reasons, "different companies"))

    confidence = 0.0
    if strong_name:
        strength = (names[0] + names[1]) / 2
        if org is True:
            confidence = 0.86 + 0.12 * strength
        elif close_email or distinctive_local:
            confidence = 0.84 + 0.12 * strength
        elif near_email:
            confidence = 0.8 + 0.1 * strength
        elif near_phone:
            confidence = 0.8
        elif same_local:
            confidence = 0.65
        else:
            confidence = 0.5  # a name alone: common names are shared by strangers
    elif names is None or (org is True and names[0] >= 0.75):
        # Without both names, or at one company: the address itself is the evidence. (Two
        # named people on one free-mail provider whose addresses differ as their names do
        # — amy.thomas / ama.thomas — are two people.)
        if close_email:
            confidence = 0.78 + 0.2 * (email - 0.88) / 0.12
        elif distinctive_local:
            confidence = 0.8
        elif org is True and near_phone:
            confidence = 0.76
    if confidence <= 0:
        return None
    if org is True:
        reasons.append("same company")
    if close_email or near_email:
        reasons.append(
            f"e-mail addresses nearly identical ({a.local}@{a.domain} / {b.local}@{b.domain})"
        )
    elif same_local:
        reasons.append(f"same e-mail name at another domain ({a.local})")
    if near_phone:
        reasons.append("phone numbers one digit apart")
    return Match(b.contact_id, round(min(confidence, 0.99), 3), tuple(reasons))


# --- Candidates from the database ------------------------------------------------------------


def candidate_rows(seekers: dict[str, list[Person]]) -> dict[str, list[tuple]]:
    """Key → ``(contact id, first, last, org)`` of the contacts sharing it, ``PER_KEY`` at most.

    ``seekers``: the people looking each key up. Per-key ``LIMIT``ed index lookups: the cost
    stays flat however many contacts share a common key, and each key gets its share of the
    candidates. The names and organizations come from the key rows (a covering index on
    PostgreSQL), not from the contacts: most candidates are screened out (``could_match``)
    before a contact is read. A row at an organization none of the key's seekers could share
    (``same_organization`` False for each) is left in the database, before the ``LIMIT``, so
    the people at one's own firm are not crowded out by namesakes elsewhere. Contact ids are
    their text (``str(uuid)``): a batch reads some hundred thousand rows, and building a
    ``UUID`` for each costs more than the query.
    """
    keys = sorted(seekers)
    if not keys:
        return {}
    table = connection.ops.quote_name(ContactKey._meta.db_table)
    column = connection.ops.quote_name("key")
    rows_by_key: dict[str, list[tuple]] = {}
    limits = [PER_COARSE_KEY if key.startswith("i:") else PER_KEY for key in keys]
    screens = [_org_screen(seekers[key]) for key in keys]
    if connection.vendor == "postgresql":
        # One statement for the whole batch: a lateral LIMITed lookup per key of the array.
        opens, ids, named = (list(column_) for column_ in zip(*screens, strict=True))
        statements = [
            (
                f"SELECT k.key, c.contact_id::text, c.first, c.last, c.org "  # noqa: S608
                f"FROM unnest(%s::text[], %s::int[], %s::bool[], %s::text[], %s::bool[]) "
                f"AS k(key, lim, open, ids, named) CROSS JOIN LATERAL "
                f"(SELECT contact_id, first, last, org FROM {table} WHERE {column} = k.key "
                f"AND (k.open OR org = '' OR (k.named AND strpos(org, 'name:') > 0) "
                f"OR string_to_array(org, '|') && string_to_array(k.ids, '|')) "
                f"LIMIT k.lim) AS c",
                [keys, limits, opens, ["|".join(i) for i in ids], named],
            )
        ]
    else:  # SQLite has no LATERAL: a UNION ALL of the same lookups per few hundred keys
        statements = []
        for start in range(0, len(keys), 250):
            parts, params = [], []
            for n in range(start, min(len(keys), start + 250)):
                parts.append(
                    f"SELECT * FROM (SELECT {column}, contact_id, first, last, org "  # noqa: S608
                    f"FROM {table} WHERE {column} = %s AND (%s OR org = '' "
                    f"OR (%s AND instr(org, 'name:') > 0) OR EXISTS (SELECT 1 FROM "
                    f"json_each(%s) WHERE instr('|' || org || '|', '|' || value || '|') > 0)) "
                    f"LIMIT {limits[n]}) AS k{n}"
                )
                open_, ids, named = screens[n]
                params += [keys[n], open_, named, json.dumps(ids)]
            statements.append((" UNION ALL ".join(parts), params))
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            for key, raw, first, last, org in cursor.fetchall():
                rows_by_key.setdefault(key, []).append((_uuid_text(raw), first, last, org))
    return rows_by_key


def _org_screen(people: list[Person]) -> tuple[bool, list[str], bool]:
    """(keep every row, organization ids any of ``people`` has, any has a company name).

    A row is kept when it names no organization, shares an id with one of them, or — when
    one of them has a company name — has a company name too (``same_organization``
    compares names by similarity). Someone without an organization keeps every row.
    """
    ids: set[str] = set()
    for person in people:  # (an id with a "|" in it could not be matched as one: keep all)
        if not person.org_ids or any("|" in i for i in person.org_ids):
            return True, [], False
        ids |= person.org_ids
    return False, sorted(ids), any(person.company_norm for person in people)


def _uuid_text(raw) -> str:
    """A stored contact id as ``str(uuid)`` (SQLite keeps the 32 hex digits only)."""
    if isinstance(raw, str):
        if len(raw) == 32:
            return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        return raw
    return str(raw)


def could_match(person: Person, rows: Iterable[tuple]) -> list:
    """Contact ids among ``rows`` (``(contact_id, first, last, org)``) ``score_pair`` might flag.

    Exact, not a heuristic: ``score_pair`` never flags a pair at different organizations,
    and rules a named pair out unless, in the order ``name_similarity`` picks, the surname
    scores ≥ 0.75 and the first name ≥ 0.6. A candidate whose organization
    (``org_signature``) differs is dropped; so is a named one passing in neither order — as
    written (surname to surname, first name by ``_first_similarity``) nor transposed.
    Unnamed or unknown (empty, or cut) names and organizations are kept. Surnames are
    compared vectorized; first names and organizations only for the rest.
    """
    ids, named_ids, lasts, firsts, orgs = [], [], [], [], []
    seen = {person.contact_id, str(person.contact_id)}
    limit = matching.NAME_LENGTH
    elsewhere: dict[str, bool] = {}  # org signature → works somewhere else

    def same_place(org: str) -> bool:
        if not org or not person.org_ids:
            return True
        if org not in elsewhere:
            other = Organization.of_signature(org)
            elsewhere[org] = same_organization(person, other) is False
        return not elsewhere[org]

    for pk, first, last, org in rows:
        if pk in seen:
            continue
        seen.add(pk)
        if person.has_full_name and first and last and len(first) < limit and len(last) < limit:
            named_ids.append(pk)
            lasts.append(last)
            firsts.append(first)
            orgs.append(org)
        elif same_place(org):
            ids.append(pk)
    if not named_ids:
        return ids
    compacts = [first.replace(" ", "") for first in firsts]
    direct_last = _word_similarities(person.last, lasts)
    swapped_last = _word_similarities(person.last, compacts)
    swapped_first = _word_similarities(person.first_compact, lasts)
    last_floor, first_floor = 0.75 - _EPSILON, 0.6 - _EPSILON
    for n, pk in enumerate(named_ids):
        if swapped_last[n] >= last_floor and swapped_first[n] >= first_floor:
            named = True
        elif direct_last[n] >= last_floor:
            canonical = matching.canonical_of_folded(firsts[n])
            similarity = _first_similarity(
                person.first, person.first_compact, canonical, compacts[n]
            )
            named = similarity >= first_floor
        else:
            named = False
        if named and same_place(orgs[n]):
            ids.append(pk)
    return ids


_EPSILON = 1e-9  # vectorized and one-by-one similarities may differ in the last bits


def _word_similarities(word: str, others: list[str]) -> list[float]:
    """``word_similarity`` of ``word`` with each of ``others`` (all non-empty), vectorized."""
    jaro = process.cdist([word], others, scorer=JaroWinkler.normalized_similarity, dtype="float64")
    osa = process.cdist([word], others, scorer=OSA.normalized_similarity, dtype="float64")
    return np.minimum(jaro[0], osa[0] + 0.1).tolist()


CANDIDATE_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email_normalized",
    "phone",
    "company_id",
    "company__name",
    "company__domain",
)


def people(ids: Iterable) -> dict:
    """Candidate rows as ``Person``s by ``str`` of the contact id (plain rows, not models)."""
    ids = list(ids)
    found: dict = {}
    for start in range(0, len(ids), 2000):
        rows = Contact.objects.filter(pk__in=ids[start : start + 2000]).values_list(
            *CANDIDATE_FIELDS
        )
        for pk, first, last, email, phone, company_id, company_name, company_domain in rows:
            found[str(pk)] = Person(
                contact_id=pk,
                first_name=first,
                last_name=last,
                email=email,
                phone=phone,
                company_id=company_id,
                company_name=company_name or "",
                website_domain=company_domain or "",
            )
    return found


def candidates(person: Person, exclude: Iterable = ()) -> list[Person]:
    """The contacts sharing a blocking key with ``person`` that might be them."""
    excluded = {str(pk) for pk in exclude if pk}
    rows = [
        row
        for rows_of_key in candidate_rows(dict.fromkeys(person.blocking_keys(), [person])).values()
        for row in rows_of_key
        if str(row[0]) not in excluded
    ]
    ids = could_match(person, rows)
    return list(people(ids).values()) if ids else []


def find_matches(person: Person, exclude: Iterable = ()) -> list[Match]:
    """Existing contacts ``person`` probably is, best first (at most ``MAX_FLAGS``)."""
    return best_matches(person, candidates(person, exclude))


def best_matches(person: Person, others: Iterable[Person]) -> list[Match]:
    """``others`` scored against ``person`` (each contact once), best first, flagged ones only.

    Before scoring, one vectorized pass drops named people whose surname cannot match:
    ``score_pair`` rules a pair out unless the surname (or, transposed, the first name)
    scores ≥ 0.75 with ``word_similarity`` ≤ Jaro-Winkler — so those it drops, it would drop.
    """
    seen = {person.contact_id}
    pool = []
    for other in others:
        if other.contact_id not in seen:
            seen.add(other.contact_id)
            pool.append(other)
    if person.has_full_name and pool:
        named = [other for other in pool if other.has_full_name]
        if named:
            scorer = JaroWinkler.normalized_similarity
            direct = process.cdist([person.last], [o.last for o in named], scorer=scorer)[0]
            swapped = process.cdist([person.last], [o.first_compact for o in named], scorer=scorer)[
                0
            ]
            out = {
                id(o)
                for o, d, t in zip(named, direct, swapped, strict=True)
                if d < SURNAME_FLOOR and t < SURNAME_FLOOR
            }
            pool = [other for other in pool if id(other) not in out]
    matches = []
    for other in pool:
        match = score_pair(person, other)
        if match is not None and match.confidence >= FLAG_THRESHOLD:
            matches.append(match)
    matches.sort(key=lambda m: (-m.confidence, str(m.contact_id)))
    return matches[:MAX_FLAGS]


# --- Keeping the blocking keys current -------------------------------------------------------


def _sync_keys(
    model, owner_field: str, owner_id, wanted: set[str], fresh: bool = False, **extra: str
) -> bool:
    """Make the owner's key rows ``wanted`` (each with the ``extra`` column values)."""
    columns = sorted(extra)
    want = {(key, *(extra[c] for c in columns)) for key in wanted}
    existing: set[tuple] = set()
    if not fresh:  # a record created in this transaction has no keys yet
        existing = set(model.objects.filter(**{owner_field: owner_id}).values_list("key", *columns))
    if existing == want:
        return False
    stale = {row[0] for row in existing - want}  # gone, or with other names
    if stale:
        model.objects.filter(**{owner_field: owner_id, "key__in": stale}).delete()
    kept = {row[0] for row in existing} - stale
    model.objects.bulk_create(
        [
            model(
                **{owner_field: owner_id, "key": row[0]}, **dict(zip(columns, row[1:], strict=True))
            )
            for row in sorted(want)
            if row[0] not in kept
        ],
        ignore_conflicts=True,
    )
    return True


def _key_columns(contact: Contact) -> tuple[set[str], dict[str, str]]:
    """A contact's blocking keys and the columns each key row carries (names, organization)."""
    person = Person.of_contact(contact)
    wanted = matching.contact_keys(
        contact.first_name, contact.last_name, contact.email_normalized, person.company_name
    )
    first, last = matching.comparison_names(contact.first_name, contact.last_name)
    return wanted, {"first": first, "last": last, "org": org_signature(person)}


def contact_key_rows(contact: Contact) -> list[ContactKey]:
    """The ``ContactKey`` rows a contact should have (unsaved)."""
    keys, columns = _key_columns(contact)
    return [ContactKey(contact_id=contact.pk, key=key, **columns) for key in sorted(keys)]


def index_contact(contact: Contact, *, fresh: bool = False) -> bool:
    """Store the contact's blocking keys; True when they changed (``fresh``: it has none yet)."""
    wanted, columns = _key_columns(contact)
    return _sync_keys(ContactKey, "contact_id", contact.pk, wanted, fresh, **columns)


def index_company(company: Company, *, fresh: bool = False) -> bool:
    wanted = matching.company_keys(company.name, company.domain)
    return _sync_keys(CompanyKey, "company_id", company.pk, wanted, fresh)


# Each indexed model: its key rows' model, their owner column, the columns compared.
_INDEXES = {
    Contact: (ContactKey, "contact_id", ("key", "first", "last", "org")),
    Company: (CompanyKey, "company_id", ("key",)),
}


def _wanted_rows(record: Contact | Company) -> set[tuple]:
    """The key rows ``index_contact`` / ``index_company`` would store for ``record``."""
    if isinstance(record, Contact):
        wanted, columns = _key_columns(record)
        return {(key, columns["first"], columns["last"], columns["org"]) for key in wanted}
    return {(key,) for key in matching.company_keys(record.name, record.domain)}


def already_indexed(model: type[Contact | Company], created, changed) -> set[str]:
    """Ids (text) of the records whose key rows need no re-indexing.

    ``created`` in this transaction: those with key rows (only their creator wrote them — a
    later change comes in ``changed``); ``changed``: those whose rows are what indexing writes.
    """
    key_model, owner, columns = _INDEXES[model]
    changed = set(changed)
    created = set(created) - changed
    done: set[str] = set()
    if created:
        rows = key_model.objects.filter(**{f"{owner}__in": created}).values_list(owner, flat=True)
        done |= {str(pk) for pk in rows.distinct()}
    if changed:
        stored: dict[str, set[tuple]] = defaultdict(set)
        rows = key_model.objects.filter(**{f"{owner}__in": changed}).values_list(owner, *columns)
        for owner_id, *row in rows:
            stored[str(owner_id)].add(tuple(row))
        records = model.objects.filter(pk__in=changed)
        if model is Contact:
            records = records.select_related("company")
        done |= {str(r.pk) for r in records if stored[str(r.pk)] == _wanted_rows(r)}
    return done


def company_by_key(name: str) -> Company | None:
    key = matching.company_key(name)
    if not key:
        return None
    row = (
        CompanyKey.objects.filter(key=f"cn:{key}"[:220])
        .order_by("company__created_at")
        .select_related("company")
        .first()
    )
    return row.company if row else None


def rebuild_keys(batch_size: int = 2000) -> int:
    """(Re)compute every contact's and company's keys: after an upgrade or a bulk load."""
    count = 0
    for model, index in ((Company, index_company), (Contact, index_contact)):
        last = None
        while True:
            queryset = model.objects.order_by("pk")
            if last is not None:
                queryset = queryset.filter(pk__gt=last)
            batch = list(queryset[:batch_size])
            if not batch:
                break
            for record in batch:
                index(record)
                count += 1
            last = batch[-1].pk
    return count
