from throughline.core.models import Organization
from throughline.core.navigation import nav_for


def shell(request):
    """What the layout needs: the organization and the navigation the user may see."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"organization": Organization.current(), "nav_items": nav_for(user, request.path)}
