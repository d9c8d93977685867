"""Every role × every staff UI route: the answer matches the permission matrix (core.roles).

Routes come from the URL resolver, so a page added by any app is covered the day it lands.
URL arguments are filled with real fixture records where a filler below knows the route, else
with well-formed values that match nothing: the permission check runs before any lookup, so a
denied role still gets 403 and an allowed role gets past it (typically 404 then).
"""

from __future__ import annotations

import io
import re
import uuid

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import converters, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.test_permission_walk import walk_urls
from throughline.core import services
from throughline.core.access import declared_permission
from throughline.core.models import AuditEntry
from throughline.core.roles import Role, role_has
from throughline.crm import custom_field_services

NOT_STAFF_UI = ("api/", "django-admin/", "static/", "media/")
PROBES = {"healthz", "readyz"}  # machine endpoints, not pages
ALLOWED_REAL = {200, 302, 405}  # 405: the route takes POST only, the permission check passed

# Routes whose URL arguments cannot be filled (neither a filler nor a known converter):
# route name -> why. Keep this short; the test fails on any other unfillable route.
SKIPPED_ROUTES: dict[str, str] = {}

DUMMY_BY_CONVERTER = {
    converters.UUIDConverter: lambda: uuid.uuid4(),
    converters.IntConverter: lambda: 987654321,
    converters.SlugConverter: lambda: "no-such-thing",
    converters.StringConverter: lambda: "no-such-thing",
    converters.PathConverter: lambda: "no-such-thing",
}
# For an app's own converter (e.g. portal tokens): the first of these its regex accepts.
CANDIDATES = [
    "no-such-thing",
    "0",
    uuid.UUID(int=7).hex,
    str(uuid.UUID(int=7)),
    "A" * 22,
    "A" * 32,
    "A" * 43,
    "A" * 64,
    "tl_" + "A" * 43,
]


def dummy_for(converter) -> object | None:
    make = DUMMY_BY_CONVERTER.get(type(converter))
    if make is not None:
        return make()
    for candidate in CANDIDATES:
        if re.fullmatch(converter.regex, candidate):
            try:
                return converter.to_python(candidate)
            except ValueError:
                continue
    return None


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#2554c7").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def records(users, org, actor, settings, tmp_path):
    """Real objects for the routes that show one."""
    settings.MEDIA_ROOT = tmp_path
    services.update_organization(actor, logo=SimpleUploadedFile("logo.png", _png(), "image/png"))
    field = custom_field_services.create_custom_field(
        actor, entity="contact", key="budget", label="Budget", kind="number"
    )
    viewer = users[Role.VIEWER]
    return {
        "core:user_edit": {"pk": viewer.pk},
        "core:custom_field_edit": {"pk": field.pk},
        "core:audit_for_object": {"object_type": "core.organization", "object_id": str(org.pk)},
        "password_reset_confirm": {
            "uidb64": urlsafe_base64_encode(force_bytes(viewer.pk)),
            "token": default_token_generator.make_token(viewer),
        },
    }


def staff_routes():
    for r in walk_urls():
        if r.route.startswith(NOT_STAFF_UI) or r.pattern.name in PROBES:
            continue
        yield r


def resolve_urls(records) -> tuple[list[tuple[str, str, str, bool]], list[str]]:
    """[(name, url, declared, real_record)], and the routes nothing could fill."""
    urls, unfillable = [], []
    for r in staff_routes():
        declared = declared_permission(r.pattern.callback)
        assert declared, f"{r.route} declares no permission (see test_permission_walk)"
        if r.name is None:
            unfillable.append(f"{r.route} (unnamed)")
            continue
        if r.name in SKIPPED_ROUTES:
            continue
        kwargs, real = {}, True
        if r.converters:
            if r.name in records:
                kwargs = records[r.name]
            else:
                real = False
                kwargs = {k: dummy_for(c) for k, c in r.converters.items()}
                odd = [k for k, v in kwargs.items() if v is None]
                if odd:
                    unfillable.append(f"{r.route} ({r.name}): no value for {', '.join(odd)}")
                    continue
        urls.append((r.name, reverse(r.name, kwargs=kwargs), declared, real))
    return urls, unfillable


def expected_allowed(role: str, declared: str) -> bool:
    if declared in {"login", "public"}:
        return True
    return role_has(role, declared)


def test_every_staff_route_can_be_reached(records):
    urls, unfillable = resolve_urls(records)
    assert not unfillable, (
        "Add a filler in `records` or a reason in SKIPPED_ROUTES for:\n" + "\n".join(unfillable)
    )
    names = {name for name, *_ in urls}
    # The matrix covers the core pages (and whatever else has landed).
    assert {
        "core:settings",
        "core:user_list",
        "core:audit_log",
        "core:failed_jobs",
        "core:account",
    } <= names


@pytest.mark.parametrize("role", Role.values)
def test_role_gets_exactly_what_the_matrix_grants(role, users, records, client):
    user = users[role]
    client.force_login(user)
    # A page that crashes is reported as a 500 among the other mismatches, not an abort.
    client.raise_request_exception = False
    urls, _ = resolve_urls(records)
    mismatches = []
    for name, url, declared, real in urls:
        denials = AuditEntry.objects.filter(action="access.denied", actor=user, object_id=url[:64])
        denied_before = denials.count()
        response = client.get(url)
        allowed = expected_allowed(role, declared)
        if allowed:
            ok = (
                response.status_code in ALLOWED_REAL
                if real
                else (response.status_code != 403 and response.status_code < 500)
            )
        else:
            ok = response.status_code == 403
            if ok and denials.count() != denied_before + 1:
                mismatches.append(f"{name} {url}: 403 without an access.denied audit entry")
        if not ok:
            mismatches.append(
                f"{name} {url} [{declared}]: got {response.status_code}, "
                f"expected {'allowed' if allowed else '403'}"
            )
    assert not mismatches, f"{role}:\n" + "\n".join(mismatches)


def test_denied_entry_names_the_permission(users, client):
    client.force_login(users[Role.VIEWER])
    response = client.get(reverse("core:audit_log"))
    assert response.status_code == 403
    entry = AuditEntry.objects.filter(action="access.denied").latest("seq")
    assert entry.actor == users[Role.VIEWER]
    assert entry.changes == {"permission": [None, "audit.view"]}
    assert entry.object_id == reverse("core:audit_log")


def test_signed_out_visitors_are_sent_to_sign_in(records, client):
    client.raise_request_exception = False
    urls, _ = resolve_urls(records)
    login_url = reverse("login")
    leaks = []
    for name, url, declared, _real in urls:
        if declared == "public":
            continue
        response = client.get(url)
        if response.status_code != 302 or not response["Location"].startswith(login_url):
            leaks.append(f"{name} {url}: {response.status_code}")
    assert not leaks, "Reachable without signing in:\n" + "\n".join(leaks)
