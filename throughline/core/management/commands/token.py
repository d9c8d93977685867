from django.core.management.base import BaseCommand, CommandError

from throughline.core.actor import Actor
from throughline.core.models import ApiToken, User
from throughline.core.services import create_api_token, revoke_api_token


class Command(BaseCommand):
    help = "Manage API tokens: create (prints the token on the last line), list, revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--user", required=True, help="E-mail of the user")
        create.add_argument("--name", default="API token")
        listing = sub.add_parser("list")
        listing.add_argument("--user", required=False)
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix", help="The token's first characters, as listed")

    def handle(self, *args, **opts):
        if opts["action"] == "create":
            user = User.objects.filter(email__iexact=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {opts['user']!r}")
            _, raw = create_api_token(Actor.cli(user), user, opts["name"])
            self.stdout.write(f"Token for {user.email} (shown once):")
            self.stdout.write(raw)
        elif opts["action"] == "list":
            tokens = ApiToken.objects.select_related("user")
            if opts.get("user"):
                tokens = tokens.filter(user__email__iexact=opts["user"])
            for t in tokens:
                state = "revoked" if t.revoked_at else "active"
                self.stdout.write(
                    f"{t.prefix}  {t.user.email}  {t.name}  {state}  last used {t.last_used_at or '-'}"
                )
        else:
            matches = list(ApiToken.objects.filter(prefix=opts["prefix"], revoked_at__isnull=True))
            if len(matches) != 1:
                raise CommandError("Give the prefix of exactly one active token.")
            revoke_api_token(Actor.cli(), matches[0])
            self.stdout.write("revoked")
