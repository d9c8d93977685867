"""``throughline demo``: a realistic organization, written through the services, audited."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.core.audit_log import verify_chain
from throughline.core.models import AuditEntry, Organization, User
from throughline.core.roles import Role
from throughline.crm import services
from throughline.crm.models import (
    Activity,
    Company,
    ConsentRecord,
    Contact,
    CustomFieldDefinition,
    Tag,
    Task,
)


def run_demo(*args: str) -> str:
    """The whole demo, every app's section."""
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def run_crm_demo(*args: str) -> str:
    """Core and CRM only: exact counts, independent of the sections other apps add."""
    return run_demo("--section", "crm", *args)


def test_demo_on_an_empty_database_builds_a_working_organization(db):
    # when
    output = run_crm_demo()
    # then: the organization is described completely
    org = Organization.current()
    assert org.legal_name and org.vat_id and org.address_line1 and org.city
    assert org.iban and org.bic and org.bank_details
    assert org.base_currency == "GBP" and org.time_zone == "Europe/London"
    assert org.working_hours["1"] == ["09:00", "17:30"]
    # users of every role, two in sales; the one password is printed once and works
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.filter(role=Role.SALES).count() == 2
    passwords = re.findall(r"password: (\S+)", output)
    assert len(passwords) == 1
    for user in User.objects.all():
        assert user.check_password(passwords[0]), user.email
    # CRM records
    assert Company.objects.count() == 15
    assert Contact.objects.count() == 60
    assert set(Activity.objects.values_list("kind", flat=True)) == set(Activity.Kind.values)
    assert Activity.objects.count() >= 100
    assert Tag.objects.exists()
    assert ConsentRecord.objects.filter(granted=True).exists()
    assert ConsentRecord.objects.filter(granted=False).exists()
    assert CustomFieldDefinition.objects.count() >= 2
    assert Contact.objects.exclude(custom={}).count() == 60
    assert Company.objects.exclude(custom={}).count() == 15


def test_demo_records_are_plausible(db):
    run_crm_demo()
    now = timezone.now()
    region = Organization.current().default_phone_region
    for contact in Contact.objects.all():
        assert contact.first_name and contact.last_name
        assert contact.email.endswith(".example"), "demo mail must never reach a real inbox"
        number = phonenumbers.parse(contact.phone)
        assert phonenumbers.is_valid_number(number), contact.phone
        assert phonenumbers.region_code_for_number(number) == region
        assert contact.phone == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )
    assert Contact.objects.values("phone").distinct().count() == 60
    # activities spread over the past weeks, none in the future
    times = list(Activity.objects.values_list("occurred_at", flat=True))
    assert max(times) <= now
    assert min(times) < now - dt.timedelta(weeks=4)
    # tasks: some done, some overdue, some still ahead
    assert Task.objects.filter(done_at__isnull=False).exists()
    assert Task.objects.filter(done_at__isnull=True, due_at__lt=now).exists()
    assert Task.objects.filter(done_at__isnull=True, due_at__gt=now).exists()
    # every role that works on records has something on its plate
    for role in (Role.SALES, Role.DELIVERY, Role.BILLING):
        assert Task.objects.filter(owner__role=role).exists(), role


def test_everything_the_demo_writes_is_audited_and_the_chain_verifies(db):
    run_demo()  # every app's section: the chain must hold whatever they add
    assert AuditEntry.objects.filter(action="contact.created").count() == Contact.objects.count()
    assert AuditEntry.objects.filter(action="user.created").count() == User.objects.count()
    assert AuditEntry.objects.filter(action="activity.logged").count() == Activity.objects.count()
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "Audit chain intact" in out.getvalue()


def test_audit_verify_fails_after_a_raw_sql_edit_of_one_audit_row(db):
    # given: the demo's audit trail verifies
    run_demo()
    assert verify_chain().ok
    victim = AuditEntry.objects.filter(action="contact.created").order_by("seq")[7]
    # when: someone edits one row behind the application's back
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET object_repr = %s, changes = %s WHERE seq = %s",
            ["Someone Else", '{"email": [null, "forged@example.com"]}', victim.seq],
        )
    # then
    with pytest.raises(CommandError, match=rf"BROKEN at entry #{victim.seq}\b"):
        call_command("audit", "verify", stdout=StringIO())


def test_running_the_demo_twice_does_not_crash_and_keeps_the_chain(db):
    run_demo()
    crm_counts = {m: m.objects.count() for m in (User, Company, Contact)}
    # when
    output = run_demo()
    # then
    assert "password:" not in output
    assert {m: m.objects.count() for m in crm_counts} == crm_counts
    assert verify_chain().ok


def test_rerunning_any_section_adds_nothing(db):
    """Every app's section skips what exists (core/demo.py's rules), so a re-run is a no-op."""
    from throughline.core.demo import build_demo, sections

    run_demo()
    added = {}
    for section in sections():
        created = {what: n for what, n in build_demo(only=[section.name]).created.items() if n}
        if created:
            added[section.name] = created
    assert added == {}, f"sections that add records when run again: {added}"


def test_if_empty_does_nothing_when_contacts_exist(db):
    services.create_contact(Actor.cli(), first_name="Existing", email="existing@example.com")
    users_before = User.objects.count()
    output = run_demo("--if-empty")
    assert "skipped" in output
    assert Contact.objects.count() == 1
    assert User.objects.count() == users_before


def test_if_empty_builds_on_an_empty_database(db):
    run_demo("--if-empty")
    assert Contact.objects.count() >= 60


def test_demo_keeps_an_organization_that_is_already_set_up(org):
    # org fixture: "Northwind Consulting Ltd", GB
    org.vat_id = "GB999999973"
    org.save()
    run_crm_demo()
    org.refresh_from_db()
    assert org.legal_name == "Northwind Consulting Ltd"
    assert Contact.objects.count() == 60


class _Rollback(Exception):
    pass


def _demo_contacts(seed: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    try:
        with transaction.atomic():
            run_crm_demo("--seed", seed)
            rows = list(Contact.objects.order_by("email").values_list("email", "phone", "title"))
            raise _Rollback
    except _Rollback:
        pass
    return rows


def test_the_same_seed_gives_the_same_data(db):
    first = _demo_contacts("7")
    assert first == _demo_contacts("7")
    assert first != _demo_contacts("8")


def test_run_demo_calls_it_the_way_run_does(db):
    # `throughline run --demo` (make demo) calls the command with keyword options.
    out = StringIO()
    call_command("demo", if_empty=True, stdout=out)
    call_command("demo", if_empty=True, stdout=out)
    assert Contact.objects.count() >= 60
    assert out.getvalue().count("password:") == 1


@pytest.mark.parametrize("region", ["US", "CA", "DE"])
def test_phone_numbers_follow_the_organizations_region(org, region):
    org.default_phone_region = region
    org.save()
    run_crm_demo()
    phones = list(Contact.objects.values_list("phone", flat=True))
    assert len(set(phones)) == len(phones) == 60
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == region, phone


def test_an_unknown_section_is_refused(db):
    with pytest.raises(CommandError, match="Unknown demo sections: nope"):
        run_demo("--section", "nope")


def test_per_record_generators_do_not_depend_on_earlier_draws():
    from throughline.core.demo import DemoContext

    ctx = DemoContext(actor=None, rng=None, now=timezone.now(), org=None, seed=1, section="x")
    first = ctx.rng_for("lead:7").random()
    ctx.rng_for("lead:1").random()  # another record's draws in between change nothing
    assert ctx.rng_for("lead:7").random() == first
    assert ctx.rng_for("lead:8").random() != first
