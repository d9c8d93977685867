"""``throughline backup PATH``: the whole database to one file (see core.backup)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from throughline.core import backup


class Command(BaseCommand):
    help = (
        "Back the database up to PATH (a file, or a directory for a time-stamped file). "
        "SQLite: online backup API, safe while the app runs. PostgreSQL: pg_dump --format=custom."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--force", action="store_true", help="Overwrite an existing file.")

    def handle(self, *args, **opts):
        try:
            written = backup.backup(opts["path"], overwrite=opts["force"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        size = written.stat().st_size
        self.stdout.write(
            f"Backup of the {backup.describe_target()} written to {written} ({size:,} bytes)."
        )
