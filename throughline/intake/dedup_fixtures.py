"""A seeded, labelled set of people and near-duplicates, for ``bench/dedup.py`` and tests.

``generate(seed, population, probes)`` returns a base population of distinct people (as
``crm.Contact`` field values) and probes — new inquiries — each labelled with the index of
the base person it duplicates, or ``None`` for a new person.

How near-duplicates are made (what real re-submissions look like): a nickname or a typo in
the first name, a typo in the surname, first and last name swapped, the company written
another way (legal form, case, "&"), a typo in the e-mail's local part, the personal
address instead of the work one, a phone number one digit off, fields left out. A positive
keeps at least one piece of corroborating evidence (company, domain, an e-mail address or a
phone) besides the name: "J. Smith, no e-mail, no company" is undecidable for a person too.

Hard negatives (different people a naive matcher would merge): the same name at another
company, a colleague with the same surname at the same company, a similar name at another
company, a common name on the same free-mail provider with an unrelated address.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST_NAMES = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Margaret
Anthony Sandra Mark Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth
Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Edward Laura
Jason Sharon Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna
Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon Samantha Benjamin
Katherine Samuel Christine Gregory Debra Alexander Rachel Frank Carolyn Patrick Janet Raymond
Catherine Jack Maria Dennis Heather Jerry Diane Tyler Ruth Aaron Julie Oliver Amelia Harry Isla
Noah Olivia Leo Freya Arjun Priya Rahul Ananya Vikram Deepa Sanjay Kavita Amit Neha Mohammed
Fatima Ahmed Aisha Omar Layla Yusuf Zainab Chen Wei Li Mei Hiroshi Yuki Kenji Sakura Jose
Carmen Luis Sofia Miguel Lucia Javier Elena Pedro Isabel Lukas Anna Jonas Lena Felix Mia
Piotr Agnieszka Tomasz Katarzyna Chidi Ngozi Emeka Adaeze Kwame Ama Kofi Abena Sean Niamh
Ciaran Siobhan Rhys Cerys Gareth Megan Callum Eilidh Fraser Iona Lars Ingrid Sven Astrid
""".split()

