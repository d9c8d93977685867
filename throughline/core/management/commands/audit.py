from django.core.management.base import BaseCommand, CommandError

from throughline.core.audit_log import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools: `audit verify` checks every hash link."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify")

    def handle(self, *args, **opts):
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit chain BROKEN at entry #{result.broken_seq}: {result.reason} "
                f"({result.checked} entries verified before it)"
            )
        self.stdout.write(f"Audit chain intact: {result.checked} entries verified.")
