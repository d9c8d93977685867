"""Every URL of the project declares who may use it (throughline.core.access).

The walk descends through every ``include`` (core, /crm/, /api/v1/ and whatever lands next), so
a new view without ``requires(...)``, ``login_only`` or ``public`` fails here, wherever it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.urls.resolvers import RoutePattern

from throughline.core.access import declared_permission, public, requires
from throughline.core.roles import PERMISSIONS

# Django's own admin checks is_staff itself; static and media files are not views of ours.
ALLOWED_UNDECLARED_PREFIXES = ("django-admin/", "static/", "media/")
SPECIAL_DECLARATIONS = {"login", "public"}


@dataclass(frozen=True)
class Route:
    route: str  # the full route as written, e.g. "crm/contacts/<uuid:pk>/"
    pattern: URLPattern
    namespace: str  # "core", "crm", "" …
    prefix_converters: tuple = ()  # converters of enclosing includes, e.g. "c/<token:token>/"

    @property
    def name(self) -> str | None:
        if not self.pattern.name:
            return None
        return f"{self.namespace}:{self.pattern.name}" if self.namespace else self.pattern.name

    @property
    def converters(self) -> dict:
        """URL kwarg name -> converter, the includes' and the route's own (``path()`` only)."""
        return {**dict(self.prefix_converters), **_converters_of(self.pattern)}


def _converters_of(entry) -> dict:
    return dict(entry.pattern.converters) if isinstance(entry.pattern, RoutePattern) else {}


def walk_urls(
    resolver: URLResolver | None = None,
    prefix: str = "",
    namespace: str = "",
    converters: tuple = (),
) -> Iterator[Route]:
    """Every URLPattern under ``resolver``, with its full route and namespace path."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            child_ns = namespace
            if entry.namespace:
                child_ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            inherited = converters + tuple(_converters_of(entry).items())
            yield from walk_urls(entry, route, child_ns, inherited)
        else:
            yield Route(route, entry, namespace, converters)


def resolver_prefixes(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    found = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            route = prefix + str(entry.pattern).lstrip("^")
            found.add(route)
            found |= resolver_prefixes(entry, route)
    return found


def undeclared(routes) -> list[str]:
    return [
        f"{r.route} ({r.name or 'unnamed'}) → {r.pattern.lookup_str}"
        for r in routes
        if not r.route.startswith(ALLOWED_UNDECLARED_PREFIXES)
        and declared_permission(r.pattern.callback) is None
    ]


def test_every_view_declares_its_permission():
    routes = list(walk_urls())
    missing = undeclared(routes)
    assert not missing, "Views without requires()/login_only/public:\n" + "\n".join(missing)


def test_declared_permissions_are_known_codes():
    unknown = []
    for r in walk_urls():
        declared = declared_permission(r.pattern.callback)
        if declared is None:
            continue
        for code in declared.split(","):
            if code not in PERMISSIONS and code not in SPECIAL_DECLARATIONS:
                unknown.append(f"{r.route}: {code}")
    assert not unknown, "Unknown permission codes:\n" + "\n".join(unknown)


def test_walk_reaches_every_included_app():
    # The walk is only as good as its reach: it must descend into each include.
    prefixes = resolver_prefixes()
    assert {"crm/", "api/v1/", "django-admin/"} <= prefixes
    routes = {r.route: r for r in walk_urls()}
    assert declared_permission(routes["login/"].pattern.callback) == "public"
    assert declared_permission(routes["audit/"].pattern.callback) == "audit.view"
    assert declared_permission(routes["account/"].pattern.callback) == "login"


def _undeclared_view(request):
    return HttpResponse("oops")


def test_walk_catches_an_undeclared_view_in_a_nested_include():
    # given: an undeclared view two includes deep, beside declared ones
    inner = [
        path("ok/", public(lambda r: HttpResponse())),
        path("guarded/", requires("crm.view")(lambda r: HttpResponse())),
        path("forgotten/", _undeclared_view, name="forgotten"),
    ]
    middle = URLResolver(RoutePattern("reports/"), [URLResolver(RoutePattern("v2/"), inner)])
    root = URLResolver(RoutePattern(""), [middle, path("django-admin/x/", _undeclared_view)])
    # when
    missing = undeclared(walk_urls(root))
    # then: only the forgotten one, and the admin prefix stays allowed
    assert len(missing) == 1
    assert missing[0].startswith("reports/v2/forgotten/")


def test_walk_collects_url_arguments_of_enclosing_includes():
    inner = [path("invoice/<int:n>", public(lambda r, token, n: HttpResponse()), name="invoice")]
    root = URLResolver(RoutePattern(""), [URLResolver(RoutePattern("c/<str:token>/"), inner)])
    (route,) = walk_urls(root)
    assert route.route == "c/<str:token>/invoice/<int:n>"
    assert set(route.converters) == {"token", "n"}
