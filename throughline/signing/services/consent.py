"""The consent to do business electronically (ESIGN §101(c), UETA §5), in versioned wording.

A new wording gets a new version key; old keys stay so evidence recorded under them can still
be shown and re-hashed. The hash recorded as evidence is of the exact text shown.
"""

from __future__ import annotations

import hashlib

WORDINGS: dict[str, str] = {
    "esign-2025-1": (
        "I agree to receive and sign this agreement with {organization} electronically. "
        "I understand that my electronic signature is legally binding, just like a "
        "handwritten one; that I may ask {organization} for a paper copy at no charge; "
        "that I may withdraw this consent before I sign by declining to sign; and that I "
        "need a device that can open PDF files and this e-mail address to receive the "
        "signed copy."
    ),
}
CURRENT_VERSION = "esign-2025-1"


def wording(version: str, organization: str) -> str:
    return WORDINGS[version].format(organization=organization)


def wording_sha256(version: str, organization: str) -> str:
    return hashlib.sha256(wording(version, organization).encode()).hexdigest()
