import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from throughline.core.audit_log import verify_chain
from throughline.core.models import AuditEntry
from throughline.crm import services


def test_every_write_is_audited_with_field_changes(actor):
    # given / when
    contact = services.create_contact(
        actor, first_name="ada", last_name="LOVELACE", email="Ada@Example.com"
    )
    services.update_contact(actor, contact, phone="020 7946 0958")
    # then
    entries = list(AuditEntry.objects.filter(object_id=str(contact.pk)).order_by("seq"))
    assert [e.action for e in entries] == ["contact.created", "contact.updated"]
    assert entries[0].changes["first_name"] == [None, "Ada"]
    assert entries[0].changes["email"] == [None, "Ada@example.com"]
    assert entries[1].changes == {"phone": ["", "+442079460958"]}
    assert entries[1].actor == actor.user
    assert entries[1].channel == "ui"
    assert entries[1].ip == "127.0.0.1"


def test_chain_verifies_then_reports_raw_sql_tampering(actor):
    for n in range(5):
        services.create_contact(actor, first_name=f"Person{n}", email=f"p{n}@example.com")
    assert verify_chain().ok
    call_command("audit", "verify")  # raises on failure

    victim = AuditEntry.objects.order_by("seq")[3]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET action = %s WHERE seq = %s", ["contact.deleted", victim.seq]
        )

    result = verify_chain()
    assert not result.ok
    assert result.broken_seq == victim.seq
    with pytest.raises(CommandError, match=f"#{victim.seq}"):
        call_command("audit", "verify")


def test_deleting_an_entry_is_reported(actor):
    for n in range(3):
        services.create_contact(actor, first_name=f"Person{n}")
    victim = AuditEntry.objects.order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq = %s", [victim.seq])
    result = verify_chain()
    assert not result.ok and result.broken_seq == victim.seq


def test_audit_rows_refuse_orm_updates(actor):
    services.create_contact(actor, first_name="Grace")
    entry = AuditEntry.objects.first()
    entry.action = "forged"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
