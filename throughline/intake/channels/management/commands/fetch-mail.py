"""``throughline fetch-mail [--mailbox ADDRESS]``: fetch new mail by IMAP now (also scheduled)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from throughline.intake.channels import imap
from throughline.intake.channels.models import InboundMailbox


class Command(BaseCommand):
    help = "Fetch new messages of the inbound mailboxes by IMAP (leads, timelines)."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", default="", help="Only this address")
        parser.add_argument(
            "--limit", type=int, default=imap.BATCH, help="At most this many per mailbox"
        )

    def handle(self, *args, **opts):
        mailboxes = InboundMailbox.objects.filter(imap_enabled=True).exclude(imap_host="")
        if opts["mailbox"]:
            mailboxes = mailboxes.filter(address__iexact=opts["mailbox"])
        mailboxes = list(mailboxes)
        if not mailboxes:
            raise CommandError(
                "No mailbox with IMAP switched on"
                + (f" named {opts['mailbox']!r}." if opts["mailbox"] else ".")
            )
        failed = False
        for mailbox in mailboxes:
            result = imap.poll(mailbox, limit=opts["limit"])
            self.stdout.write(result.summary())
            failed |= bool(result.errors)
        if failed:
            raise CommandError("Some mailboxes could not be fetched (see above).")
