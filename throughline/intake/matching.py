"""Normalizing people and companies *for matching* (what we store is crm.normalize's job).

Everything here is pure and deterministic, so blocking keys computed when a contact is saved
equal the ones computed for a new lead, and the dedup benchmark can run it without a database.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Free-mail and ISP domains: sharing one says nothing about working at the same company.
GENERIC_EMAIL_DOMAINS = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it ymail.com
    rocketmail.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.it hotmail.es
    outlook.com outlook.de outlook.fr live.com live.co.uk live.fr live.de msn.com windowslive.com
    icloud.com me.com mac.com aol.com aim.com protonmail.com protonmail.ch proton.me pm.me
    gmx.com gmx.de gmx.net gmx.at gmx.ch web.de t-online.de freenet.de posteo.de mailbox.org
    mail.com email.com zoho.com zohomail.com yandex.com yandex.ru mail.ru inbox.ru bk.ru list.ru
    fastmail.com fastmail.fm hey.com tutanota.com tuta.io qq.com 163.com 126.com sina.com
    naver.com hanmail.net daum.net orange.fr wanadoo.fr free.fr laposte.net sfr.fr neuf.fr
    libero.it virgilio.it alice.it tiscali.it btinternet.com virginmedia.com sky.com talktalk.net
    ntlworld.com blueyonder.co.uk comcast.net verizon.net att.net sbcglobal.net bellsouth.net
    cox.net charter.net earthlink.net optonline.net shaw.ca rogers.com sympatico.ca telus.net
    bigpond.com bigpond.net.au optusnet.com.au xtra.co.nz seznam.cz wp.pl o2.pl interia.pl
    onet.pl rediffmail.com uol.com.br bol.com.br terra.com.br ziggo.nl kpnmail.nl home.nl
    telenet.be skynet.be bluewin.ch sunrise.ch
    """.split()
)

# Shared mailboxes: the same local part at two domains is no hint of the same person.
ROLE_LOCAL_PARTS = frozenset(
    """
    info contact hello hi office admin sales support help enquiries enquiry inquiries mail
    team accounts billing finance hr jobs careers marketing press media service services
    reception bookings booking orders noreply no-reply webmaster postmaster
    """.split()
)

# Legal forms dropped from company names before comparing ("ACME Limited" = "Acme Ltd").
LEGAL_SUFFIXES = frozenset(
    """
    ltd limited llc llp lp plc inc incorporated corp corporation co company cos gmbh mbh ag kg
    ohg ug sa sas sasu sarl eurl sca bv nv vof srl spa sl sll slu oy oyj ab as asa aps a/s
    pty pte bhd sdn kk kft zrt sp zoo spzoo sro as doo ou se cv pc pllc lda ltda sab
    group holding holdings
    """.split()
)

# Common short forms → one canonical first name ("Bob" and "Robert" block and score together).
NICKNAMES = {
    "bob": "robert",
    "bobby": "robert",
    "rob": "robert",
    "robbie": "robert",
    "bert": "robert",
    "bill": "william",
    "billy": "william",
    "will": "william",
    "willy": "william",
    "liam": "william",
    "jim": "james",
    "jimmy": "james",
    "jamie": "james",
    "mike": "michael",
    "mick": "michael",
    "mikey": "michael",
    "dave": "david",
    "davy": "david",
    "dan": "daniel",
    "danny": "daniel",
    "tom": "thomas",
    "tommy": "thomas",
    "chris": "christopher",
    "kit": "christopher",
    "kate": "katherine",
    "katie": "katherine",
    "kathy": "katherine",
    "cathy": "catherine",
    "liz": "elizabeth",
    "lizzie": "elizabeth",
    "beth": "elizabeth",
    "betty": "elizabeth",
    "eliza": "elizabeth",
    "jon": "john",
    "johnny": "john",
    "jack": "john",
    "jen": "jennifer",
    "jenny": "jennifer",
    "alex": "alexander",
    "sandy": "alexander",
    "sam": "samuel",
    "sammy": "samuel",
    "ben": "benjamin",
    "benny": "benjamin",
    "nick": "nicholas",
    "nicky": "nicholas",
    "matt": "matthew",
    "tony": "anthony",
    "steve": "stephen",
    "steven": "stephen",
    "andy": "andrew",
    "drew": "andrew",
    "sue": "susan",
    "suzy": "susan",
    "maggie": "margaret",
    "meg": "margaret",
    "peggy": "margaret",
    "ted": "edward",
    "ed": "edward",
    "eddie": "edward",
    "rick": "richard",
    "ricky": "richard",
    "dick": "richard",
    "rich": "richard",
    "joe": "joseph",
    "joey": "joseph",
    "greg": "gregory",
    "nate": "nathan",
    "pete": "peter",
    "phil": "philip",
    "phillip": "philip",
    "fred": "frederick",
    "freddie": "frederick",
    "harry": "henry",
    "hank": "henry",
    "larry": "lawrence",
    "len": "leonard",
    "lenny": "leonard",
    "ron": "ronald",
    "ronnie": "ronald",
    "don": "donald",
    "doug": "douglas",
    "gerry": "gerald",
    "jerry": "gerald",
    "ken": "kenneth",
    "kenny": "kenneth",
    "tim": "timothy",
    "timmy": "timothy",
    "vicky": "victoria",
    "tori": "victoria",
    "becky": "rebecca",
    "becca": "rebecca",
    "abby": "abigail",
    "mandy": "amanda",
    "pam": "pamela",
    "patty": "patricia",
    "trish": "patricia",
    "debbie": "deborah",
    "deb": "deborah",
    "jess": "jessica",
    "jessie": "jessica",
    "sophie": "sophia",
    "nat": "natalie",
    "sasha": "alexandra",
    "lexi": "alexandra",
    "mo": "mohammed",
    "mohamed": "mohammed",
    "muhammad": "mohammed",
    "mohammad": "mohammed",
}

