import re

from throughline.core.models import Organization
from throughline.core.navigation import nav_for
from throughline.core.roles import ROLE_PERMISSIONS

DEFAULT_BRAND = "#2554c7"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def shell(request):
    """What the layout needs: the organization, the navigation and what the user may do.

    ``user_permissions`` lets templates show an action only when it is allowed:
    ``{% if "crm.edit" in user_permissions %}``.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    org = Organization.current()
    # The second factor is still owed: the layout then shows no navigation, only sign-out.
    pending = False
    is_verified = getattr(user, "is_verified", None)  # set by django_otp's middleware
    if request.path.startswith("/account/2fa/") and is_verified is not None and not is_verified():
        from django_otp import user_has_device

        pending = org.require_two_factor or user_has_device(user)
    return {
        "organization": org,
        # Only a well-formed colour reaches the inline <style> of the layout.
        "brand_color": org.brand_color if _HEX.match(org.brand_color or "") else DEFAULT_BRAND,
        "nav_items": [] if pending else nav_for(user, request.path),
        "second_factor_pending": pending,
        "user_permissions": ROLE_PERMISSIONS.get(user.role, frozenset())
        if user.is_active
        else frozenset(),
    }
