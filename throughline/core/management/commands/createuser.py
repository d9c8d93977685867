import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from throughline.core.actor import Actor
from throughline.core.roles import Role
from throughline.core.services import create_user, generate_password


class Command(BaseCommand):
    help = "Create a staff user. Password from stdin (when piped) or generated and printed."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="")

    def handle(self, *args, **opts):
        password = ""
        if not sys.stdin.isatty():
            password = sys.stdin.readline().strip()
        generated = not password
        if generated:
            password = generate_password()
        try:
            user = create_user(
                Actor.cli(),
                email=opts["email"],
                role=opts["role"],
                full_name=opts["name"],
                password=password,
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        self.stdout.write(f"Created {user.role} {user.email}")
        if generated:
            self.stdout.write(f"password: {password}")
