"""Every API route × every role: allowed, or 403 with an audited ``access.denied``."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import viewsets

from tests.api import openapi
from throughline.api.errors import not_found
from throughline.api.urls import ApiRouter
from throughline.api.views import ApiViewMixin
from throughline.core.access import declared_permission
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry
from throughline.core.roles import Role, role_has
from throughline.crm import services

# What each route demands. Written out, not derived from the views, so that loosening a
# view's declaration fails here.
ROUTES = {
    ("GET", "/api/v1/contacts"): "crm.view",
    ("POST", "/api/v1/contacts"): "crm.edit",
    ("GET", "/api/v1/contacts/{id}"): "crm.view",
    ("PATCH", "/api/v1/contacts/{id}"): "crm.edit",
    ("DELETE", "/api/v1/contacts/{id}"): "crm.delete",
    ("GET", "/api/v1/companies"): "crm.view",
    ("POST", "/api/v1/companies"): "crm.edit",
    ("GET", "/api/v1/companies/{id}"): "crm.view",
    ("PATCH", "/api/v1/companies/{id}"): "crm.edit",
    ("DELETE", "/api/v1/companies/{id}"): "crm.delete",
    ("GET", "/api/v1/tasks"): "crm.view",
    ("POST", "/api/v1/tasks"): "crm.edit",
    ("GET", "/api/v1/tasks/{id}"): "crm.view",
    ("PATCH", "/api/v1/tasks/{id}"): "crm.edit",
    ("POST", "/api/v1/tasks/{id}/complete"): "crm.edit",
    ("GET", "/api/v1/events"): "audit.view",
    ("GET", "/api/v1/me"): "login",
}


def allowed(role: str, permission: str) -> bool:
    return permission == "login" or role_has(role, permission)


def documented_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    }


FOUNDATION_PREFIXES = (
    "/api/v1/contacts",
    "/api/v1/companies",
    "/api/v1/tasks",
    "/api/v1/events",
    "/api/v1/me",
)


def test_every_documented_foundation_route_is_in_the_matrix():
    documented = {r for r in documented_routes() if r[1].startswith(FOUNDATION_PREFIXES)}
    assert documented == set(ROUTES)


def declared_for(method: str, path: str) -> str:
    """The permission a route's view declares for ``method`` (as the API enforces it)."""
    from django.urls import resolve

    match = resolve(path.replace("{id}", "00000000-0000-4000-8000-000000000000"))
    view = match.func
    table = view.cls.required_permissions
    action = (getattr(view, "actions", None) or {}).get(method.lower())
    for key in (action, method, "*"):
        if key and key in table:
            return table[key]
    raise AssertionError(f"{method} {path} declares no permission")


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_every_other_documented_route_enforces_its_declared_permission(api, users, role):
    """Routes added by later apps: a role without the declared permission gets 403 (audited),
    a role with it never does. Ids are placeholders: allowed roles may get 404, never 403."""
    others = sorted(r for r in documented_routes() if not r[1].startswith(FOUNDATION_PREFIXES))
    for method, template in others:
        if "{" in template.replace("{id}", ""):
            continue  # routes with other path parameters are covered by their app's tests
        permission = declared_for(method, template)
        path = template.replace("{id}", "00000000-0000-4000-8000-000000000000")
        response = api(role).generic(method, path, "{}", content_type="application/json")
        if allowed(role, permission):
            assert response.status_code != 403, (role, method, path, response.content)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


def _api_patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and prefix.startswith("api/v1/"):
            yield prefix + str(pattern.pattern), pattern.callback


def test_every_api_url_declares_a_permission_or_is_public():
    found = list(_api_patterns(get_resolver().url_patterns))
    assert len(found) >= 10
    undeclared = [route for route, view in found if declared_permission(view) is None]
    assert undeclared == []


def test_every_api_view_uses_the_shared_lifecycle():
    # Authentication, idempotency, 413/405 handling and problem responses live in ApiViewMixin.
    for route, view in _api_patterns(get_resolver().url_patterns):
        if view is not_found:
            continue
        assert issubclass(view.cls, ApiViewMixin), route


def test_the_router_refuses_a_viewset_without_the_shared_base():
    class Bare(viewsets.ViewSet):
        required_permissions = {"list": "crm.view"}

        def list(self, request):  # pragma: no cover - never routed
            return None

    with pytest.raises(ImproperlyConfigured):
        ApiRouter().register("bare", Bare, "bare")


@pytest.fixture
def records(owner):
    actor = Actor.cli(owner)
    company = services.create_company(actor, name="Initech")
    contact = services.create_contact(actor, first_name="Peter", company=company)
    task = services.create_task(actor, title="Call Peter", contact=contact)
    return {"contacts": contact, "companies": company, "tasks": task}


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("method", "template"), list(ROUTES))
def test_permission_matrix(api, users, records, role, method, template):
    permission = ROUTES[method, template]
    resource = template.split("/")[3]
    path = template.replace("{id}", str(records[resource].pk)) if "{id}" in template else template
    denied_before = AuditEntry.objects.filter(action="access.denied").count()

    response = api(role).generic(method, path, "{}", content_type="application/json")

    denials = AuditEntry.objects.filter(action="access.denied")
    if allowed(role, permission):
        assert response.status_code != 403, response.content
        assert response.status_code < 500
        assert denials.count() == denied_before
    else:
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert denials.count() == denied_before + 1
        entry = denials.first()
        assert entry.actor == users[role]
        assert entry.channel == "api"
        assert entry.changes == {"permission": [None, permission]}
        assert entry.object_repr == f"{method} {path}"
