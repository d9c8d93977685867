"""``throughline restore PATH [--yes]``: replace the database with a backup, then verify it."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from throughline.core import backup


class Command(BaseCommand):
    help = (
        "Restore a backup written by `throughline backup` (the file type is checked first). "
        "Replaces the current content: refused without --yes when the database holds data. "
        "On PostgreSQL, stop the web processes and workers first. Runs `audit verify` after."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--yes", action="store_true", help="Confirm replacing a database that holds data."
        )

    def handle(self, *args, **opts):
        try:
            result = backup.restore(opts["path"], confirmed=opts["yes"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {result.path} into the {result.target}.")
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.pending_migrations} migrations pending: the backup is from an "
                    "older version. Run `throughline migrate` (or `throughline run`)."
                )
            )
        # Prints "Audit chain intact: …", or raises CommandError naming the first broken entry.
        call_command("audit", "verify", stdout=self.stdout)
