"""Magic-link tokens: unguessable, hashed at rest, scoped to one record, expiring."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.utils import timezone

from throughline.core import public_tokens
from throughline.core.models import PublicToken, User
from throughline.crm.models import Company, Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    return {
        "contact": Contact.objects.create(first_name="Ada"),
        "other": Contact.objects.create(first_name="Grace"),
        "company": Company.objects.create(name="Initech"),
    }


def test_only_the_hash_is_stored(records):
    raw = public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=1))
    assert len(raw) >= 40
    row = PublicToken.objects.get()
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {row.token_hash, row.object_id, row.scope}


def test_a_token_opens_its_own_record_only(records):
    raw = public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=1))
    other = public_tokens.issue_token("proposal", records["other"], dt.timedelta(days=1))
    assert public_tokens.resolve_token(raw, "proposal") == records["contact"]
    assert public_tokens.resolve_token(other, "proposal") == records["other"]
    assert raw != other


def test_a_token_of_another_scope_is_invalid(records):
    raw = public_tokens.issue_token("invoice", records["contact"], dt.timedelta(days=1))
    with pytest.raises(public_tokens.TokenInvalid):
        public_tokens.resolve_token(raw, "proposal")


@pytest.mark.parametrize("raw", ["", "short", "x" * 43, "../../etc/passwd", None, "a b c" * 10])
def test_unknown_or_malformed_tokens_are_invalid(records, raw):
    public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=1))
    with pytest.raises(public_tokens.TokenInvalid):
        public_tokens.resolve_token(raw, "proposal")


def test_an_expired_token_is_refused(records):
    raw = public_tokens.issue_token("proposal", records["contact"], dt.timedelta(hours=1))
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1), tick=False):
        with pytest.raises(public_tokens.TokenExpired):
            public_tokens.resolve_token(raw, "proposal")


def test_revoked_tokens_and_deleted_records_are_invalid(records):
    raw = public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=1))
    assert public_tokens.revoke_tokens("proposal", records["contact"]) == 1
    with pytest.raises(public_tokens.TokenInvalid):
        public_tokens.resolve_token(raw, "proposal")
    raw = public_tokens.issue_token("proposal", records["company"], dt.timedelta(days=1))
    records["company"].delete()
    with pytest.raises(public_tokens.TokenInvalid):
        public_tokens.resolve_token(raw, "proposal")


def test_uses_are_counted(records):
    raw = public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=1))
    public_tokens.resolve_token(raw, "proposal")
    public_tokens.resolve_token(raw, "proposal")
    row = PublicToken.objects.get()
    assert row.use_count == 2 and row.last_used_at is not None


def test_issuing_needs_a_saved_record_a_future_expiry_and_a_scope(records):
    with pytest.raises(ValueError):
        public_tokens.issue_token("proposal", Contact(first_name="unsaved"), dt.timedelta(days=1))
    with pytest.raises(ValueError):
        public_tokens.issue_token("proposal", records["contact"], dt.timedelta(seconds=-1))
    with pytest.raises(ValueError):
        public_tokens.issue_token("Bad Scope!", records["contact"], dt.timedelta(days=1))
    raw = public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=4000))
    row = PublicToken.objects.get(token_hash=public_tokens.hash_token(raw))
    assert row.expires_at <= timezone.now() + public_tokens.MAX_LIFETIME


def test_long_expired_rows_are_purged(records):
    public_tokens.issue_token("proposal", records["contact"], dt.timedelta(days=1))
    with time_machine.travel(timezone.now() + dt.timedelta(days=100), tick=False):
        assert public_tokens.purge_expired() == 1
    assert not PublicToken.objects.exists()
    assert User.objects.count() == 0  # nothing else touched
