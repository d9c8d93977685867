"""``throughline demo [--if-empty]``: realistic demo data for every stage (core.demo)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from throughline.core import demo
from throughline.core.roles import Role


class Command(BaseCommand):
    help = (
        "Load a realistic demo organization (users of every role, companies, contacts, "
        "activities, tasks …) through the services. Safe to run again: what exists is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when records exist (contacts, leads …).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEMO_SEED,
            help="The same seed gives the same data (default %(default)s).",
        )
        parser.add_argument(
            "--section",
            action="append",
            dest="sections",
            metavar="NAME",
            help="Only this app's section (repeatable; core is always included).",
        )

    def handle(self, *args, **opts):
        if opts["if_empty"] and demo.has_data():
            self.stdout.write("Demo data skipped: the database already holds records.")
            return
        try:
            ctx = demo.build_demo(seed=opts["seed"], only=opts["sections"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        created = {what: n for what, n in ctx.created.items() if n}
        if not created:
            self.stdout.write("Demo data already present: nothing to add.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo data for {ctx.org}:"))
            for what, n in created.items():
                self.stdout.write(f"  {what}: {n}")
        for note in ctx.notes:
            self.stdout.write(f"  note: {note}")
        if ctx.password:
            self._print_users(ctx)

    def _print_users(self, ctx: demo.DemoContext) -> None:
        # Shown once: the password is not stored anywhere but in the users' hashes.
        self.stdout.write(self.style.WARNING("\nDemo users (password shown once, write it down):"))
        for user in sorted(ctx.new_users, key=lambda u: Role.values.index(u.role)):
            self.stdout.write(f"  {user.role:<9} {user.email}")
        self.stdout.write(f"  password: {ctx.password}\n")
