"""``throughline import leads FILE.csv [--dry-run] [--mapping …] [--all-or-nothing]`` (DESIGN §6)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.intake.channels import csv_import
from throughline.intake.channels.models import CsvImport


class Command(BaseCommand):
    help = "Import data: `import leads FILE.csv` (dry run with --dry-run)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        leads = sub.add_parser("leads", help="Leads from a CSV file (UTF-8 or Latin-1; , ; or tab)")
        leads.add_argument("file", help="Path of the CSV file")
        leads.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing"
        )
        leads.add_argument(
            "--mapping",
            default="",
            help='Column mapping: JSON ({"E-mail": "email"}), a .json file, or "Header=field,…". '
            "Default: the mapping remembered for these headers, else a guess.",
        )
        leads.add_argument(
            "--all-or-nothing", action="store_true", help="Import nothing if any row is invalid"
        )
        leads.add_argument("--source", default="import", help="Lead source slug (default: import)")
        leads.add_argument(
            "--acknowledge", action="store_true", help="Send acknowledgements, create tasks"
        )
        leads.add_argument("--user", default="", help="E-mail of the user the import is done for")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = None
        if opts["user"]:
            user = User.objects.filter(email__iexact=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {opts['user']!r}")
        actor = Actor.cli(user)
        try:
            imp, sniffed = csv_import.create_import(
                actor, path.name, path.read_bytes(), source=opts["source"]
            )
        except csv_import.ImportError_ as exc:
            raise CommandError(str(exc)) from exc
        mapping = imp.mapping
        if opts["mapping"]:
            try:
                mapping = csv_import.parse_mapping_option(opts["mapping"])
            except (ValueError, OSError) as exc:
                raise CommandError(f"--mapping: {exc}") from exc
        mode = (
            CsvImport.Mode.ALL_OR_NOTHING if opts["all_or_nothing"] else CsvImport.Mode.SKIP_INVALID
        )
        try:
            csv_import.configure(
                actor,
                imp,
                mapping=mapping,
                mode=mode,
                source=opts["source"],
                acknowledge=opts["acknowledge"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"{path.name}: {imp.encoding}, delimiter {imp.delimiter!r}, columns: "
            + ", ".join(f"{h} → {t}" for h, t in imp.mapping.items())
        )
        report = csv_import.check(imp, progress=self._progress("checked"))
        self._report(report)
        if opts["dry_run"]:
            self.stdout.write("Dry run: nothing was imported.")
            return
        if mode == CsvImport.Mode.ALL_OR_NOTHING and report["invalid"]:
            csv_import.fail(imp, actor, f"{report['invalid']} invalid rows (all or nothing)")
            raise CommandError(
                f"{report['invalid']} invalid rows: nothing was imported (--all-or-nothing)."
            )
        imp.refresh_from_db()
        try:
            result = csv_import.run(
                imp, actor, progress=self._progress("imported", report["total"])
            )
        except ValidationError as exc:
            csv_import.fail(imp, actor, "; ".join(exc.messages))
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Imported: {result['created']} new people, {result['linked']} leads for known contacts, "
            f"{result['already_imported']} already imported, {result['duplicates_in_file']} duplicates "
            f"in the file, {result['invalid']} invalid rows skipped."
        )

    def _progress(self, verb: str, total: int | None = None):
        def show(done: int) -> None:
            suffix = f"/{total}" if total else ""
            sys.stderr.write(f"\r{verb} {done}{suffix} rows")
            sys.stderr.flush()

        return show

    def _report(self, report: dict) -> None:
        sys.stderr.write("\n")
        self.stdout.write(
            f"Rows: {report['total']}; valid {report['valid']}, invalid {report['invalid']}; "
            f"duplicates within the file {report['duplicates_in_file']}, already in the database "
            f"{report['duplicates_in_db']}, imported before {report['already_imported']}; "
            f"leads to create {report['will_create']}."
        )
        for row in report["invalid_rows"][:50]:
            problems = "; ".join(
                (f"{k}: " if k != "__all__" else "") + " ".join(v) for k, v in row["errors"].items()
            )
            self.stdout.write(f"  line {row['line']}: {problems}")
        for row in report["duplicate_rows"][:50]:
            self.stdout.write(
                f"  line {row['line']}: duplicate of line {row['of_line']} ({row['key']})"
            )
