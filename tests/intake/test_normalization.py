"""Normalizing for matching: names, e-mail, phones, companies, websites, blocking keys."""

from __future__ import annotations

import pytest

from throughline.intake import matching
from throughline.intake.capture import LeadInput, clean_input


@pytest.mark.parametrize(
    ("raw", "first_name"),
    [("  ada  ", "Ada"), ("ADA", "Ada"), ("mary-jane", "Mary-Jane"), ("McKenzie", "McKenzie")],
)
def test_names_are_trimmed_and_cased_sensibly(org, raw, first_name):
    assert (
        clean_input(LeadInput(first_name=raw, email="a@example.com"), org).first_name == first_name
    )


@pytest.mark.parametrize(
    ("raw", "display", "normalized"),
    [
        ("Ada@Example.COM", "Ada@example.com", "ada@example.com"),
        ("  bob@bücher.example ", "bob@bücher.example", "bob@bücher.example"),
    ],
)
def test_email_is_validated_without_network_and_lowercased_for_matching(
    org, raw, display, normalized
):
    clean = clean_input(LeadInput(email=raw), org)
    assert (clean.email, clean.email_normalized) == (display, normalized)


@pytest.mark.parametrize(
    ("region", "raw", "e164"),
    [
        ("GB", "020 7946 0958", "+442079460958"),
        ("GB", "+44 (0)20 7946 0958", "+442079460958"),
        ("DE", "030 901820", "+4930901820"),
        ("US", "(415) 555-0132", "+14155550132"),
        ("GB", "+1 415 555 0132", "+14155550132"),  # an international number stays itself
    ],
)
def test_phone_becomes_e164_in_the_organizations_region(org, region, raw, e164):
    org.default_phone_region = region
    assert clean_input(LeadInput(phone=raw), org).phone == e164


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.acme.example/contact", "acme.example"),
        ("acme.example", "acme.example"),
        ("HTTP://Shop.Acme.Example:8080/", "shop.acme.example"),
        ("https://bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_website_becomes_a_domain(org, raw, domain):
    assert clean_input(LeadInput(email="a@x.example", website=raw), org).website_domain == domain


def test_utm_parameters_and_referrer_are_kept(org):
    clean = clean_input(
        LeadInput(
            email="a@example.com",
            utm={"UTM_Source": "news", "campaign": "spring", "fbclid": "x1", "utm_term": None},
            referrer="https://news.example/article?id=3",
        ),
        org,
    )
    assert clean.utm == {"utm_source": "news", "utm_campaign": "spring", "fbclid": "x1"}
    assert clean.referrer == "https://news.example/article?id=3"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME Limited", "acme"),
        ("Acme Ltd.", "acme"),
        ("The Acme Company", "acme"),
        ("Acme GmbH", "acme"),
        ("Acme S.A.", "acme"),
        ("Smith & Co", "smith"),
        ("Marlow & Finch Solicitors LLP", "marlow and finch solicitors"),
        ("Société Générale SA", "societe generale"),
        ("Ltd", "ltd"),  # a name that is only a legal form stays a name
    ],
)
def test_company_names_lose_legal_forms_for_matching(name, key):
    assert matching.company_key(name) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [("Smith", "Smyth"), ("Smith", "Smtih"), ("Robert", "Rupert"), ("Ashcraft", "Ashcroft")],
)
def test_soundex_codes_sound_alikes_the_same(a, b):
    assert matching.soundex(a) == matching.soundex(b)


def test_nicknames_resolve_to_one_first_name():
    assert matching.canonical_first_name("Bob") == matching.canonical_first_name("Robert")
    assert matching.canonical_first_name("Jon") == "john"
    assert matching.canonical_first_name("Mary Ann") == "mary"


def test_transposed_names_share_a_blocking_key():
    stored = matching.contact_keys("John", "Smith", "")
    assert stored & matching.query_keys("Smith", "John", "")


def test_typo_in_an_email_local_part_keeps_a_blocking_key():
    stored = matching.email_keys("john.smith@acme.example")
    assert stored & matching.email_keys("jonh.smith@acme.example")
    assert stored & matching.email_keys("john.smiht@acme.example")


def test_free_mail_domains_are_not_an_organization():
    assert matching.organization_domain("gmail.com") == ""
    assert matching.organization_domain("acme.example") == "acme.example"
    assert matching.organization_tokens("", "john@gmail.com") == set()