_SOUNDEX = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_NOT_LOCAL_KEY = re.compile(r"[^0-9a-z]")


def fold_once(text: str) -> str:
    """Lower-case, accents removed, punctuation to single spaces: "José-Luis " → "jose luis"."""
    if not text:
        return ""
    if text.isascii():  # nothing to decompose, and casefold() is lower() (most names)
        return _NON_WORD.sub(" ", text.lower()).strip()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


# Names and company names repeat: an import folds the same ones many times. (E-mail local
# parts are nearly all distinct: they use ``fold_once`` and stay out of the cache.)
fold = functools.lru_cache(maxsize=65536)(fold_once)


def compact(text: str) -> str:
    """``fold`` without spaces: "O'Neil" → "oneil", "van der Berg" → "vanderberg"."""
    return fold(text).replace(" ", "")


def soundex(word: str) -> str:
    """American Soundex of the ASCII letters of ``word`` ("" when it has none).

    Robust to the typos people make in surnames: Smith, Smyth and Smtih all give S530.
    """
    letters = [ch for ch in word.lower() if "a" <= ch <= "z"]
    if not letters:
        return ""
    out = letters[0].upper()
    previous = _SOUNDEX.get(letters[0], "")
    for ch in letters[1:]:
        code = _SOUNDEX.get(ch, "")
        if code and code != previous:
            out += code
            if len(out) == 4:
                break
        if ch not in "hw":  # consonants either side of h/w are coded once
            previous = code
    return out.ljust(4, "0")


def phonetic(name: str) -> str:
    """Soundex of a compacted name, or the name itself for scripts Soundex cannot code."""
    word = compact(name)
    return soundex(word) or word[:12]


def canonical_first_name(first_name: str) -> str:
    """First given name, folded, nickname resolved: "Bob" → "robert", "Mary-Ann" → "mary"."""
    return canonical_of_folded(fold(first_name))


def company_key(name: str) -> str:
    """Company name for matching: folded, "&" as "and", legal forms and a leading "the" dropped.

    "ACME Limited", "Acme Ltd." and "The Acme Co" all give "acme".
    """
    text = fold((name or "").replace("&", " and ").replace("+", " and "))
    tokens = text.split()
    # Legal forms written with dots or spaces ("S.A.", "B. V.") fold into single letters.
    joined: list[str] = []
    for token in tokens:
        if len(token) == 1 and joined and len(joined[-1]) <= 3 and joined[-1].isalpha():
            candidate = joined[-1] + token
            if any(s.startswith(candidate) for s in LEGAL_SUFFIXES):
                joined[-1] = candidate
                continue
        joined.append(token)
    tokens = joined
    while len(tokens) > 1 and (tokens[-1] in LEGAL_SUFFIXES or tokens[-1] == "and"):
        tokens.pop()  # "Smith & Co" → "smith"
    if len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    return " ".join(tokens)


def split_email(normalized: str) -> tuple[str, str]:
    local, _, domain = (normalized or "").rpartition("@")
    return local, domain


def email_local_key(local: str) -> str:
    """Local part for comparing: "+tag" dropped, only letters and digits: "j.smith+x" → "jsmith"."""
    local = local.split("+", 1)[0]
    return _NOT_LOCAL_KEY.sub("", local.lower() if local.isascii() else fold_once(local))


