"""Normalizing what people type, so the same person matches however they wrote it."""

from __future__ import annotations

import functools
from urllib.parse import urlparse

import phonenumbers
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email


@functools.lru_cache(maxsize=4096)  # a capture checks an address twice (input, then contact)
def normalize_email(raw: str) -> tuple[str, str]:
    """Return ``(display, normalized)``; raises ValidationError for an invalid address.

    No network: deliverability (MX) checks are off. ``normalized`` is lower-cased for matching.
    """
    raw = (raw or "").strip()
    if not raw:
        return "", ""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(str(exc)) from exc
    return result.normalized, result.normalized.lower()


def normalize_phone(raw: str, region: str) -> str:
    """E.164 (``+4930123456``) or ValidationError. Empty stays empty."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"Not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid for its country.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def website_domain(raw: str) -> str:
    raw = (raw or "").strip().lower()
    if not raw:
        return ""
    if "://" not in raw:
        raw = f"http://{raw}"
    host = urlparse(raw).hostname or ""
    return host.removeprefix("www.")


def clean_name(raw: str) -> str:
    """Trim and collapse spaces; title-case names typed all in one case."""
    name = " ".join((raw or "").split())
    if name and (name.islower() or name.isupper()):
        name = name.title()
    return name
