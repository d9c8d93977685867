"""Settings remembered by the process under the configuration stamp (core.lookup_cache)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from throughline.core import lookup_cache
from throughline.core.lookup_cache import batch_cache, cached_config, config_changed, read_stamp
from throughline.core.models import Organization
from throughline.intake.models import LeadSource
from throughline.intake.routing import services as routing

pytestmark = pytest.mark.django_db


class Counter:
    def __init__(self, value="value"):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return self.value


def _in_batch(key, compute):
    with batch_cache():
        return cached_config(key, compute)


def _another_process_changes_the_settings():
    # What another process's change leaves behind: a new stamp, committed (no signal here).
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_configstamp SET stamp = stamp + 1 WHERE id = 1")


def test_outside_a_batch_every_lookup_is_fresh(org):
    compute = Counter()
    cached_config("test.outside", compute)
    cached_config("test.outside", compute)
    assert compute.calls == 2


def test_batches_share_a_setting_until_any_process_changes_one(org):
    config_changed()  # a stamp this test owns
    compute = Counter()
    assert _in_batch("test.shared", compute) == "value"
    assert _in_batch("test.shared", compute) == "value"
    assert compute.calls == 1
    _another_process_changes_the_settings()
    assert _in_batch("test.shared", compute) == "value"
    assert compute.calls == 2


def test_saving_a_watched_model_is_seen_by_the_next_batch(org):
    config_changed()
    assert _in_batch("test.org", Organization.current).legal_name == org.legal_name
    org.legal_name = "Renamed Ltd"
    org.save()
    assert _in_batch("test.org", Organization.current).legal_name == "Renamed Ltd"
    # and inside a batch, a change made in that batch is read again at once
    with batch_cache():
        source = cached_config("test.source", lambda: LeadSource.objects.get(slug="website"))
        LeadSource.objects.filter(pk=source.pk).update(name="Site")  # no signal…
        config_changed()  # …so the writer says so
        again = cached_config("test.source", lambda: LeadSource.objects.get(slug="website"))
    assert again.name == "Site"


def test_a_change_rolled_back_leaves_the_old_settings(org):
    config_changed()
    before = read_stamp()
    name = org.legal_name
    with pytest.raises(RuntimeError), transaction.atomic():
        org.legal_name = "Never Ltd"
        org.save()
        assert _in_batch("test.rollback", Organization.current).legal_name == "Never Ltd"
        raise RuntimeError("roll back")
    assert read_stamp() == before
    assert _in_batch("test.rollback", Organization.current).legal_name == name


def test_a_value_computed_while_the_settings_change_is_not_shared(org):
    config_changed()
    changing = Counter()

    def compute():
        config_changed()  # e.g. a lookup that creates its settings row on first use
        return changing()

    _in_batch("test.changing", compute)
    _in_batch("test.changing", compute)
    assert changing.calls == 2


def test_without_a_stamp_row_nothing_is_shared(org):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_configstamp")
    compute = Counter()
    _in_batch("test.nostamp", compute)
    _in_batch("test.nostamp", compute)
    assert compute.calls == 2
    config_changed()  # writes the row again
    assert read_stamp() is not None
    _in_batch("test.nostamp", compute)
    _in_batch("test.nostamp", compute)
    assert compute.calls == 3


def test_moving_a_routing_rule_changes_who_the_next_lead_goes_to(org, users, actor):
    from throughline.intake.capture import LeadInput, capture_lead

    sales, admin = users["sales"], users["admin"]
    first = routing.create_rule(actor, name="To sales", user=sales, conditions=[])
    routing.create_rule(actor, name="To admin", user=admin, conditions=[])

    def owner(n):
        data = LeadInput(email=f"lead{n}@example.org", acknowledge=False)
        return capture_lead(actor, data).lead.owner

    assert owner(1) == sales  # (the first capture also creates settings rows of its own)
    assert owner(2) == sales
    assert "intake_routing.active_rules" in lookup_cache._shared  # remembered…
    routing.move_rule(actor, first, "down")
    assert owner(3) == admin  # …and read again once the rules moved


def test_bookkeeping_saves_keep_the_stamp_and_real_changes_do_not(org, users):
    from django.contrib.auth.models import update_last_login

    from throughline.integrations.models import WebhookEndpoint

    config_changed()
    stamp = read_stamp()
    # A login writes last_login only.
    update_last_login(None, users["sales"])  # what a login runs
    assert read_stamp() == stamp
    # A delivery moves an endpoint's failure streak: not what capture remembers.
    endpoint = WebhookEndpoint(url="https://hooks.example.com/in", event_types=["lead.captured"])
    endpoint.save()
    assert read_stamp() != stamp
    stamp = read_stamp()
    endpoint.consecutive_failures = 3
    endpoint.save(update_fields=["consecutive_failures", "updated_at"])
    assert read_stamp() == stamp
    # Switching it off is.
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active", "updated_at"])
    assert read_stamp() != stamp