def is_generic_domain(domain: str) -> bool:
    return domain in GENERIC_EMAIL_DOMAINS


def organization_domain(email_domain: str, website_domain: str = "") -> str:
    """The domain that says which organization a person belongs to ("" for free-mail)."""
    if website_domain:
        return website_domain
    if email_domain and not is_generic_domain(email_domain):
        return email_domain
    return ""


# --- Blocking keys ---------------------------------------------------------------------------
# A key is a short string two records share when they might be the same person. Stored per
# contact in ``ContactKey``; a new person is compared only with contacts sharing a key.
#   n:<soundex last>:<soundex first>   fine name key   (Jon/John Smith, Smyth, Smtih)
#   i:<soundex last>:<first initial>   coarse name key (Jonathan/Jon, "J. Smith")
#   e:<domain>:<local prefix|suffix>   typo'd e-mail local part at the same domain
#   x:<local part>                     the same personal local part at another domain
#   c:<company>:<first initial>        colleagues: a typo'd surname at the same company
KEY_LENGTH = 120  # intake.ContactKey.key


def name_keys(first_name: str, last_name: str) -> set[str]:
    first = canonical_first_name(first_name)
    last = compact(last_name)
    if not first or not last:
        return set()
    last_code = phonetic(last)
    return {f"n:{last_code}:{phonetic(first)}", f"i:{last_code}:{first[0]}"}


def query_name_keys(first_name: str, last_name: str) -> set[str]:
    """Keys to look up for a new person: both name orders, so transposed names meet."""
    return name_keys(first_name, last_name) | name_keys(last_name, first_name)


def email_keys(email_normalized: str) -> set[str]:
    local, domain = split_email(email_normalized)
    key = email_local_key(local)
    if not domain or len(key) < 3:
        return set()
    if len(key) < 6:
        keys = {f"e:{domain}:={key}"}
    else:
        # A single slip changes the start or the end of the local part, not both.
        keys = {f"e:{domain}:<{key[:4]}", f"e:{domain}:>{key[-4:]}"}
    if len(key) >= 6 and key not in ROLE_LOCAL_PARTS:
        keys.add(f"x:{key}")
    return keys


def organization_tokens(company_name: str, email_normalized: str) -> set[str]:
    """What names a person's organization: its normalized name, its (non-free-mail) domain."""
    tokens = set()
    key = company_key(company_name)
    if key:
        tokens.add(key[:60])
    domain = split_email(email_normalized)[1]
    if domain and not is_generic_domain(domain):
        tokens.add("@" + domain)
    return tokens


def colleague_keys(first_name: str, last_name: str, company_name: str, email: str) -> set[str]:
    initial = canonical_first_name(first_name)[:1]
    if not initial or not compact(last_name):
        return set()
    return {f"c:{token}:{initial}" for token in organization_tokens(company_name, email)}


def contact_keys(
    first_name: str, last_name: str, email_normalized: str, company_name: str = ""
) -> set[str]:
    keys = (
        name_keys(first_name, last_name)
        | email_keys(email_normalized)
        | colleague_keys(first_name, last_name, company_name, email_normalized)
    )
    return {key[:KEY_LENGTH] for key in keys}


NAME_LENGTH = 100  # intake.ContactKey.first / .last


def comparison_names(first_name: str, last_name: str) -> tuple[str, str]:
    """(first name folded, surname compacted), stored on each key row for screening.

    The folded first name gives both forms ``dedup.Person`` compares: compacted (spaces
    dropped) and canonical (first token, nickname resolved). A value cut at ``NAME_LENGTH``
    is not the one scored; readers treat it as unknown.
    """
    return fold(first_name)[:NAME_LENGTH], compact(last_name)[:NAME_LENGTH]


def canonical_of_folded(folded: str) -> str:
    """``canonical_first_name`` of an already folded first name."""
    tokens = folded.split()
    return NICKNAMES.get(tokens[0], tokens[0]) if tokens else ""


def query_keys(
    first_name: str, last_name: str, email_normalized: str, company_name: str = ""
) -> set[str]:
    """Keys to look up for a new person: both name orders, so transposed names meet."""
    keys = (
        query_name_keys(first_name, last_name)
        | email_keys(email_normalized)
        | colleague_keys(first_name, last_name, company_name, email_normalized)
        | colleague_keys(last_name, first_name, company_name, email_normalized)
    )
    return {key[:KEY_LENGTH] for key in keys}


def company_keys(name: str, domain: str) -> set[str]:
    keys = set()
    key = company_key(name)
    if key:
        keys.add(f"cn:{key}"[:220])
    if domain:
        keys.add(f"cd:{domain}"[:220])
    return keys
