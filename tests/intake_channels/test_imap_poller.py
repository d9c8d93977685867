"""The IMAP poller against a real Dovecot on loopback (started by the ``dovecot`` fixture)."""

from __future__ import annotations

import imaplib
import time

import pytest
from django.core.management import CommandError, call_command

from tests.intake_channels.test_email_hook import PDF, make_message
from throughline.core.scheduler import registered
from throughline.crm import services as crm
from throughline.crm.models import Activity
from throughline.intake.channels import imap
from throughline.intake.channels.models import InboundAttachment, InboundEmail, InboundMailbox
from throughline.intake.channels.tasks import imap_sweep
from throughline.intake.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def imap_mailbox(dovecot, mailbox) -> InboundMailbox:
    InboundMailbox.objects.filter(pk=mailbox.pk).update(
        imap_enabled=True,
        imap_host=dovecot["host"],
        imap_port=dovecot["port"],
        imap_security=InboundMailbox.Security.PLAIN,
        imap_username=dovecot["user"],
        imap_password=dovecot["password"],
    )
    mailbox.refresh_from_db()
    return mailbox


def append(dovecot, *messages: bytes) -> None:
    """Deliver like a mail server would: IMAP APPEND into the INBOX."""
    conn = imaplib.IMAP4(dovecot["host"], dovecot["port"])
    conn.login(dovecot["user"], dovecot["password"])
    for raw in messages:
        status, _ = conn.append("INBOX", None, imaplib.Time2Internaldate(time.time()), raw)
        assert status == "OK"
    conn.logout()


def flags(dovecot) -> list[bytes]:
    conn = imaplib.IMAP4(dovecot["host"], dovecot["port"])
    conn.login(dovecot["user"], dovecot["password"])
    conn.select("INBOX", readonly=True)
    _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
    conn.logout()
    return [item for item in data if item]


def test_poller_fetches_each_message_once(imap_mailbox, dovecot, actor):
    # given: a known contact, and three messages delivered to the mailbox
    contact = crm.create_contact(
        actor, first_name="Grace", last_name="Hopper", email="grace@navy.example"
    )
    append(
        dovecot,
        make_message(attachments=[("brief.pdf", "application/pdf", PDF)]),
        make_message(
            sender="Grace Hopper <grace@navy.example>", subject="Re: our call", text="Thanks!"
        ),
        make_message(
            sender="ada@analytical.example",
            subject="Out of office",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    # when
    first = imap.poll(imap_mailbox)
    # then
    assert first.errors == []
    assert (first.fetched, first.leads, first.timeline, first.ignored) == (3, 1, 1, 1)
    lead = Lead.objects.get()
    assert (lead.channel, lead.email) == ("email", "ada@analytical.example")
    assert InboundAttachment.objects.get().filename == "brief.pdf"
    activity = Activity.objects.get(kind="email")
    assert (activity.contact, activity.direction, activity.subject) == (
        contact,
        "in",
        "Re: our call",
    )
    assert set(InboundEmail.objects.values_list("via", flat=True)) == {"imap"}
    imap_mailbox.refresh_from_db()
    assert (imap_mailbox.last_uid, imap_mailbox.last_error) == (3, "")
    assert imap_mailbox.uidvalidity

    # a second run fetches nothing
    second = imap.poll(imap_mailbox)
    assert (second.fetched, second.leads) == (0, 0)
    assert Lead.objects.count() == 1 and InboundEmail.objects.count() == 3

    # a new message is picked up, and only it
    append(dovecot, make_message(sender="Linus <linus@kernel.example>", subject="Support contract"))
    third = imap.poll(imap_mailbox)
    assert (third.fetched, third.leads) == (1, 1)
    assert Lead.objects.count() == 2

    # the poller never marks or moves mail (read-only)
    assert all(b"\\Seen" not in item for item in flags(dovecot))


def test_uidvalidity_change_rereads_without_duplicates(imap_mailbox, dovecot):
    append(dovecot, make_message())
    imap.poll(imap_mailbox)
    InboundMailbox.objects.filter(pk=imap_mailbox.pk).update(uidvalidity=1, last_uid=99)
    result = imap.poll(imap_mailbox)
    assert (result.fetched, result.duplicates, result.leads) == (1, 1, 0)
    assert Lead.objects.count() == 1


def test_fetch_mail_command_and_periodic_sweep(imap_mailbox, dovecot, run_jobs, capsys):
    append(dovecot, make_message())
    call_command("fetch-mail")
    assert "1 fetched, 1 new leads" in capsys.readouterr().out
    assert "intake_channels.imap_sweep" in registered()
    append(dovecot, make_message(sender="bob@example.com"))
    imap_sweep.enqueue()
    run_jobs()
    assert Lead.objects.count() == 2


def test_wrong_password_is_reported_not_raised(imap_mailbox, dovecot):
    InboundMailbox.objects.filter(pk=imap_mailbox.pk).update(imap_password="wrong")
    imap_mailbox.refresh_from_db()
    result = imap.poll(imap_mailbox)
    assert result.errors and "Cannot log in" in result.errors[0]
    imap_mailbox.refresh_from_db()
    assert "Cannot log in" in imap_mailbox.last_error
    with pytest.raises(CommandError):
        call_command("fetch-mail")


def test_plain_imap_only_to_loopback(mailbox):
    mailbox.imap_host, mailbox.imap_port = "192.0.2.10", 143
    mailbox.imap_security = InboundMailbox.Security.PLAIN
    with pytest.raises(imap.ImapError, match="unencrypted"):
        imap.connect(mailbox)