# Surnames with rough frequencies: common ones repeat, as in any real customer base.
COMMON_LAST = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner
Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott
Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson
Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams
Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
""".split()
RARE_LAST = """
Abernethy Achterberg Adeyemi Ainsworth Alderton Ashcombe Ballantyne Bellweather Blackwood
Brennan Brightwell Carmichael Castellano Chowdhury Cresswell Dunmore Ellingham Fairbrother
Featherstone Ferreira Fitzgerald Gallagher Greenhalgh Haddad Hargreaves Hathaway Holloway
Ibrahim Kendrick Kowalski Lindqvist Lowther Mackenzie Marchetti Mensah Montgomery Nakamura
Novak Nwosu Okafor Okonkwo Osei Pemberton Penrose Pritchard Quinlan Rahman Ravenscroft
Rosenthal Sinclair Strickland Thornbury Underwood Varga Vasquez Whitfield Wieczorek Yamamoto
Zielinski Oduya Brodie Moreau Vogel Asante Abiola Eriksen Lindgren Nieminen Horvath Kaur
""".split()

COMPANY_WORDS = """
Acme Northwind Harbour Cobalt Summit Riverside Oakridge Bluebell Kestrel Ironbridge Saltmarsh
Copperfield Lumen Redfern Willowbank Greyfriars Fieldhouse Thistle Marlow Brightwater Quayside
Glenmore Lotus Valley Vantage Pinnacle Meridian Horizon Beacon Granite Evergreen Silverline
Crescent Keystone Atlas Nimbus Orchard Heron Falcon Maple Cedar Aspen Juniper Sterling Regent
""".split()
COMPANY_KINDS = """
Architects Bakery Consulting Dental Design Engineering Events Fitness Interiors Legal Logistics
Marketing Media Physio Plumbing Print Property Studios Surveyors Tutoring Vets Accountants
""".split()
LEGAL_FORMS = ["Ltd", "Limited", "LLP", "Ltd.", "Group", "& Co", "", "", ""]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.co.uk", "hotmail.com", "icloud.com"]
NICKNAME_OF = {
    "Robert": "Bob",
    "William": "Bill",
    "James": "Jim",
    "Michael": "Mike",
    "David": "Dave",
    "Daniel": "Dan",
    "Thomas": "Tom",
    "Christopher": "Chris",
    "Katherine": "Kate",
    "Elizabeth": "Liz",
    "Jennifer": "Jen",
    "Alexander": "Alex",
    "Samuel": "Sam",
    "Benjamin": "Ben",
    "Nicholas": "Nick",
    "Matthew": "Matt",
    "Anthony": "Tony",
    "Stephen": "Steve",
    "Andrew": "Andy",
    "Jonathan": "Jon",
    "Joseph": "Joe",
    "Edward": "Ed",
    "Richard": "Rick",
    "Margaret": "Maggie",
    "Rebecca": "Becky",
}


@dataclass
class Record:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    company: str = ""
    website_domain: str = ""


@dataclass
class Probe:
    record: Record
    duplicate_of: int | None  # index into the population, or None for a new person
    kind: str  # how it was made, for per-kind figures


@dataclass
class LabelledSet:
    population: list[Record] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class _Maker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        self.companies = self._companies(600)

    def _companies(self, n: int) -> list[tuple[str, str]]:
        seen, out = set(), []
        while len(out) < n:
            base = f"{self.rng.choice(COMPANY_WORDS)} {self.rng.choice(COMPANY_KINDS)}"
            if base in seen:
                continue
            seen.add(base)
            form = self.rng.choice(LEGAL_FORMS)
            name = f"{base} {form}".strip()
            domain = _ascii(base.split()[0]) + "-" + _ascii(base.split()[1]) + ".example"
            out.append((name, domain))
        return out

    def last_name(self) -> str:
        if self.rng.random() < 0.55:
            return self.rng.choice(COMMON_LAST)
        return self.rng.choice(RARE_LAST)

    def phone(self) -> str:
        while True:
            number = f"+44{self.rng.choice(['20', '161', '113', '117', '121'])}{self.rng.randrange(10**7, 10**8)}"[
                :13
            ]
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def email(self, first: str, last: str, domain: str, personal: bool) -> str:
        f, last_ = _ascii(first), _ascii(last)
        styles = [f"{f}.{last_}", f"{f[0]}{last_}", f"{f}", f"{f}{last_}", f"{f}_{last_}"]
        if personal:
            styles += [
                f"{f}.{last_}{self.rng.randrange(10, 99)}",
                f"{f}{last_[0]}{self.rng.randrange(100, 999)}",
            ]
        for _ in range(20):
            address = f"{self.rng.choice(styles)}@{domain}"
            if self.claim(address):
                return address
        while True:
            address = f"{f}.{last_}.{self.rng.randrange(1000, 9999)}@{domain}"
            if self.claim(address):
                return address

    def claim(self, address: str) -> bool:
        """One mailbox per person: "j.smith@" and "jsmith@gmail.com" are the same mailbox."""
        local, _, domain = address.partition("@")
        key = f"{_ascii(local)}@{domain}"
        if key in self.used_emails:
            return False
        self.used_emails.add(key)
        return True

    def person(self, first=None, last=None, company=None) -> Record:
        first = first or self.rng.choice(FIRST_NAMES)
        last = last or self.last_name()
        if company is None and self.rng.random() < 0.7:
            company = self.rng.choice(self.companies)
        if company:
            name, domain = company
            email = self.email(first, last, domain, personal=False)
            return Record(
                first, last, email, self.phone() if self.rng.random() < 0.6 else "", name, ""
            )
        email = self.email(first, last, self.rng.choice(FREE_MAIL), personal=True)
        return Record(first, last, email, self.phone() if self.rng.random() < 0.6 else "")


def _typo(rng: random.Random, word: str) -> str:
    """One realistic slip: adjacent letters swapped, one dropped, one doubled, one changed."""
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "vowel"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    vowels = "aeiou"
    positions = [j for j in range(1, len(word)) if word[j].lower() in vowels]
    if not positions:
        return word[:i] + word[i + 1 :]
    j = rng.choice(positions)
    replacement = rng.choice([v for v in vowels if v != word[j].lower()])
    return word[:j] + replacement + word[j + 1 :]


def _name_locals(record: Record) -> set[str]:
    f, last = _ascii(record.first_name), _ascii(record.last_name)
    return {f + last, f[:1] + last, f, f + last[:1], last + f, last}


def _company_variant(rng: random.Random, name: str) -> str:
    base = name
    for form in ("Ltd.", "Limited", "Ltd", "LLP", "Group", "& Co"):
        if base.endswith(" " + form):
            base = base[: -len(form) - 1]
    return rng.choice(
        [base, base.upper(), f"{base} Limited", f"{base} Ltd", f"The {base}", base.lower()]
    )


def _local_typo(rng: random.Random, maker: _Maker, email: str) -> str:
    local, _, domain = email.partition("@")
    for _ in range(10):
        address = f"{_typo(rng, local)}@{domain}"
        if maker.claim(address):
            return address
    return ""


def _positive(rng: random.Random, maker: _Maker, base: Record) -> tuple[Record, str]:
    """A re-submission of ``base``: the name drifts, and at least one corroboration remains."""
    r = Record(**base.__dict__)
    kinds = []
    # The name.
    roll = rng.random()
    if roll < 0.2 and base.first_name in NICKNAME_OF:
        r.first_name, _ = NICKNAME_OF[base.first_name], kinds.append("nickname")
    elif roll < 0.4:
        r.first_name, _ = _typo(rng, base.first_name), kinds.append("first-name typo")
    elif roll < 0.55:
        r.last_name, _ = _typo(rng, base.last_name), kinds.append("surname typo")
    elif roll < 0.68:
        r.first_name, r.last_name = base.last_name, base.first_name
        kinds.append("transposed")
    elif roll < 0.76:
        r.first_name = r.last_name = ""
        kinds.append("no name")
    else:
        r.first_name, r.last_name = base.first_name.lower(), base.last_name.upper()
        kinds.append("case only")
    # The evidence that it is them (the e-mail is never the same: that is an exact match).
    options = ["email typo"]
    if base.company:
        options += ["company variant", "work→personal"]
    if base.phone:
        options.append("phone typo")
    local = _ascii(base.email.partition("@")[0])
    if not base.company and local not in _name_locals(base):
        options.append(
            "other free-mail"
        )  # "skywalker77" elsewhere is them; "john.smith" may not be
    evidence = rng.choice(options)
    if r.first_name == "" and evidence not in {"email typo", "other free-mail"}:
        evidence = "email typo"
    kinds.append(evidence)
    if evidence == "email typo":
        r.email = _local_typo(rng, maker, base.email)
        if base.company and rng.random() < 0.5:
            r.company = _company_variant(rng, base.company)
    elif evidence == "company variant":
        r.company = _company_variant(rng, base.company)
        r.email = ""
        if rng.random() < 0.5:
            r.email = maker.email(
                base.first_name, base.last_name, rng.choice(FREE_MAIL), personal=True
            )
    elif evidence == "work→personal":
        # Their own mailbox, name-based local part, plus the company typed as usual.
        local = base.email.partition("@")[0]
        address = f"{local}@{rng.choice(FREE_MAIL)}"
        r.email = address if maker.claim(address) else ""
        r.company = _company_variant(rng, base.company)
    elif evidence == "phone typo":
        digits = list(base.phone)
        i = rng.randrange(5, len(digits))
        digits[i] = str((int(digits[i]) + rng.randrange(1, 9)) % 10)
        r.phone = "".join(digits)
        r.email = ""
        r.company = _company_variant(rng, base.company) if base.company else ""
    elif evidence == "other free-mail":
        local, _, domain = base.email.partition("@")
        address = f"{local}@{rng.choice([d for d in FREE_MAIL if d != domain])}"
        r.email = address if maker.claim(address) else _local_typo(rng, maker, base.email)
    if r.phone == base.phone and evidence != "phone typo":
        r.phone = ""  # the same phone would be an exact match, not a likely one
    if not r.email and not r.phone:
        r.phone = maker.phone()
    return r, " + ".join(kinds)


def _negative(
    rng: random.Random, maker: _Maker, population: list[Record], taken: set
) -> tuple[Record, str]:
    """A different person; never someone already in the population under another address."""
    for _ in range(50):
        record, kind = _negative_candidate(rng, maker, population)
        key = (record.first_name, record.last_name, record.company)
        if key not in taken:
            taken.add(key)
            return record, kind
    raise RuntimeError("could not make a new person")  # pragma: no cover


def _negative_candidate(
    rng: random.Random, maker: _Maker, population: list[Record]
) -> tuple[Record, str]:
    base = rng.choice(population)
    roll = rng.random()
    if roll < 0.3 and base.company:
        # Same name, another company: a namesake.
        others = [c for c in maker.companies if c[0] != base.company]
        return maker.person(
            base.first_name, base.last_name, rng.choice(others)
        ), "namesake elsewhere"
    if roll < 0.5 and base.company:
        # A colleague with the same surname (family firm, spouses).
        company = next(c for c in maker.companies if c[0] == base.company)
        first = rng.choice([f for f in FIRST_NAMES if f[0] != base.first_name[0]])
        return maker.person(first, base.last_name, company), "same surname, same company"
    if roll < 0.65:
        # Similar name, different company or free-mail.
        first = _typo(rng, base.first_name) if rng.random() < 0.5 else base.first_name
        others = [c for c in maker.companies if c[0] != base.company]
        return maker.person(
            first, _typo(rng, base.last_name), rng.choice(others)
        ), "similar name elsewhere"
    if roll < 0.8 and not base.company:
        # The same common name on the same free-mail provider, an unrelated address.
        domain = base.email.partition("@")[2]
        local = (
            f"{_ascii(base.first_name)[:3]}{_ascii(base.last_name)[:2]}{rng.randrange(1000, 9999)}"
        )
        if maker.claim(f"{local}@{domain}"):
            record = Record(base.first_name, base.last_name, f"{local}@{domain}", "")
            return record, "namesake, same free-mail"
    return maker.person(), "new person"


def generate(seed: int = 20260401, population: int = 5000, probes: int = 1000) -> LabelledSet:
    """Half the probes are near-duplicates of someone in the population, half are not."""
    rng = random.Random(seed)
    maker = _Maker(rng)
    people: list[Record] = []
    seen: set[tuple[str, str, str]] = set()
    while len(people) < population:
        person = maker.person()
        key = (person.first_name, person.last_name, person.company)
        if key in seen:
            continue  # one "John Smith at Acme" per population: the labels stay true
        seen.add(key)
        people.append(person)
    labelled = LabelledSet(population=people)
    for n in range(probes):
        if n % 2 == 0:
            index = rng.randrange(len(people))
            record, kind = _positive(rng, maker, people[index])
            labelled.probes.append(Probe(record, index, kind))
        else:
            record, kind = _negative(rng, maker, people, seen)
            labelled.probes.append(Probe(record, None, kind))
    return labelled
