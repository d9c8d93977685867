"""First-run set-up shared by ``throughline run`` and the tests: the org and the owner."""

from __future__ import annotations

from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.core.roles import Role
from throughline.core.services import create_user, generate_password


def ensure_owner(email: str = "owner@example.com") -> tuple[User, str | None]:
    """Create the organization and the first owner if none exists.

    Returns the owner and, only when it was just created, its generated password.
    """
    Organization.current()
    owner = User.objects.filter(role=Role.OWNER, is_active=True).order_by("date_joined").first()
    if owner is not None:
        return owner, None
    password = generate_password()
    owner = create_user(
        Actor.cli(), email=email, role=Role.OWNER, full_name="Owner", password=password
    )
    return owner, password
